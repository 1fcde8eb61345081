"""The store: append-only run events behind a narrow interface, opened in one place.

`open_store` is the one way code outside this package gets a store: SQLite for a path (the
embedded default, for one operator), PostgreSQL for a connection string (the team store).
"""

from __future__ import annotations

from pathlib import Path

from console.paths import StoreAddress, is_team_store
from console.store.base import EventWriter, RunSummary, Store, StoredEvent

__all__ = [
    "EventWriter",
    "RunSummary",
    "Store",
    "StoreAddress",
    "StoredEvent",
    "is_team_store",
    "open_store",
]


def open_store(where: StoreAddress, actor: str | None = None) -> Store:
    """The store at `where`, opened (and created when new, for a file); use it as a context
    manager.

    `actor` names whose actions a file records, when that is not this process's account; a
    team store records the role that logged in, whatever is asked.
    """
    if is_team_store(where):
        from console.store.postgres import PostgresStore

        return PostgresStore(str(where))
    from console.store.sqlite import SQLiteStore

    return SQLiteStore(Path(where), actor=actor)


def administer(where: StoreAddress, action: str, user: str = "", admin: bool = False) -> str:
    """A database administrator's action on a team store (`init`, `grant`, `revoke`, `copy`
    from the file `user` names); what was done, in a sentence."""
    if not is_team_store(where):
        from console.errors import UsageError

        raise UsageError(
            f"`opsconsole store {action}` works on a team store (a PostgreSQL connection "
            f"string such as postgresql:///opsconsole or service=ops); {where} is a file"
        )
    from console.store import pgadmin

    if action == "init":
        return pgadmin.init(str(where))
    if action == "copy":
        copied = pgadmin.copy(Path(user), str(where))
        names = {"runs": "run", "events": "event", "blobs": "pipeline text", "files": "file"}
        names["audit"] = "audit record"
        return ", ".join(
            f"{n} {names[table]}{'' if n == 1 else 's'}" for table, n in copied.items()
        )
    if action == "grant":
        return pgadmin.grant(str(where), user, admin)
    return pgadmin.revoke(str(where), user)


def others_may_write(where: StoreAddress) -> str | None:
    """Who besides this account and root may write a store file, in words (None for a
    private file, a file not made yet, or a team store)."""
    if is_team_store(where) or not Path(where).exists():
        return None
    from console.store.sqlite import others_may_write as writers

    return writers(Path(where))


def warm_up() -> None:
    """Import the store's implementation ahead of its first use (a console does, off its UI
    thread)."""
    import console.store.sqlite  # noqa: F401
