"""The team store: PostgreSQL, where every operator is a database role and the database
decides who wrote what (see pgschema for what it enforces)."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from console import events as ev
from console.audit import GENESIS, AuditRecord, Entry, canonical, entry_for, utc
from console.errors import RunChanged, StoreError
from console.store.base import (
    Closing,
    EventQuery,
    EventReads,
    RunSummary,
    StoredEvent,
    resolve_reference,
)
from console.store.pgschema import CHANNEL, MIGRATIONS, RUN_CHANGED, SCHEMA

if TYPE_CHECKING:
    from console.store.writer import BatchWriter

_COPY = sql.SQL(
    "COPY {}.events (run_id, at, kind, version, host, stage, step, data, blob) "
    "FROM STDIN (FORMAT BINARY)"
).format(sql.Identifier(SCHEMA))
_COPY_TYPES = ["text", "float8", "text", "int4", "text", "text", "text", "text", "bytea"]


def safe_location(dsn: str) -> str:
    """The connection string without its password, for sentences."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the PostgreSQL store given"
    parts.pop("password", None)
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in parts.items()})


class PostgresStore(EventReads, Closing):
    """A store in a PostgreSQL database; the connected role is the actor of everything it
    writes, whatever this client says."""

    def __init__(self, dsn: str, actor: str | None = None) -> None:
        self.dsn = dsn
        self.location = safe_location(dsn)
        self._lock = threading.Lock()
        self._listening = False
        try:
            self._db = psycopg.connect(dsn, autocommit=True, application_name="opsconsole")
        except psycopg.Error as exc:
            raise StoreError(
                f"the team store {self.location} cannot be reached ({_first_line(exc)}); check "
                "the connection string and that your account has a role there "
                "(`opsconsole store grant` by an administrator)"
            ) from None
        self.actor = str(self._one("SELECT session_user")[0])
        self._check_schema()

    def _check_schema(self) -> None:
        """Refuse a database without the schema, or with a newer one, in words."""
        try:
            version = int(self._one(f"SELECT version FROM {SCHEMA}.meta")[0])
        except psycopg.errors.UndefinedTable:
            self._db.close()
            raise StoreError(
                f"the team store {self.location} has no opsconsole schema yet; a database "
                "administrator creates it with `opsconsole store init`"
            ) from None
        except psycopg.errors.InsufficientPrivilege:
            self._db.close()
            raise StoreError(
                f"the role {self.actor} may not read the team store {self.location}; an "
                f"administrator lets it in with `opsconsole store grant {self.actor}`"
            ) from None
        if version != len(MIGRATIONS):
            self._db.close()
            newer = version > len(MIGRATIONS)
            raise StoreError(
                f"the team store {self.location} has schema {version}, this opsconsole "
                + (
                    "is older: upgrade opsconsole"
                    if newer
                    else f"needs {len(MIGRATIONS)}: an administrator runs `opsconsole store init`"
                )
            )

    def writer(self) -> BatchWriter:
        """A batch writer over a connection of its own."""
        from console.store.writer import BatchWriter

        return BatchWriter(PostgresStore(self.dsn), max_batch=20_000)  # one COPY each

    def _one(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
        with self._lock:
            row = self._db.execute(query, params).fetchone()
        assert row is not None
        return tuple(row)

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return [tuple(r) for r in self._db.execute(query, params).fetchall()]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One write transaction, its refusals said in words."""
        with self._lock:
            try:
                with self._db.transaction():
                    yield self._db
            except psycopg.Error as exc:
                if exc.sqlstate == RUN_CHANGED:
                    raise RunChanged(_first_line(exc)) from None
                raise StoreError(
                    f"the team store {self.location} refused a write ({_first_line(exc)}); "
                    "nothing was recorded, and nothing that needed recording was done"
                ) from None

    def create_run(
        self, launched: ev.Event, pipeline_text: str, files: dict[str, bytes] | None = None
    ) -> None:
        """Index a new run, keep its pipeline text and scripts by digest, append its launch."""
        assert isinstance(launched, ev.RunLaunched)
        entries = [e for e in [entry_for(launched, self.actor)] if e]
        with self._transaction() as db:
            db.execute(
                f"SELECT {SCHEMA}.create_run(%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    launched.run_id,
                    launched.pipeline,
                    launched.at,
                    launched.pipeline_digest,
                    pipeline_text,
                    _files_json(files or {}),
                    _events_json([launched]),
                    _entries_json(entries),
                ),
            )

    def keep_files(self, files: dict[str, bytes]) -> None:
        """Keep bytes under their SHA-256 (the database checks the name)."""
        with self._transaction() as db:
            db.execute(f"SELECT {SCHEMA}.keep_files(%s)", (_files_json(files),))

    def file(self, digest: str) -> bytes | None:
        """Bytes kept under a SHA-256."""
        rows = self._rows(f"SELECT content FROM {SCHEMA}.files WHERE digest = %s", (digest,))
        return bytes(rows[0][0]) if rows else None

    def append(self, events: Sequence[ev.Event], if_newest: int | None = None) -> None:
        """Append events in one transaction: output by COPY, every other event (and the audit
        records it calls for) through the database's append function, in their order."""
        if not events:
            return
        with self._transaction() as db:
            if if_newest is not None:  # checked by the database before anything is written
                self._append_call(db, list(events), if_newest)
                return
            for is_output, group in _runs_of(events):
                if is_output:
                    with db.cursor().copy(_COPY) as copy:
                        copy.set_types(_COPY_TYPES)
                        for row in group:
                            copy.write_row(_copy_row(row))
                else:
                    self._append_call(db, group, None)

    def _append_call(
        self, db: psycopg.Connection[Any], events: list[ev.Event], if_newest: int | None
    ) -> None:
        entries = [e for e in (entry_for(x, self.actor) for x in events if x.kind != "output") if e]
        db.execute(
            f"SELECT {SCHEMA}.append_events(%s, %s, %s, %s)",
            (events[0].run_id, if_newest, _events_json(events), _entries_json(entries)),
        )

    def newest_id(self, run_id: str) -> int:
        """The id of the run's newest event (0 for none)."""
        row = self._one(
            f"SELECT coalesce(max(id), 0) FROM {SCHEMA}.events WHERE run_id = %s", (run_id,)
        )
        return int(row[0])

    def audit(self, entries: list[Entry]) -> None:
        """Record audit entries that no event carries."""
        with self._transaction() as db:
            db.execute(f"SELECT {SCHEMA}.record_audit(%s)", (_entries_json(entries),))

    def audit_records(self, after: int = 0, limit: int | None = None) -> list[AuditRecord]:
        """The audit chain in order, from the record after `after`."""
        query = (
            f"SELECT seq, at, actor, action, subject, details, prev, hash FROM {SCHEMA}.audit "
            "WHERE seq > %s ORDER BY seq"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        return [_record(r) for r in self._rows(query, (after,))]

    def last_audit(self, action: str, subject: str) -> AuditRecord | None:
        """The newest audit record of an action about a subject."""
        rows = self._rows(
            f"SELECT seq, at, actor, action, subject, details, prev, hash FROM {SCHEMA}.audit "
            "WHERE action = %s AND subject = %s ORDER BY seq DESC LIMIT 1",
            (action, subject),
        )
        return _record(rows[0]) if rows else None

    def audit_head(self) -> tuple[int, str]:
        """The newest audit record's number and hash."""
        rows = self._rows(f"SELECT seq, hash FROM {SCHEMA}.audit ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)

    def _select(self, query: EventQuery) -> list[StoredEvent]:
        """The events a query picks, oldest first."""
        rows = self._rows(*query.sql(f"{SCHEMA}.events", "%s"))
        if query.before is not None:
            rows.reverse()
        return [StoredEvent(int(r[0]), _decode(r)) for r in rows]

    @property
    def others_may_write(self) -> str | None:
        """Nobody writes around the database's rules: it decides who wrote what."""
        return None

    def published_policy(self) -> dict[str, Any] | None:
        """The newest policy an admin published, or None."""
        rows = self._rows(f"SELECT body FROM {SCHEMA}.policies ORDER BY version DESC LIMIT 1")
        return dict(json.loads(rows[0][0])) if rows else None

    def publish_policy(self, policy: dict[str, Any]) -> str:
        """Publish the policy (the database checks the admin role and chains the record)."""
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {SCHEMA}.publish_policy(%s)", (canonical(policy).decode(),)
            ).fetchone()
        assert row is not None
        return str(row[0])

    def hold_run(self, run_id: str) -> None:
        """Hold the run's lock in this session while it lasts: when the runner's process
        ends, or its machine drops off the network, the server ends the session and the lock
        goes with it (the database lets only the run's launcher or resumer take it)."""
        self._one(f"SELECT {SCHEMA}.hold_run(%s)", (run_id,))

    def runner_alive(self, run_id: str) -> bool:
        """Whether a session still holds the run's lock (taken for a moment to find out)."""
        return bool(self._one(f"SELECT {SCHEMA}.runner_alive(%s)", (run_id,))[0])

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Wait for the database's notice that events were appended (`timeout` at most)."""
        if stop.is_set():
            return
        if not self._listening:
            with self._lock:
                self._db.execute(f"LISTEN {CHANNEL}")
            self._listening = True
        for _notice in self._db.notifies(timeout=timeout, stop_after=1):
            break

    def last_id(self) -> int:
        """The newest event id in the store (0 when empty)."""
        return int(self._one(f"SELECT coalesce(max(id), 0) FROM {SCHEMA}.events")[0])

    def runs(self, limit: int | None = None, since: float | None = None) -> list[RunSummary]:
        """Runs, newest first (those created from `since` on, with it)."""
        query = f"SELECT id, pipeline, created_at FROM {SCHEMA}.runs"
        query += " WHERE created_at >= %s" if since is not None else ""
        query += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        rows = self._rows(query, (since,) if since is not None else ())
        return [RunSummary(str(r[0]), str(r[1]), float(r[2])) for r in rows]

    def resolve_run(self, ref: str) -> str:
        """The full id of a run from its id, 'last', a unique prefix or any unique part."""

        def newest() -> str | None:
            found = self.runs(limit=1)
            return found[0].id if found else None

        def like(pattern: str) -> list[str]:
            query = f"SELECT id FROM {SCHEMA}.runs WHERE id LIKE %s ORDER BY id DESC LIMIT 6"
            return [str(r[0]) for r in self._rows(query, (pattern,))]

        return resolve_reference(ref, newest, like, self.location)

    def blob(self, digest: str) -> str | None:
        """Text kept under a digest, such as a pipeline as it ran."""
        rows = self._rows(f"SELECT content FROM {SCHEMA}.blobs WHERE digest = %s", (digest,))
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


COPY_AT_LEAST = 256
"""Output runs this long go in by COPY; shorter ones ride in the append function's one INSERT
with the events around them (a round trip each way costs more than their JSON)."""


def _runs_of(events: Sequence[ev.Event]) -> Iterator[tuple[bool, list[ev.Event]]]:
    """The batch in its order as long runs of output (True: for COPY) and the rest between."""
    group: list[ev.Event] = []
    start = 0
    while start < len(events):
        end = start
        while end < len(events) and events[end].kind == "output":
            end += 1
        if end - start >= COPY_AT_LEAST:
            if group:
                yield False, group
                group = []
            yield True, list(events[start:end])
        else:
            group += events[start:end]
        if end < len(events):
            group.append(events[end])
        start = end + 1
    if group:
        yield False, group


def _copy_row(event: ev.Event) -> tuple[Any, ...]:
    assert isinstance(event, ev.Output)
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


def _events_json(events: Sequence[ev.Event]) -> str:
    """Events as the database's append function takes them."""
    found = []
    for event in events:
        if isinstance(event, ev.Output):
            found.append(
                {
                    "run_id": event.run_id,
                    "at": event.at,
                    "kind": event.kind,
                    "version": ev.VERSION,
                    "host": event.host,
                    "stage": event.stage,
                    "step": event.step,
                    "data": event.stream,
                    "blob": base64.b64encode(event.data).decode(),
                }
            )
            continue
        payload = event.payload()
        found.append(
            {
                "run_id": event.run_id,
                "at": event.at,
                "kind": event.kind,
                "version": ev.VERSION,
                "host": payload.get("host"),
                "stage": payload.get("stage"),
                "step": payload.get("step"),
                "data": payload,
            }
        )
    return json.dumps(found)


def _entries_json(entries: list[Entry]) -> str:
    """Audit entries for the database to number, attribute and chain."""
    return json.dumps(
        [
            {
                "at": utc(e.at),
                "action": e.action,
                "subject": e.subject,
                "details": canonical(e.details).decode(),
            }
            for e in entries
        ]
    )


def _files_json(files: dict[str, bytes]) -> str:
    return json.dumps({d: base64.b64encode(b).decode() for d, b in files.items()})


def _record(r: tuple[Any, ...]) -> AuditRecord:
    return AuditRecord(int(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7])


def _decode(row: tuple[Any, ...]) -> ev.Event:
    _id, run_id, at, kind, host, stage, step, data, blob = row
    if kind == ev.Output.kind:
        return ev.Output(
            run_id=run_id, at=at, stage=stage, step=step, host=host, stream=data, data=bytes(blob)
        )
    return ev.from_payload(kind, run_id, at, json.loads(data))
