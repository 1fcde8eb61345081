"""The store's interface: what the engine, the CLI and the TUI may ask of any store."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from console.events import Event

if TYPE_CHECKING:
    from console.audit import AuditRecord, Entry

S = TypeVar("S", bound="Closing")


@dataclass(frozen=True)
class StoredEvent:
    """An event with its position in the store (ids grow with every append, across runs)."""

    id: int
    event: Event


@dataclass(frozen=True)
class RunSummary:
    """A run as the runs table indexes it; its status comes from folding its events."""

    id: str
    pipeline: str
    created_at: float


class EventWriter(Protocol):
    """Appends a running engine's events in batches, from a thread of its own."""

    def put(self, event: Event) -> None:
        """Queue an event to be committed shortly."""

    async def caught_up(self) -> None:
        """Wait while more output is queued than the store has taken."""

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is committed."""

    def close(self) -> None:
        """Commit what is queued and stop."""


class Store(Protocol):
    """Append-only events per run, blobs by digest, readable by any number of processes; a
    context manager that closes itself."""

    location: str
    """Where the store is, for sentences (a path, or a database without its password)."""

    actor: str
    """Whose actions this connection records."""

    @property
    def others_may_write(self) -> str | None:
        """Who besides this account (and root) may write the store, in words; None when
        nobody can (a private file) or when the database decides who wrote what (a team
        store)."""

    def __enter__(self) -> Store:
        """The store itself."""

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Close it."""

    def writer(self) -> EventWriter:
        """A batch writer over a connection of its own."""

    def create_run(
        self, launched: Event, pipeline_text: str, files: dict[str, bytes] | None = None
    ) -> None:
        """Index a new run and append its launch event (and keep the pipeline text and the
        scripts' bytes, by digest, as it runs them)."""

    def keep_files(self, files: dict[str, bytes]) -> None:
        """Keep bytes under their SHA-256."""

    def file(self, digest: str) -> bytes | None:
        """Bytes kept under a SHA-256."""

    def append(self, events: Sequence[Event], if_newest: int | None = None) -> None:
        """Append events in one transaction; with `if_newest`, only while that id is still the
        run's newest event (else RunChanged, and nothing is appended)."""

    def newest_id(self, run_id: str) -> int:
        """The id of the run's newest event (0 for none)."""

    def read(
        self,
        run_id: str,
        after: int = 0,
        kinds: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        host: str | None = None,
        limit: int | None = None,
        step: str | None = None,
        before: int | None = None,
    ) -> list[StoredEvent]:
        """Events of a run with ids greater than `after` (and below `before`), oldest first."""

    def read_all(
        self,
        after: int = 0,
        exclude: Iterable[str] = (),
        limit: int = 10_000,
        until: int | None = None,
    ) -> list[StoredEvent]:
        """Events of every run after an id, oldest first (how a console follows the store)."""

    def published_policy(self) -> dict[str, Any] | None:
        """The policy an admin published to govern gates (None: none is, as in a file)."""

    def publish_policy(self, policy: dict[str, Any]) -> str:
        """Publish the policy that governs gates (an admin's right); its digest."""

    def hold_run(self, run_id: str) -> None:
        """Mark this process as the run's runner for as long as this store stays open (a team
        store can then tell any machine whether the runner lives)."""

    def runner_alive(self, run_id: str) -> bool | None:
        """Whether the run's runner still lives, where the store can tell (None: it cannot,
        and the runner's machine must look for its process)."""

    def wait_for_news(self, timeout: float, stop: threading.Event) -> None:
        """Return when other processes may have appended events, after `timeout` seconds at
        most, or once `stop` is set (a file is polled; a team store tells its followers)."""

    def last_id(self) -> int:
        """The newest event id in the store (0 when empty)."""

    def runs(self, limit: int | None = None, since: float | None = None) -> list[RunSummary]:
        """Runs, newest first (those created from `since` on, with it)."""

    def resolve_run(self, ref: str) -> str:
        """The full id of a run from its id, a unique prefix or 'last'."""

    def blob(self, digest: str) -> str | None:
        """Text stored under a digest."""

    def audit(self, entries: list[Entry]) -> None:
        """Chain audit entries that no event carries (configuration loaded, audit exported)."""

    def audit_records(self, after: int = 0, limit: int | None = None) -> list[AuditRecord]:
        """The audit chain in order, from the record after `after`."""

    def last_audit(self, action: str, subject: str) -> AuditRecord | None:
        """The newest audit record of an action about a subject."""

    def audit_head(self) -> tuple[int, str]:
        """The newest audit record's number and hash."""

    def close(self) -> None:
        """Release the store."""


