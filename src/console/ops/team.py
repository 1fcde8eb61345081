"""The team store's administration: its schema and who may use it (a database administrator's
commands)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from console.errors import StoreError
from console.paths import StoreAddress
from console.store import Store, administer

if TYPE_CHECKING:
    from console.audit import Verdict


def init(where: StoreAddress) -> str:
    """Create or upgrade the team store's schema, roles and privileges."""
    return administer(where, "init")


def grant(where: StoreAddress, user: str, admin: bool) -> str:
    """Let an operator in (an admin too, with `admin`)."""
    return administer(where, "grant", user, admin)


def revoke(where: StoreAddress, user: str) -> str:
    """Take an operator out."""
    return administer(where, "revoke", user)


def copy(source: Path, where: StoreAddress) -> str:
    """Copy a SQLite store's history into an empty team store, its audit trail verified in
    the file first (nothing is copied from a broken one) and in the team store after."""
    from console.errors import UsageError
    from console.store import open_store

    if not source.is_file():
        raise UsageError(f"there is no store file {source}")
    with open_store(source) as old:
        _verified(old, "the file's audit trail does not verify, so nothing was copied")
    counts = administer(where, "copy", str(source))
    with open_store(where) as store:
        verdict = _verified(store, "the copy's audit trail does not verify")
    return f"copied {counts}; audit trail intact, {verdict.count} records, head {verdict.head}"


def _verified(store: Store, refusal: str) -> Verdict:
    """The store's chain checked; refused with `refusal` and where it breaks."""
    from console.ops.audit import check_trail

    verdict = check_trail(store, None).verdict
    if not verdict.intact:
        raise StoreError(f"{refusal}: record {verdict.broken_at}, {verdict.problem}")
    return verdict
