"""The demo's history: four weeks of the sample estate's work, made by running the sample
pipelines against demo hosts of their own (the engine, the hosts and the board all real),
then copied into the demo's store with their clocks set back to when they are said to run.

What is chosen, not run: when each run starts, how long its gates wait for the board, which
release breaks on which host (a file left where the release must unpack), and which gate the
board rejects. Everything else in the copied events (steps, output, exit codes, rollbacks,
decisions and their audit records) is what the runs did.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console import events as ev
from console.demo.board import Board, decide_gates
from console.demo.estate import start_estate
from console.events import Decision
from console.model.base import Scalar
from console.paths import StoreAddress
from console.store import Store, open_store

DAY, HOUR, MINUTE = 86400.0, 3600.0, 60.0
DAYS = 28
"""How far back the history reaches."""


@dataclass(frozen=True)
class Planned:
    """One run of the history: what, where, when (days and hours before today's midnight,
    UTC), how long each of its gates' deciders take, and what goes wrong."""

    pipeline: str
    params: Mapping[str, Scalar]
    environment: str
    day: float
    operator: str
    waits: tuple[float, ...] = (5 * MINUTE,)
    decision: Decision = "approve"
    reason: str = "release notes read; rollback tested in staging"
    broken: str | None = None
    """A host on which the release cannot unpack (a file lies where its folder goes)."""


AUTOMATIC = (0.0,)
"""The wait of a gate its checks decide (staging's): what the checks took, nothing added."""
DEV, STAGING, PROD = 9.5 / 24, 11 / 24, 19.5 / 24
"""When in the day (UTC) each environment's deployments start: prod in the evening's change
window."""
LAUNCHERS = ("alice", "bob")


def schedule() -> list[Planned]:
    """The sample estate's four weeks: EHR web releases through dev, staging and prod (one
    failing in staging, one rolled back in prod, one rejected and launched again),
    certificates rotated and a database migration, oldest first."""
    plan: list[Planned] = []
    day = -DAYS
    for n in range(10):
        version = {"version": f"4.1.{n}"}
        who = LAUNCHERS[n % 2]
        plan.append(Planned("deploy-ehr-web", version, "dev", day + DEV, who, (4 * MINUTE,)))
        if n == 3:  # a release that breaks staging; the hotfix follows the next day
            plan.append(
                _deploy(version, "staging", day + STAGING, who, AUTOMATIC, "ehr-web-stg-02")
            )
            day += 1
            continue
        plan.append(_deploy(version, "staging", day + 1 + STAGING, who, AUTOMATIC))
        prod = day + 2 + n % 2 + PROD
        waits = ((50 + 15 * n) * MINUTE, 25 * MINUTE)  # within prod's 4 h gate timeout
        if n == 6:  # rolled back on one host in prod; 4.1.7 replaces it
            plan.append(_deploy(version, "prod", prod, who, waits, "ehr-web-02"))
        elif n == 8:  # rejected for the vendor's upgrade weekend, launched again after it
            reason = "the EHR vendor's upgrade weekend: no web changes until Monday"
            plan.append(
                Planned(
                    "deploy-ehr-web", version, "prod", prod, who, (40 * MINUTE,), "reject", reason
                )
            )
            plan.append(_deploy(version, "prod", prod + 2, who, waits))
        else:
            plan.append(_deploy(version, "prod", prod, who, waits))
        day += 3 if n % 2 else 2
    for n, env in enumerate(("dev", "staging", "prod")):
        at = -17 + n + (PROD if env == "prod" else STAGING)
        plan.append(Planned("rotate-certificates", {"days": 365}, env, at, "bob"))
    migration = {"migration": 42}
    plan.append(Planned("migrate-ehr-db", migration, "staging", -10 + STAGING, "dmitri", AUTOMATIC))
    plan.append(
        Planned("migrate-ehr-db", migration, "prod", -8 + PROD, "dmitri", (2 * HOUR, 30 * MINUTE))
    )
    return sorted(plan, key=lambda p: p.day)


def _deploy(
    version: Mapping[str, Scalar],
    environment: str,
    day: float,
    who: str,
    waits: tuple[float, ...],
    broken: str | None = None,
) -> Planned:
    """An EHR web release approved into an environment."""
    return Planned("deploy-ehr-web", version, environment, day, who, waits, broken=broken)


