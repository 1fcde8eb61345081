"""The SQLite store: WAL mode, versioned schema, append-only events, safe across processes."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console import events as ev
from console.audit import GENESIS, AuditRecord, Entry, canonical, chain, entry_for
from console.errors import ReadOnlyStore, RunChanged, StoreError, UsageError
from console.identity import current_operator
from console.store.base import (
    Closing,
    EventQuery,
    EventReads,
    RunSummary,
    StoredEvent,
    resolve_reference,
)
from console.store.mounts import refuse_network_filesystem

if TYPE_CHECKING:
    from console.store.writer import BatchWriter

MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id),
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        version INTEGER NOT NULL,
        host TEXT,
        stage TEXT,
        step TEXT,
        data TEXT NOT NULL,
        blob BLOB
    );
    CREATE INDEX events_by_run ON events(run_id, id);
    CREATE INDEX events_by_run_kind ON events(run_id, kind, id) WHERE kind != 'output';
    CREATE TABLE blobs (
        digest TEXT PRIMARY KEY,
        content TEXT NOT NULL
    );
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    """,
    """
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_subject ON audit(subject);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
    """,
    """
    CREATE TABLE files (
        digest TEXT PRIMARY KEY,
        content BLOB NOT NULL
    );
    CREATE TRIGGER files_no_update BEFORE UPDATE ON files
        BEGIN SELECT RAISE(ABORT, 'kept files are append-only'); END;
    CREATE TRIGGER files_no_delete BEFORE DELETE ON files
        BEGIN SELECT RAISE(ABORT, 'kept files are append-only'); END;
    """,
]

_Row = tuple[str, float, str, int, str | None, str | None, str | None, str, bytes | None]