def resolve_reference(
    ref: str, newest: Callable[[], str | None], like: Callable[[str], list[str]], where: str
) -> str:
    """A run's full id from `last`, its id, a unique prefix or a unique part of it, given a
    store's newest run and its `LIKE` lookup (a few ids, newest first)."""
    from console.errors import UnknownRun

    if ref == "last":
        found = newest()
        if found is None:
            raise UnknownRun("there are no runs in the store yet")
        return found
    escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    matches: list[str] = []
    for pattern in (escaped + "%", "%" + escaped + "%"):  # a prefix first, then any part
        matches = like(pattern)
        if ref in matches:
            return ref
        if matches:
            break
    if not matches:
        raise UnknownRun(f"no run '{ref}' in the store {where}; `opsconsole runs` lists them")
    if len(matches) > 1:
        some = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        raise UnknownRun(f"'{ref}' matches more than one run ({some}); give more of its id")
    return matches[0]


class Closing(ABC):
    """A store used as a context manager closes itself."""

    def __enter__(self: S) -> S:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Release the store."""


EVENT_COLUMNS = "id, run_id, at, kind, host, stage, step, data, blob"


@dataclass(frozen=True)
class EventQuery:
    """Which stored events a read wants: the one filter both stores turn into SQL."""

    after: int = 0
    run_id: str | None = None
    kinds: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    host: str | None = None
    step: str | None = None
    before: int | None = None
    until: int | None = None
    limit: int | None = None

    def sql(self, table: str, mark: str) -> tuple[str, list[Any]]:
        """The SELECT (with `mark` as the placeholder: `?` or `%s`) and its parameters;
        with `before`, newest first, for the caller to turn round."""
        clauses = [f"id > {mark}"]
        params: list[Any] = [self.after]
        for clause, value in (
            ("run_id = {}", self.run_id),
            ("host = {}", self.host),
            ("step = {}", self.step),
            ("id < {}", self.before),
            ("id <= {}", self.until),
        ):
            if value is not None:
                clauses.append(clause.format(mark))
                params.append(value)
        if self.kinds is not None:  # none wanted: nothing (an empty IN is not SQL everywhere)
            clauses.append(
                f"kind IN ({', '.join([mark] * len(self.kinds))})" if self.kinds else "0 = 1"
            )
            params += self.kinds
        if self.exclude:
            clauses.append(f"kind NOT IN ({', '.join([mark] * len(self.exclude))})")
            params += self.exclude
        order = "id DESC" if self.before is not None else "id"
        limit = f" LIMIT {int(self.limit)}" if self.limit is not None else ""
        query = (
            f"SELECT {EVENT_COLUMNS} FROM {table} WHERE {' AND '.join(clauses)} ORDER BY {order}"
        )
        return query + limit, params


class EventReads(ABC):
    """Reading events, the same in every store: each turns an EventQuery into its SQL."""

    @abstractmethod
    def _select(self, query: EventQuery) -> list[StoredEvent]:
        """The events the query picks, oldest first."""

    def read(
        self,
        run_id: str,
        after: int = 0,
        kinds: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        host: str | None = None,
        limit: int | None = None,
        step: str | None = None,
        before: int | None = None,
    ) -> list[StoredEvent]:
        """Events of a run after an id, oldest first, filtered by kind, host or step.

        With `before`, the newest `limit` events below that id (still oldest first): how a
        view pages back through a long run without reading it whole.
        """
        wanted = None if kinds is None else tuple(kinds)
        unwanted = tuple(exclude or ())
        return self._select(
            EventQuery(after, run_id, wanted, unwanted, host, step, before, limit=limit)
        )

    def read_all(
        self,
        after: int = 0,
        exclude: Iterable[str] = (),
        limit: int = 10_000,
        until: int | None = None,
    ) -> list[StoredEvent]:
        """Events of every run after an id (up to `until`), oldest first: how a console
        follows the store."""
        return self._select(EventQuery(after, exclude=tuple(exclude), until=until, limit=limit))
