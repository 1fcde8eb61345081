"""What one run says about delivery: the fold of its events that the measures read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from console import events as ev

FAILURES = ("failed", "cancelled", "interrupted")
"""Statuses of a deployment that count against the change failure rate (with a rollback):
it failed, or was cut off after its steps had begun (cancelled, or interrupted and not
resumed to success)."""

NOT_DEPLOYED = ("rejected", "expired", "queued", "running", "waiting")
"""Statuses of a run that is not (or not yet) a deployment: its gate stopped the change, or
it has not ended."""


class GateWait(NamedTuple):
    """One gate of a run: when it opened, when it closed, how, and who closed it."""

    step: str
    opened_at: float
    closed_at: float | None = None
    outcome: str | None = None
    deciders: tuple[str, ...] = ()

    @property
    def waited(self) -> float | None:
        """Seconds from open to decided (None while open, or when it expired or was voided)."""
        if self.closed_at is None or self.outcome not in ("approved", "rejected"):
            return None
        return self.closed_at - self.opened_at


class RunRecord(NamedTuple):
    """A run as the delivery measures see it (a tuple: a history of many is loaded fast)."""

    run_id: str
    pipeline: str
    launched_at: float
    environments: tuple[str, ...]
    status: str = "queued"
    ended_at: float | None = None
    deployed: tuple[str, ...] = ()
    """The environments in which it started a step on a host."""
    rolled_back: bool = False
    release: str | None = None
    repeats: str | None = None
    resumes: int = 0
    gates: tuple[GateWait, ...] = ()

    def deployment_in(self, environment: str) -> bool:
        """Whether this run is a deployment into the environment: it ended, was not stopped
        by its gate, and ran a step on one of the environment's hosts."""
        return environment in self.deployed and self.status not in NOT_DEPLOYED

    @property
    def failed(self) -> bool:
        """Whether, as a deployment, it failed, rolled back or was cut off."""
        return self.rolled_back or self.status in FAILURES


ENDED = ("succeeded", "failed", "cancelled", "rejected", "expired")
"""Statuses after which a run's record no longer changes (an interrupted run may resume)."""


@dataclass
class Releases:
    """Where each release began and when it first arrived in each environment: what lead
    times need from the whole history, kept small (a release, not a run, per entry)."""

    began: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = field(default_factory=dict)
    """(pipeline, release) → its first launch: when, and into which environments."""
    arrived: dict[tuple[str, str, str], float] = field(default_factory=dict)
    """(pipeline, release, environment) → the end of its first successful deployment there."""

    def launched(self, record: RunRecord) -> None:
        """Note a launch (the earliest of a release's launches is where it began)."""
        if record.release is None:
            return
        key = (record.pipeline, record.release)
        if key not in self.began or record.launched_at < self.began[key][0]:
            self.began[key] = (record.launched_at, record.environments)

    def ended(self, record: RunRecord) -> None:
        """Note a run that ended: a successful deployment of a release arrives."""
        if record.release is None or record.failed or record.ended_at is None:
            return
        for env in record.deployed:
            if record.deployment_in(env):
                key = (record.pipeline, record.release, env)
                self.arrived[key] = min(self.arrived.get(key, record.ended_at), record.ended_at)

    @classmethod
    def of(cls, records: Iterable[RunRecord]) -> Releases:
        """The releases of these records."""
        found = cls()
        for record in records:
            found.launched(record)
            if record.status in ENDED:
                found.ended(record)
        return found


@dataclass
class RecordBook:
    """The records of every run, followed event by event: the fold the measures read. Runs
    still open keep their hosts' environments; ended ones need them no more."""

    records: dict[str, RunRecord] = field(default_factory=dict)
    hosts: dict[str, dict[str, str]] = field(default_factory=dict)
    cursor: int = 0
    releases: Releases = field(default_factory=Releases)
    changed: set[str] = field(default_factory=set)
    since: float | None = None
    """The runs that ended before this were not loaded (None: every run was)."""

    def apply(self, stored_id: int, event: ev.Event) -> None:
        """Take one more event of the store (ids ascending)."""
        self.cursor = max(self.cursor, stored_id)
        run = event.run_id
        if isinstance(event, ev.RunLaunched):
            self.hosts[run] = _host_environments(event)
            self.records[run] = RunRecord(
                run,
                event.pipeline,
                event.at,
                tuple(event.environments),
                release=event.release,
                repeats=event.repeats,
            )
            self.releases.launched(self.records[run])
        elif run in self.records:
            self.records[run] = _step(self.records[run], event, self.hosts.get(run, {}))
        else:
            return  # a run this book does not hold open: ended ones do not change
        self.changed.add(run)
        if self.records[run].status in ENDED:
            self.hosts.pop(run, None)
            if isinstance(event, ev.RunFinished):
                self.releases.ended(self.records[run])


def record_of(events: Iterable[ev.Event]) -> RunRecord | None:
    """The record of one run from its events, oldest first (None without its launch)."""
    book = RecordBook()
    for number, event in enumerate(events, start=1):
        book.apply(number, event)
    return next(iter(book.records.values()), None)


def _host_environments(launched: ev.RunLaunched) -> dict[str, str]:
    """Each target's environment (runs launched before the map was recorded: the run's one
    environment, or every one it names)."""
    if launched.host_environments:
        return dict(launched.host_environments)
    if len(launched.environments) == 1:
        return dict.fromkeys(launched.targets, launched.environments[0])
    return {}


def _step(record: RunRecord, event: ev.Event, hosts: dict[str, str]) -> RunRecord:
    """The record after one more event."""
    if isinstance(event, ev.StepStarted):
        where = hosts.get(event.host)
        places = (where,) if where else record.environments
        new = tuple(e for e in places if e not in record.deployed)
        return record._replace(deployed=record.deployed + new, status="running") if new else record
    if isinstance(event, ev.RollbackStarted):
        return record._replace(rolled_back=True)
    if isinstance(event, ev.GateOpened):
        return record._replace(gates=(*record.gates, GateWait(event.step, event.at)))
    if isinstance(event, ev.GateDecided | ev.GateClosed):
        return record._replace(gates=_gates_after(record.gates, event))
    if isinstance(event, ev.RunResumed):
        return record._replace(resumes=record.resumes + 1, status="running", ended_at=None)
    if isinstance(event, ev.RunInterrupted):
        return record._replace(status="interrupted", ended_at=event.at)
    if isinstance(event, ev.RunFinished):
        return record._replace(status=event.status, ended_at=event.at)
    return record


def _gates_after(
    gates: tuple[GateWait, ...], event: ev.GateDecided | ev.GateClosed
) -> tuple[GateWait, ...]:
    """The run's gates with the newest open one of this step decided or closed."""
    for index in range(len(gates) - 1, -1, -1):
        gate = gates[index]
        if gate.step != event.step or gate.closed_at is not None:
            continue
        if isinstance(event, ev.GateDecided):
            gate = gate._replace(deciders=(*gate.deciders, event.actor))
        else:
            gate = gate._replace(closed_at=event.at, outcome=event.outcome)
        return (*gates[:index], gate, *gates[index + 1 :])
    return gates
