"""The store: append-only run events behind a narrow interface (SQLite by default)."""

from console.paths import default_store_path
from console.store.base import RunSummary, Store, StoredEvent
from console.store.sqlite import SQLiteStore, open_store

__all__ = ["RunSummary", "SQLiteStore", "Store", "StoredEvent", "default_store_path", "open_store"]