async def write_history(
    where: StoreAddress, sample: Path, stop: threading.Event | None = None
) -> int:
    """Run the schedule on demo hosts of its own and copy the runs into the store, set back
    in time; how many runs were copied. Nothing is copied unless every run was made (`stop`
    set part-way leaves the store as it was)."""
    midnight = time.time() // DAY * DAY
    planned = schedule()
    with tempfile.TemporaryDirectory(prefix="opsconsole-history-") as tmp:
        work = Path(tmp)
        estate = await start_estate(sample, work)
        runs: list[str] = []
        try:
            for p in planned:
                if stop is not None and stop.is_set():
                    return 0
                runs.append(await _made(p, estate.inventory, work / "made.db"))
        finally:
            await estate.close()
        copied: dict[str, Moved] = {}
        with open_store(work / "made.db") as made, open_store(where) as store:
            for p, run_id in zip(planned, runs, strict=True):
                copied[run_id] = _copy(made, store, run_id, midnight + p.day * DAY, p.waits, copied)
    return len(runs)


async def _made(planned: Planned, inventory: Path, scratch: Path) -> str:
    """Run one planned run on the history's hosts; its id."""
    from console.model.load import load_config
    from console.ops import launch

    config = load_config(inventory, None)
    if planned.broken:
        _break(config, planned)
    chosen = launch.plan(
        config, planned.pipeline, planned.params, planned.operator, None, [planned.environment]
    )
    board = Board(planned.decision, planned.reason, first=0.0, apart=0.0, say=False, poll=0.05)
    deciding = asyncio.create_task(decide_gates(scratch, config.inventory, chosen.run_id, board))
    try:
        await launch.launch_here(scratch, chosen)
    finally:
        deciding.cancel()
    return chosen.run_id


def _break(config: object, planned: Planned) -> None:
    """Leave a file where the release's folder must go on the broken host, so unpacking it
    there fails as it would on a full or damaged disk."""
    from console.model.config import Config
    from console.model.resolve import host_vars

    assert isinstance(config, Config) and planned.broken
    app_dir = str(host_vars(config.inventory, planned.broken)["app_dir"])
    folder = Path(app_dir) / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(planned.params["version"])).write_text("left behind by a failed copy\n")


@dataclass(frozen=True)
class Moved:
    """A run as copied: its new id, and how its moments were set back."""

    run_id: str
    shift: Callable[[float], float]


def _copy(
    made: Store,
    store: Store,
    run_id: str,
    start: float,
    waits: tuple[float, ...],
    copied: dict[str, Moved],
) -> Moved:
    """Copy a run's events into the store under a new id, its launch at `start` and each
    decision `waits` later than it was made (the earlier runs its promotion names, as they
    were copied)."""
    events = made.read(run_id)
    launched = events[0].event
    assert isinstance(launched, ev.RunLaunched)
    shift = _shifts(launched.at, start, [s.event for s in events], waits)
    new_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(start)) + run_id[15:]
    moved = [_moved(s.event, new_id, shift) for s in events]
    first = moved[0]
    assert isinstance(first, ev.RunLaunched)
    first = dataclasses.replace(first, promotion=_promotion(first.promotion, copied))
    files = {d: made.file(d) or b"" for d in first.scripts.values()}
    store.create_run(first, made.blob(first.pipeline_digest) or "", files)
    store.append(moved[1:])
    return Moved(new_id, shift)


def _promotion(
    promotion: dict[str, dict[str, Any]], copied: dict[str, Moved]
) -> dict[str, dict[str, Any]]:
    """A launch's promotion naming the earlier runs by their copies' ids and moments."""
    found = {}
    for env, met in promotion.items():
        earlier = copied[met["run"]]
        found[env] = {
            **met,
            "run": earlier.run_id,
            "succeeded_at": earlier.shift(met["succeeded_at"]),
        }
    return found


def _shifts(
    began: float, start: float, events: list[ev.Event], waits: tuple[float, ...]
) -> Callable[[float], float]:
    """A moment of the run as made, set back to the history's: by the launch's offset, and
    by the gates' waits for every decision made by then."""
    decided = [e.at for e in events if isinstance(e, ev.GateDecided)]
    extra = list(_accumulated(waits, len(decided)))

    def shifted(at: float) -> float:
        added = max((x for d, x in zip(decided, extra, strict=True) if at >= d), default=0.0)
        return at - began + start + added

    return shifted


def _accumulated(waits: tuple[float, ...], count: int) -> Iterator[float]:
    """The running total of the waits, the last repeated for decisions beyond them."""
    total = 0.0
    for n in range(count):
        total += waits[min(n, len(waits) - 1)]
        yield total


def _moved(event: ev.Event, run_id: str, shift: Callable[[float], float]) -> ev.Event:
    """An event under the new id, its moments shifted."""
    changes: dict[str, object] = {"run_id": run_id, "at": shift(event.at)}
    if isinstance(event, ev.GateOpened) and event.expires_at is not None:
        changes["expires_at"] = shift(event.at) + (event.expires_at - event.at)
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]
