"""Delivery measures over a long history: how long `metrics` takes to fold a store of many runs
the first time (no cache yet), and each time after (the cache up to date), medians of rounds.

The history is written through the store's own append: each run a launch, a gate in one of
three in five (decided within hours, some rejected), a step on a host, and its end; runs
spread over a year, three environments, six pipelines with releases, one in eight failing.

    .venv/bin/python -m bench.metrics --runs 100000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from console import events as ev
from console.ops.metrics import measures, period_of, run_records
from console.store import Store, open_store

ENVS = ["dev", "staging", "prod"]
PIPELINES = [f"deploy-{n}" for n in ("ehr", "lab", "pacs", "portal", "billing", "auth")]


def _run(rng: random.Random, n: int, at: float) -> list[ev.Event]:
    """One run's events, launch first."""
    run, env = f"run-{n:06d}", rng.choice(ENVS)
    pipeline = rng.choice(PIPELINES)
    events: list[ev.Event] = [
        ev.RunLaunched(
            run_id=run,
            at=at,
            pipeline=pipeline,
            pipeline_digest="a" * 64,
            pipeline_path="p.toml",
            inventory_path="i.toml",
            inventory_digest="b" * 64,
            params={"version": f"1.{n // 30}"},
            targets=["h1"],
            environments=[env],
            operator="carol",
            stages=[],
            host_environments={"h1": env},
            release=f"1.{n // 30}",
        )
    ]
    t = at
    if rng.random() < 0.6:
        waited = rng.uniform(60, 6 * 3600)
        decision = "reject" if rng.random() < 0.05 else "approve"
        outcome = "rejected" if decision == "reject" else "approved"
        where = {"run_id": run, "stage": "g", "step": "board"}
        events += [
            ev.GateOpened(**where, at=t, message="", approvals_required=1),
            ev.GateDecided(**where, at=t + waited, decision=decision, actor="okafor"),
            ev.GateClosed(**where, at=t + waited, outcome=outcome),
        ]
        t += waited
        if decision == "reject":
            return [*events, ev.RunFinished(run_id=run, at=t, status="rejected")]
    status = "failed" if rng.random() < 0.125 else "succeeded"
    return [
        *events,
        ev.StepStarted(run_id=run, at=t + 1, stage="s", step="x", host="h1"),
        ev.RunFinished(run_id=run, at=t + 60, status=status),
    ]


def write_history(store: Store, runs: int) -> None:
    """`runs` runs over the year before now, in order."""
    rng = random.Random(7)
    start = time.time() - 365 * 86400
    for n in range(runs):
        events = _run(rng, n, start + n * 365 * 86400 / runs)
        launched = events[0]
        store.create_run(launched, "")
        store.append(events[1:])


def one_look(store: Store, days: int = 90) -> tuple[float, int]:
    """Seconds to bring the records up to date and measure a period (90 days by default) per
    environment and pipeline, week by week: what `opsconsole metrics --json` does."""
    started = time.perf_counter()
    period = period_of(time.time() - days * 86400, None)
    book = run_records(store, period.since)
    measures(book, period, ENVS)
    return time.perf_counter() - started, len(book.records)


def pane_open(store: Path, rounds: int, runs: int) -> list[float]:
    """Seconds from pressing 5 to the delivery pane's figures on screen, in a console on the
    sample inventory (headless, 160×48), once the console has caught up with the store."""
    import asyncio

    from textual.widgets import DataTable

    from console.model.load import load_config
    from console.settings import Settings
    from console.ui import make_app

    root = Path(__file__).resolve().parents[1]
    inventory = root / "sample_inventory.toml"

    async def once() -> float:
        settings = Settings(inventory, None, store, "carol", None)
        app = make_app(load_config(inventory), settings, spawn=lambda *_: None)
        async with app.run_test(size=(160, 48)) as pilot:
            while not app.ready or len(app.runs) < min(runs, 200):  # the newest runs read
                await pilot.pause(0.1)
            await pilot.pause(1.0)
            started = time.perf_counter()
            await pilot.press("5")
            while (
                not app.query("#delivery-envs")
                or not app.query_one("#delivery-envs", DataTable).row_count
            ):
                await pilot.pause(0.01)
            return time.perf_counter() - started

    return [asyncio.run(once()) for _ in range(rounds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pane", action="store_true", help="time the console's pane too")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
    with open_store(folder / "store.db") as store:
        started = time.perf_counter()
        write_history(store, args.runs)
        print(f"{args.runs:,} runs written in {time.perf_counter() - started:.1f} s")
        first, count = one_look(store)
        warm = [one_look(store)[0] for _ in range(args.rounds)]
        year = [one_look(store, 365)[0] for _ in range(args.rounds)]
    print("\n| look | median s | min | max | runs |\n|---|---:|---:|---:|---:|")
    print(
        f"| first: every run's events folded into the cache, 90 days | {first:.2f} | | | {count:,} |"
    )
    if args.pane:
        pane = pane_open(folder / "store.db", args.rounds, args.runs)
    for name, found in (("90 days, by week", warm), ("a year, by week", year)):
        print(
            f"| after: {name} | {statistics.median(found):.2f} | {min(found):.2f} | "
            f"{max(found):.2f} | {count:,} |"
        )
    if args.pane:
        print(
            f"| the console's pane 5, key to figures | {statistics.median(pane):.2f} | "
            f"{min(pane):.2f} | {max(pane):.2f} | {count:,} |"
        )


if __name__ == "__main__":
    main()