class SQLiteStore(EventReads, Closing):
    """A store in one SQLite file; every process opens its own and they share the file."""

    def __init__(self, path: Path, busy_timeout_ms: int = 15000, actor: str | None = None) -> None:
        self.path = path
        self.location = str(path)
        self.actor = actor or current_operator()
        self._lock = threading.Lock()
        try:
            refuse_network_filesystem(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            _create(path)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._refuse_newer()  # before anything in the file is changed, its journal mode too
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc):
                raise ReadOnlyStore(
                    f"the store {path} can only be read by this account, and opsconsole writes "
                    "to the store it uses; ask for write access (a team's store lives in a "
                    "setgid folder, group-writable)"
                ) from None
            raise StoreError(
                f"the store {path} cannot be opened ({exc}); "
                "check the path, or pass --store PATH for another"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"the store's folder {path.parent} cannot be created ({exc.strerror})"
            ) from None

    def writer(self) -> BatchWriter:
        """A batch writer over a connection of its own."""
        from console.store.writer import BatchWriter

        return BatchWriter(SQLiteStore(self.path, actor=self.actor))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: all of it is recorded or none, and a write the store refuses
        (read-only, disk full, a failing check) is said in words, never as SQLite's error."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._refused(exc) from exc
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._refused(exc) from exc
                raise

    def _refused(self, exc: sqlite3.Error) -> StoreError:
        done = "nothing was recorded, and nothing that needed recording was done"
        if "readonly" in str(exc):
            return ReadOnlyStore(f"{self.path} can only be read by this account; {done}")
        return StoreError(f"the store {self.path} refused a write ({exc}); {done}")

    def _refuse_newer(self) -> None:
        """Refuse a store whose schema this opsconsole does not know, having changed nothing."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            self._db.close()
            raise StoreError(
                f"the store {self.path} was written by a newer opsconsole "
                f"(schema {version}); upgrade opsconsole to read it; nothing in it was changed"
            )

    def _migrate(self) -> None:
        if self._db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
            return  # up to date: no write lock, which a busy runner's writer may be holding
        with self._transaction():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):  # another process moved it on since the first look
                raise StoreError(
                    f"the store {self.path} was written by a newer opsconsole "
                    f"(schema {version}); upgrade opsconsole to read it"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")

    def _write(self, sql_rows: list[tuple[str, Sequence[Any]]], entries: list[Entry]) -> None:
        with self._transaction():
            for sql, params in sql_rows:
                self._db.execute(sql, params)
            self._chain(entries)

    def create_run(
        self, launched: ev.Event, pipeline_text: str, files: dict[str, bytes] | None = None
    ) -> None:
        """Index a new run, keep its pipeline text and its scripts' bytes by digest and append
        its launch event."""
        assert isinstance(launched, ev.RunLaunched)
        self._write(
            [
                (
                    "INSERT INTO runs (id, pipeline, created_at) VALUES (?, ?, ?)",
                    (launched.run_id, launched.pipeline, launched.at),
                ),
                (
                    "INSERT OR IGNORE INTO blobs (digest, content) VALUES (?, ?)",
                    (launched.pipeline_digest, pipeline_text),
                ),
                *_keep(files or {}),
                (_INSERT, _encode(launched)),
            ],
            [e for e in [entry_for(launched, self.actor)] if e],
        )

    def keep_files(self, files: dict[str, bytes]) -> None:
        """Keep bytes under their SHA-256 (a script a gate took up)."""
        self._write(_keep(files), [])

    def file(self, digest: str) -> bytes | None:
        """Bytes kept under a SHA-256, such as a script as a run ran it."""
        with self._lock:
            row = self._db.execute(
                "SELECT content FROM files WHERE digest = ?", (digest,)
            ).fetchone()
        return bytes(row[0]) if row else None

    def append(self, events: Sequence[ev.Event], if_newest: int | None = None) -> None:
        """Append events in one transaction, with the audit records they call for; with
        `if_newest`, only while that is still the run's newest event id."""
        if not events:
            return
        rows = [_encode(e) for e in events]
        entries = [e for e in (entry_for(x, self.actor) for x in events if x.kind != "output") if e]
        with self._transaction():
            if if_newest is not None and self._newest(events[0].run_id) != if_newest:
                raise RunChanged(f"run {events[0].run_id} changed since it was read")
            self._db.executemany(_INSERT, rows)
            self._chain(entries)

    def newest_id(self, run_id: str) -> int:
        """The id of the run's newest event (0 for none)."""
        with self._lock:
            return self._newest(run_id)

    def _newest(self, run_id: str) -> int:
        row = self._db.execute("SELECT max(id) FROM events WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0] or 0)

    def _chain(self, entries: list[Entry]) -> None:
        """Link entries onto the audit chain; the caller holds the write transaction."""
        if not entries:
            return
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = row if row else (0, GENESIS)
        for entry in entries:
            seq += 1
            record = chain(entry, seq, prev)
            self._db.execute(
                "INSERT INTO audit (seq, at, actor, action, subject, details, prev, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.seq,
                    record.at,
                    record.actor,
                    record.action,
                    record.subject,
                    canonical(record.details).decode(),
                    record.prev,
                    record.hash,
                ),
            )
            prev = record.hash

    def audit(self, entries: list[Entry]) -> None:
        """Record audit entries that no event carries (configuration loaded, audit exported)."""
        with self._transaction():
            self._chain(entries)

    def audit_records(self, after: int = 0, limit: int | None = None) -> list[AuditRecord]:
        """The audit chain in order, from the record after `after`."""
        sql = "SELECT seq, at, actor, action, subject, details, prev, hash FROM audit WHERE seq > ? ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, (after,)).fetchall()
        return [
            AuditRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
        ]

    def last_audit(self, action: str, subject: str) -> AuditRecord | None:
        """The newest audit record of an action about a subject."""
        sql = (
            "SELECT seq, at, actor, action, subject, details, prev, hash FROM audit "
            "WHERE action = ? AND subject = ? ORDER BY seq DESC LIMIT 1"
        )
        with self._lock:
            r = self._db.execute(sql, (action, subject)).fetchone()
        return (
            AuditRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) if r else None
        )

    def audit_head(self) -> tuple[int, str]:
        """The newest audit record's number and hash (0 and the genesis hash when empty)."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def _select(self, query: EventQuery) -> list[StoredEvent]:
        """The events a query picks, oldest first."""
        sql, params = query.sql("events", "?")
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        if query.before is not None:
            rows.reverse()
        return [StoredEvent(row[0], _decode(row)) for row in rows]

    def runs(self, limit: int | None = None, since: float | None = None) -> list[RunSummary]:
        """Runs, newest first (those created from `since` on, with it)."""
        sql = "SELECT id, pipeline, created_at FROM runs"
        sql += " WHERE created_at >= ?" if since is not None else ""
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, (since,) if since is not None else ()).fetchall()
        return [RunSummary(*row) for row in rows]

    def resolve_run(self, ref: str) -> str:
        """The full id of a run from its id, 'last', a unique prefix or any unique part of it."""

        def newest() -> str | None:
            with self._lock:
                row = self._db.execute(
                    "SELECT id FROM runs ORDER BY created_at DESC, id DESC LIMIT 1"
                ).fetchone()
            return str(row[0]) if row else None

        def like(pattern: str) -> list[str]:
            with self._lock:
                rows = self._db.execute(
                    "SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT 6",
                    (pattern,),
                ).fetchall()
            return [str(r[0]) for r in rows]

        return resolve_reference(ref, newest, like, str(self.path))

    def blob(self, digest: str) -> str | None:
        """Text kept under a digest, such as a pipeline as it ran."""
        with self._lock:
            row = self._db.execute(
                "SELECT content FROM blobs WHERE digest = ?", (digest,)
            ).fetchone()
        return str(row[0]) if row else None

    @functools.cached_property
    def others_may_write(self) -> str | None:
        """Who besides this account and root could change or replace the file (looked at
        once, when a gate first asks: most openings never do)."""
        return others_may_write(self.path)

    def published_policy(self) -> dict[str, Any] | None:
        """A file has no published policy: the inventory governs."""
        return None

    def publish_policy(self, policy: dict[str, Any]) -> str:
        """Refused: a policy is published to a team store, where the database keeps it."""
        raise UsageError(
            f"a policy is published to a team store (PostgreSQL); {self.path} is a file, "
            "governed by the inventory it is used with"
        )

    def hold_run(self, run_id: str) -> None:
        """Nothing to hold in a file: a runner is known by its process on its machine."""

    def runner_alive(self, run_id: str) -> bool | None:
        """A file cannot tell (None): the runner's machine looks for its process."""
        return None

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Wait `timeout` seconds (or until stopped): a file has no way to tell its readers."""
        stop.wait(timeout)

    def last_id(self) -> int:
        """The newest event id in the store (0 when empty)."""
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


def others_may_write(path: Path) -> str | None:
    """Who besides this account and root could change or replace the store file, in words."""
    from console.model.trust import untrusted

    why = untrusted(path)
    return why.split(" could ", 1)[0] if why else None


def _create(path: Path) -> None:
    """Create the database file for this account alone: a file others may write is no trust
    boundary (a team shares a store in PostgreSQL).

    SQLite gives the WAL and shared-memory files the database file's mode, so this one
    choice covers all three.
    """
    if path.exists():
        return
    mode = 0o600
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    except FileExistsError:
        return  # another process created it first
    try:
        os.fchmod(fd, mode)  # the umask must not take the group's write permission away
    finally:
        os.close(fd)


_INSERT = (
    "INSERT INTO events (run_id, at, kind, version, host, stage, step, data, blob) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _keep(files: dict[str, bytes]) -> list[tuple[str, Sequence[Any]]]:
    return [
        ("INSERT OR IGNORE INTO files (digest, content) VALUES (?, ?)", (digest, data))
        for digest, data in files.items()
    ]


def _statements(script: str) -> list[str]:
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


def _encode(event: ev.Event) -> _Row:
    if isinstance(event, ev.Output):
        return (
            event.run_id,
            event.at,
            event.kind,
            ev.VERSION,
            event.host,
            event.stage,
            event.step,
            event.stream,
            event.data,
        )
    payload = event.payload()
    return (
        event.run_id,
        event.at,
        event.kind,
        ev.VERSION,
        payload.get("host"),
        payload.get("stage"),
        payload.get("step"),
        json.dumps(payload, separators=(",", ":")),
        None,
    )


def _decode(row: tuple[Any, ...]) -> ev.Event:
    _id, run_id, at, kind, host, stage, step, data, blob = row
    if kind == ev.Output.kind:
        return ev.Output(
            run_id=run_id, at=at, stage=stage, step=step, host=host, stream=data, data=blob
        )
    return ev.from_payload(kind, run_id, at, json.loads(data))
