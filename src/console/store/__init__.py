"""The store: append-only run events behind a narrow interface, opened in one place.

`open_store` is the one way code outside this package gets a store: SQLite for a path (the
embedded default).
"""

from __future__ import annotations

from pathlib import Path

from console.store.base import EventWriter, RunSummary, Store, StoredEvent

__all__ = ["EventWriter", "RunSummary", "Store", "StoredEvent", "open_store"]


def open_store(where: Path | str, actor: str | None = None) -> Store:
    """The store at `where`, opened (and created when new); use it as a context manager.

    `actor` names whose actions it records, when that is not this process's account.
    """
    from console.store.sqlite import SQLiteStore

    return SQLiteStore(Path(where), actor=actor)


def warm_up() -> None:
    """Import the store's implementation ahead of its first use (a console does, off its UI
    thread)."""
    import console.store.sqlite  # noqa: F401
