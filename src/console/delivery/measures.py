"""The delivery measures over run records: per environment, and per environment and pipeline,
within a period, with their weekly trend and DORA bands."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import compress
from typing import Any

from console.delivery.bands import DAY, bands
from console.delivery.record import NOT_DEPLOYED, GateWait, Releases, RunRecord


@dataclass(frozen=True)
class Period:
    """From `since` up to (not including) `until`, in seconds since the epoch."""

    since: float
    until: float

    def holds(self, moment: float | None) -> bool:
        """Whether a moment falls in the period."""
        return moment is not None and self.since <= moment < self.until

    @property
    def days(self) -> float:
        """Its length in days (at least one second's worth)."""
        return max(self.until - self.since, 1.0) / DAY


@dataclass(frozen=True)
class Durations:
    """A measure that is a duration: how many, their median and 90th percentile, in seconds."""

    samples: tuple[float, ...] = ()

    @property
    def count(self) -> int:
        """How many durations."""
        return len(self.samples)

    @property
    def median(self) -> float | None:
        """The median (None for none)."""
        return statistics.median(self.samples) if self.samples else None

    @property
    def p90(self) -> float | None:
        """The 90th percentile: the smallest duration at or above 90% of them (nearest rank)."""
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[max(0, -(-9 * len(ordered) // 10) - 1)]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"count": self.count, "median": self.median, "p90": self.p90}


@dataclass(frozen=True)
class Group:
    """The measures of one environment, or of one pipeline in it."""

    environment: str
    pipeline: str | None
    deployments: list[RunRecord]
    per_day: float
    failed: list[RunRecord]
    recovery: Durations
    unrecovered: list[RunRecord]
    lead_time: Durations
    gate_wait: Durations
    gates_rejected: int
    gates_expired: int
    waited_on: dict[str, Durations]
    reworked: int
    gates: list[tuple[str, str, GateWait]] = field(default_factory=list)
    """The gates opened in the period, with their runs and pipelines: what the gate figures
    are made of."""
    bands: dict[str, str | None] = field(default_factory=dict)

    @property
    def change_failure_rate(self) -> float | None:
        """Failed deployments over all deployments (None without any)."""
        return len(self.failed) / len(self.deployments) if self.deployments else None

    @property
    def rework_rate(self) -> float | None:
        """Re-runs, failed-host re-runs and resumes over deployments (None without any)."""
        return self.reworked / len(self.deployments) if self.deployments else None


@dataclass
class _Gates:
    """One environment's gates by when they opened, as columns a period slices."""

    opened: list[float] = field(default_factory=list)
    pipelines: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    gates: list[GateWait] = field(default_factory=list)
    waits: list[float | None] = field(default_factory=list)
    outcomes: list[str | None] = field(default_factory=list)


class History:
    """The records indexed once (per environment, by time, as columns) so that any period,
    environment and pipeline is measured from slices of them rather than from every record."""

    def __init__(self, records: Iterable[RunRecord], releases: Releases | None = None) -> None:
        self.records = list(records)
        self.releases = releases if releases is not None else Releases.of(self.records)
        self.deployed: dict[str, list[RunRecord]] = {}
        self.named: set[str] = set()
        """Every environment the records name."""
        self.pipelines: set[str] = set()
        opened: dict[str, list[tuple[float, str, str, GateWait]]] = {}
        for r in self.records:
            self.named.update(r.environments)
            self.pipelines.add(r.pipeline)
            if r.status not in NOT_DEPLOYED:
                for env in r.deployed:
                    self.deployed.setdefault(env, []).append(r)
            if r.gates:
                for env in r.environments:
                    opened.setdefault(env, []).extend(
                        (g.opened_at, r.pipeline, r.run_id, g) for g in r.gates
                    )
        for found in self.deployed.values():
            found.sort(key=_ended)
        self._ends = {env: [_ended(r) for r in found] for env, found in self.deployed.items()}
        self._failed = {env: [r.failed for r in found] for env, found in self.deployed.items()}
        self._rework = {
            env: [r.resumes + (1 if r.repeats else 0) for r in found]
            for env, found in self.deployed.items()
        }
        self.gates = {env: _columns(found) for env, found in opened.items()}
        self._successes = self._index_successes()
        self._arrivals = self._index_arrivals()
        self._arrived = {env: [a[0] for a in found] for env, found in self._arrivals.items()}

    def _index_successes(self) -> dict[tuple[str, str], list[float]]:
        found: dict[tuple[str, str], list[float]] = {}
        for env, deployments in self.deployed.items():
            for r in deployments:
                if not r.failed:
                    found.setdefault((env, r.pipeline), []).append(_ended(r))
        return found  # each sorted: the deployments were

    def _index_arrivals(self) -> dict[str, list[tuple[float, str, float]]]:
        """Per environment, each release's first success there (when, pipeline, lead time),
        for releases first launched elsewhere, by when."""
        began = self.releases.began
        found: dict[str, list[tuple[float, str, float]]] = {}
        for (pipeline, release, env), when in self.releases.arrived.items():
            start = began.get((pipeline, release))
            if start is not None and env not in start[1]:
                found.setdefault(env, []).append((when, pipeline, when - start[0]))
        for arrivals in found.values():
            arrivals.sort()
        return found

    def measure(self, period: Period, environment: str, pipeline: str | None = None) -> Group:
        """The measures of an environment (and a pipeline in it) over the period."""
        ends = self._ends.get(environment, [])
        lo, hi = bisect.bisect_left(ends, period.since), bisect.bisect_left(ends, period.until)
        deployed = self.deployed.get(environment, [])[lo:hi]
        flags = self._failed.get(environment, [])[lo:hi]
        rework = self._rework.get(environment, [])[lo:hi]
        if pipeline is not None:
            keep = [r.pipeline == pipeline for r in deployed]
            deployed, flags = list(compress(deployed, keep)), list(compress(flags, keep))
            rework = list(compress(rework, keep))
        failed = list(compress(deployed, flags))
        recovery, unrecovered = self._recoveries(failed, environment)
        arrivals = self._arrivals.get(environment, [])
        leads = (
            [
                lead
                for _, name, lead in _slice(arrivals, self._arrived[environment], period)
                if pipeline in (None, name)
            ]
            if arrivals
            else []
        )
        runs, names, gates, waits, outcomes = self._gates_in(period, environment, pipeline)
        found = Group(
            environment,
            pipeline,
            deployed,
            len(deployed) / period.days,
            failed,
            recovery,
            unrecovered,
            Durations(tuple(leads)),
            Durations(tuple(w for w in waits if w is not None)),
            outcomes.count("rejected"),
            outcomes.count("expired"),
            _waited_on(gates, waits),
            sum(rework),
            list(zip(runs, names, gates, strict=True)),
        )
        return replace(found, bands=_bands_of(found))

    def _gates_in(
        self, period: Period, environment: str, pipeline: str | None
    ) -> tuple[list[str], list[str], list[GateWait], list[float | None], list[str | None]]:
        """The runs, pipelines, gates, waits and outcomes of the gates opened in the period."""
        cols = self.gates.get(environment)
        if cols is None:
            return [], [], [], [], []
        lo = bisect.bisect_left(cols.opened, period.since)
        hi = bisect.bisect_left(cols.opened, period.until)
        found = (
            cols.runs[lo:hi],
            cols.pipelines[lo:hi],
            cols.gates[lo:hi],
            cols.waits[lo:hi],
            cols.outcomes[lo:hi],
        )
        if pipeline is None:
            return found
        keep = [p == pipeline for p in found[1]]
        runs, names, gates, waits, outcomes = (list(compress(col, keep)) for col in found)
        return runs, names, gates, waits, outcomes  # type: ignore[return-value]

    def _recoveries(
        self, failed: list[RunRecord], environment: str
    ) -> tuple[Durations, list[RunRecord]]:
        """From each failure's end to the end of the next successful deployment of its
        pipeline in the environment (whenever that came), and the failures not recovered."""
        samples: list[float] = []
        unrecovered: list[RunRecord] = []
        for failure in failed:
            ends = self._successes.get((environment, failure.pipeline), [])
            at = bisect.bisect_right(ends, _ended(failure))
            if at < len(ends):
                samples.append(ends[at] - _ended(failure))
            else:
                unrecovered.append(failure)
        return Durations(tuple(samples)), unrecovered


def measure(
    records: Sequence[RunRecord], period: Period, environment: str, pipeline: str | None = None
) -> Group:
    """The measures of an environment (and a pipeline in it) over the period."""
    return History(records).measure(period, environment, pipeline)


def _ended(record: RunRecord) -> float:
    assert record.ended_at is not None, "a deployment has ended"
    return record.ended_at


def _columns(found: list[tuple[float, str, str, GateWait]]) -> _Gates:
    """An environment's gates as columns, by when they opened."""
    cols = _Gates()
    for opened, pipeline, run, gate in sorted(found, key=lambda item: item[0]):
        cols.opened.append(opened)
        cols.pipelines.append(pipeline)
        cols.runs.append(run)
        cols.gates.append(gate)
        cols.waits.append(gate.waited)
        cols.outcomes.append(gate.outcome)
    return cols


def _slice(items: list[Any], moments: list[float], period: Period) -> list[Any]:
    """The items whose moments (sorted alike) fall in the period."""
    return items[
        bisect.bisect_left(moments, period.since) : bisect.bisect_left(moments, period.until)
    ]


def _bands_of(group: Group) -> dict[str, str | None]:
    return bands(
        group.per_day, group.change_failure_rate, group.recovery.median, group.lead_time.median
    )


def _waited_on(gates: Iterable[GateWait], waits: Iterable[float | None]) -> dict[str, Durations]:
    """Per person whose decision closed a gate, how long the gates (and their waits, worked
    out once when indexed) waited for them."""
    found: dict[str, list[float]] = {}
    for gate, waited in zip(gates, waits, strict=True):
        if waited is not None and gate.deciders:
            found.setdefault(gate.deciders[-1], []).append(waited)
    return {who: Durations(tuple(waits)) for who, waits in sorted(found.items())}


USUAL_ORDER = ("dev", "development", "test", "qa", "stage", "staging", "prod", "production")
"""How environments usually follow one another, for when no inventory gives their order."""


def in_order(named: set[str], order: Sequence[str] = ()) -> list[str]:
    """Environments in the inventory's order, then in the usual order of such names, then
    by name."""
    rest = sorted(
        named - set(order),
        key=lambda e: (USUAL_ORDER.index(e) if e in USUAL_ORDER else len(USUAL_ORDER), e),
    )
    return [e for e in order if e in named] + rest


def weeks(period: Period) -> list[Period]:
    """The ISO weeks (Monday to Monday, UTC) that the period overlaps, cut to it."""
    start = datetime.fromtimestamp(period.since, UTC)
    monday = (start - timedelta(days=start.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    found: list[Period] = []
    while monday.timestamp() < period.until:
        end = monday + timedelta(days=7)
        found.append(
            Period(max(monday.timestamp(), period.since), min(end.timestamp(), period.until))
        )
        monday = end
    return found


@dataclass(frozen=True)
class Measures:
    """The measures of a period: per environment, and per environment and pipeline; and each
    environment's week by week."""

    period: Period
    groups: list[Group]
    weeks: list[tuple[Period, list[Group]]]
