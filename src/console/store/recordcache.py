"""Each account's own copy of the delivery measures' run records: the record book folded from a
store's events, kept in a SQLite file in the user's cache folder and taken up again from its
cursor, so that a history of many runs is folded once, not on every look.

It is derived data, the reader's own: nobody else's client can write into it, and deleting
it only costs the next look a fold from the start.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sqlite3
from pathlib import Path
from typing import Any

from console.delivery.record import ENDED, GateWait, RecordBook, Releases, RunRecord

SCHEMA = 5


def cache_path(location: str) -> Path:
    """The cache file of a store, by its location, in $XDG_CACHE_HOME/opsconsole."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = hashlib.sha256(location.encode()).hexdigest()[:24]
    return Path(base) / "opsconsole" / f"records-{name}.db"


class RecordCache:
    """The record book of one store, kept between looks: each run's record (a marshalled
    tuple, indexed by its horizon: when it ended, or never while it may still change, so a
    look at a period loads only the runs that matter to it),
    the releases, the hosts of runs still open, and the cursor."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        try:
            self._db = self._open()
        except sqlite3.DatabaseError:  # damaged: it is only a cache, made again from the events
            self._db.close()
            path.unlink()
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        """The cache file, its tables made (again) when it is new or of another schema."""
        self._db = sqlite3.connect(self.path)
        os.chmod(self.path, 0o600)
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA:  # older or unknown: folded again from the start
            self._db.executescript(
                "DROP TABLE IF EXISTS records; DROP TABLE IF EXISTS book;"
                # kept in the order of their horizons, so that a period's records are read
                # as one stretch of the file; a run's id finds its record to replace it
                "CREATE TABLE records (run_id TEXT NOT NULL, horizon REAL NOT NULL, "
                "row BLOB NOT NULL, PRIMARY KEY (horizon, run_id)) WITHOUT ROWID;"
                "CREATE UNIQUE INDEX records_by_run ON records(run_id);"
                "CREATE TABLE book (cursor INTEGER NOT NULL, releases BLOB NOT NULL, "
                "hosts TEXT NOT NULL);"
                f"PRAGMA user_version = {SCHEMA};"
            )
        return self._db

    def load(self, since: float | None = None) -> RecordBook:
        """The book as last kept: the runs still open and those that ended from `since` on
        (every run without it); empty the first time, or when it cannot be read."""
        head = self._db.execute("SELECT cursor, releases, hosts FROM book").fetchone()
        if head is None:
            return RecordBook(since=since)
        query = "SELECT row FROM records"
        rows = self._db.execute(
            query + (" WHERE horizon >= ?" if since is not None else ""),
            (since,) if since is not None else (),
        )
        try:
            records = {r[0]: r for r in (_record(marshal.loads(row[0])) for row in rows)}
            began, arrived = marshal.loads(head[1])
            hosts = json.loads(head[2])
        except (ValueError, EOFError, TypeError, IndexError):
            return RecordBook(since=since)  # damaged: folded again from the start
        return RecordBook(records, hosts, int(head[0]), Releases(began, arrived), since=since)

    def keep(self, book: RecordBook) -> None:
        """Write the records that changed, the releases, the open runs' hosts and the cursor,
        at once."""
        changed = [book.records[run] for run in book.changed]
        releases = marshal.dumps((book.releases.began, book.releases.arrived))
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO records VALUES (?, ?, ?)",
                [(r.run_id, _horizon(r), marshal.dumps(_row(r))) for r in changed],
            )
            self._db.execute("DELETE FROM book")
            self._db.execute(
                "INSERT INTO book VALUES (?, ?, ?)", (book.cursor, releases, json.dumps(book.hosts))
            )
        book.changed.clear()

    def close(self) -> None:
        """Close the file."""
        self._db.close()


OPEN = 1e300
"""The horizon of a run that may still change: every period's look loads it."""


def _horizon(r: RunRecord) -> float:
    """Until when a look must load the record: its end, or for ever while it may change."""
    return r.ended_at if r.status in ENDED and r.ended_at is not None else OPEN


def _row(r: RunRecord) -> tuple[Any, ...]:
    return (*r[:-1], tuple(tuple(g) for g in r.gates))


_new = tuple.__new__  # a named tuple made from a tuple as it is: a look makes thousands


FIELDS = len(RunRecord._fields)


def _record(row: tuple[Any, ...]) -> RunRecord:
    if len(row) != FIELDS:
        raise ValueError("a record of another shape")  # damaged: the book is folded again
    gates = row[-1]
    return _new(RunRecord, (*row[:-1], tuple([_new(GateWait, g) for g in gates]) if gates else ()))
