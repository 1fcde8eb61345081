"""Replay benchmark: a run of 200 hosts and 1,000,000 output lines, opened and seeked.

Side by side in one run, against reading the run whole (what a replay without the store's
index would do: every event read and folded):

1. open: `Timeline` (the run's non-output events, its first and last ids) and the state at
   the launch and the end; and `opsconsole replay` under Pilot (headless) until its matrix is
   drawn, then until its output pane shows the run's last line.
2. seek: to random moments: the cursor found by time, the state folded there, and the output
   pane's window read up to it (all hosts, and one host); and in the replay screen under
   Pilot, from moving the cursor until the output pane shows the newest line before it.
3. memory: Python's peak allocation while opening and seeking, against reading it whole.

    .venv/bin/python -m bench.replay --rounds 5 --seeks 50
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from console import events as ev
from console.replay import Timeline
from console.state import fold
from console.store.sqlite import SQLiteStore
from console.ui.widgets.logtext import Filter, event_lines

RUN = "20261128-090000-beef"
HOSTS = [f"web-{i:03d}" for i in range(200)]
STAGES = {"prepare": ["fetch", "unpack"], "rollout": ["switch", "restart", "health"]}
LINES = 1_000_000
TAIL = 60  # what the output pane reads when it opens at a cursor (ui/widgets/logs.py)


def _launched(at: float) -> ev.RunLaunched:
    stages = [
        ev.StagePlan(
            name=name,
            strategy="parallel",
            steps=[ev.StepPlan(name=s, kind="run", hosts=HOSTS) for s in steps],
        )
        for name, steps in STAGES.items()
    ]
    return ev.RunLaunched(
        run_id=RUN,
        at=at,
        pipeline="deploy",
        pipeline_digest="d" * 64,
        pipeline_path="p",
        inventory_path="i",
        inventory_digest="e" * 64,
        params={"version": "4.2.0"},
        targets=HOSTS,
        environments=["prod"],
        operator="bench",
        stages=stages,
    )


def build(path: Path) -> int:
    """Write the run: every step on every host prints its share of the lines, interleaved."""
    store = SQLiteStore(path, actor="bench")
    t = 1_795_000_000.0
    store.create_run(_launched(t), "")
    store.append([ev.RunStarted(run_id=RUN, at=t + 0.1, pid=1, node="elsewhere")])
    per_cell = LINES // (len(HOSTS) * sum(len(s) for s in STAGES.values()))
    written = 0
    for stage, steps in STAGES.items():
        t += 1
        store.append([ev.StageStarted(run_id=RUN, at=t, stage=stage)])
        for step in steps:
            store.append(
                [ev.StepStarted(run_id=RUN, at=t, stage=stage, step=step, host=h) for h in HOSTS]
            )
            batch: list[ev.Event] = []
            for line in range(per_cell):
                t += 0.001
                for host in HOSTS:
                    data = b"%s %s line %d of the step's output, a typical log line\n" % (
                        host.encode(),
                        step.encode(),
                        line,
                    )
                    batch.append(
                        ev.Output(
                            run_id=RUN,
                            at=t,
                            stage=stage,
                            step=step,
                            host=host,
                            stream="stdout",
                            data=data,
                        )
                    )
                if len(batch) >= 20_000:
                    store.append(batch)
                    written += len(batch)
                    batch = []
            store.append(batch)
            written += len(batch)
            t += 0.5
            store.append(
                [
                    ev.StepFinished(
                        run_id=RUN,
                        at=t,
                        stage=stage,
                        step=step,
                        host=h,
                        status="failed" if (h, step) == ("web-007", "health") else "ok",
                        exit_code=0,
                    )
                    for h in HOSTS
                ]
            )
        store.append([ev.StageFinished(run_id=RUN, at=t, stage=stage, status="ok")])
    store.append([ev.RunFinished(run_id=RUN, at=t + 1, status="succeeded")])
    store.close()
    return written


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def open_windowed(path: Path) -> float:
    """Seconds to open the timeline and fold the state at its launch and at its end."""

    def work() -> None:
        store = SQLiteStore(path)
        timeline = Timeline(store, RUN)
        timeline.state(timeline.first)
        timeline.state(timeline.last)
        timeline.landmarks()
        store.close()

    return _timed(work)


def open_whole(path: Path) -> float:
    """Seconds to read every event of the run and fold it, output included."""

    def work() -> None:
        store = SQLiteStore(path)
        fold(s.event for s in store.read(RUN))
        store.close()

    return _timed(work)


def seeks(path: Path, count: int, seed: int) -> dict[str, list[float]]:
    """Seconds per seek to a random moment: cursor and state, then the output windows."""
    store = SQLiteStore(path)
    timeline = Timeline(store, RUN)
    rng = random.Random(seed)
    found: dict[str, list[float]] = {"state": [], "window all": [], "window host": []}
    for _ in range(count):
        moment = timeline.start_at + rng.random() * timeline.length
        host = rng.choice(HOSTS)
        start = time.perf_counter()
        cursor = timeline.at_time(moment)
        timeline.state(cursor)
        found["state"].append(time.perf_counter() - start)
        for name, view in (
            ("window all", Filter(RUN, None, None, False)),
            ("window host", Filter(RUN, host, None, False)),
        ):
            start = time.perf_counter()
            event_lines(view.read(store, before=cursor + 1, limit=TAIL), {}, view)
            found[name].append(time.perf_counter() - start)
    store.close()
    return found


def peak_memory(work: Callable[[], object]) -> float:
    """MiB Python allocated at most while `work` ran."""
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def ui(path: Path, count: int, seed: int) -> tuple[float, float, list[float]]:
    """`opsconsole replay` headless: seconds until its matrix is drawn at the launch; until,
    moved to the end, its output pane shows the last line; and per seek to a random moment
    until the output pane shows the newest output at or before it."""
    from console.ui.screens.replay import ReplayApp, ReplayScreen
    from console.ui.widgets.logview import LogView

    async def shown(pilot, screen: ReplayScreen, newest: int) -> None:  # type: ignore[no-untyped-def]
        view = screen.query_one(LogView)
        while not (view.keys and view.keys[-1][0] == newest):
            await pilot.pause(0.001)

    async def main() -> tuple[float, float, list[float]]:
        start = time.perf_counter()
        app = ReplayApp(path, RUN, 1.0)
        async with app.run_test(size=(160, 48)) as pilot:
            while not (
                isinstance(app.screen, ReplayScreen)
                and app.screen.timeline is not None
                and app.screen.query_one("RunMatrix").row_count == len(HOSTS)
            ):
                await pilot.pause(0.001)
            opened = time.perf_counter() - start
            screen = app.screen
            screen.playing = False
            timeline = screen.timeline
            assert timeline is not None
            store = SQLiteStore(path)
            output = (ev.Output.kind,)
            start = time.perf_counter()
            screen.move(timeline.last)
            await shown(pilot, screen, store.read(RUN, kinds=output, before=1 << 62, limit=1)[0].id)
            to_end = time.perf_counter() - start
            rng, took = random.Random(seed), []
            for _ in range(count):
                cursor = timeline.at_time(timeline.start_at + rng.random() * timeline.length)
                newest = store.read(RUN, kinds=output, before=cursor + 1, limit=1)
                if not newest or cursor == screen.cursor:
                    continue
                start = time.perf_counter()
                screen.move(cursor)
                await shown(pilot, screen, newest[0].id)
                took.append(time.perf_counter() - start)
            store.close()
            return opened, to_end, took

    return asyncio.run(main())


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(values) * 1000:.1f} | {p95 * 1000:.1f} | {max(values) * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seeks", type=int, default=50)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="replay-")) / "store.db"
    took = _timed(lambda: build(path))
    size = path.stat().st_size / 2**20
    print(
        f"built a run of {len(HOSTS)} hosts, {LINES:,} output lines ({size:.0f} MiB) in {took:.0f} s\n"
    )
    windowed = [open_windowed(path) for _ in range(args.rounds)]
    ui_runs = [ui(path, args.seeks, r) for r in range(args.rounds)]
    found: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for name, values in seeks(path, args.seeks, r).items():
            found.setdefault(name, []).extend(values)
    memory_windowed = peak_memory(lambda: (open_windowed(path), seeks(path, 10, 99)))
    # Reading it whole goes last: its 800 MiB of garbage would weigh on whatever came after.
    whole = [open_whole(path) for _ in range(args.rounds)]
    memory_whole = peak_memory(lambda: open_whole(path))
    w, h = statistics.median(windowed), statistics.median(whole)
    print("| open | median s | min s | max s | ratio |\n|---|---:|---:|---:|---:|")
    print(
        f"| whole: every event read and folded | {h:.3f} | {min(whole):.3f} | {max(whole):.3f} | 1.00× |"
    )
    print(
        f"| replay: timeline, state at start and end | {w:.3f} | {min(windowed):.3f} | {max(windowed):.3f} | {w / h:.3f}× |"
    )
    for label, values in (
        ("`opsconsole replay` headless, its matrix drawn at the launch", [u[0] for u in ui_runs]),
        ("… then moved to the end, its output's last line shown", [u[1] for u in ui_runs]),
    ):
        row = f"{statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f}"
        print(f"| {label} | {row} | |")
    print(f"\nseeks ({len(found['state'])} random moments over {args.rounds} rounds)\n")
    print("| seek | median ms | p95 ms | max ms |\n|---|---:|---:|---:|")
    print(f"| cursor by time and state folded there | {_ms(found['state'])} |")
    print(f"| output window up to it, all hosts | {_ms(found['window all'])} |")
    print(f"| output window up to it, one host | {_ms(found['window host'])} |")
    keyed = [t for u in ui_runs for t in u[2]]
    print(
        f"| replay screen: cursor moved, every pane redrawn, output shown ({len(keyed)}) | {_ms(keyed)} |"
    )
    print(f"\npeak Python memory: replay {memory_windowed:.1f} MiB, whole {memory_whole:.1f} MiB")


if __name__ == "__main__":
    main()
