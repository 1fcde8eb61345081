"""Replay benchmark: a run of 200 hosts and 1,000,000 output lines, opened and seeked.

Side by side in one run, against reading the run whole (what a replay without the store's
index would do: every event read and folded):

1. open: `Timeline` (the run's non-output events, its first and last ids) and the state at
   the launch; and the replay screen under Pilot until its matrix and output pane are drawn.
2. seek: to random moments: the cursor found by time, the state folded there, and the output
   pane's window read up to it (all hosts, and one host).
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


def ui_open(path: Path) -> tuple[float, float]:
    """Seconds from starting `opsconsole replay` (headless) to its matrix and output drawn,
    and for a seek by key (`f`, the first failure) until the output pane shows that moment."""
    from console.ui.screens.replay import ReplayApp, ReplayScreen
    from console.ui.widgets.logview import LogView

    async def main() -> tuple[float, float]:
        start = time.perf_counter()
        app = ReplayApp(path, RUN, 1.0)
        async with app.run_test(size=(160, 48)) as pilot:
            while True:
                await pilot.pause(0.005)
                screen = app.screen
                if (
                    isinstance(screen, ReplayScreen)
                    and screen.query(LogView)
                    and (
                        screen.query_one("RunMatrix").row_count == 200
                        and screen.query_one(LogView).lines
                    )
                ):
                    break
            opened = time.perf_counter() - start
            await pilot.press("space")
            before = screen.query_one(LogView).lines[-1]
            start = time.perf_counter()
            await pilot.press("f")
            while screen.query_one(LogView).lines[-1] == before:
                await pilot.pause(0.005)
            return opened, time.perf_counter() - start

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
    whole = [open_whole(path) for _ in range(args.rounds)]
    ui = [ui_open(path) for _ in range(args.rounds)]
    found: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for name, values in seeks(path, args.seeks, r).items():
            found.setdefault(name, []).extend(values)
    memory_windowed = peak_memory(lambda: (open_windowed(path), seeks(path, 10, 99)))
    memory_whole = peak_memory(lambda: open_whole(path))
    w, h = statistics.median(windowed), statistics.median(whole)
    print("| open | median s | min s | max s | ratio |\n|---|---:|---:|---:|---:|")
    print(
        f"| whole: every event read and folded | {h:.3f} | {min(whole):.3f} | {max(whole):.3f} | 1.00× |"
    )
    print(
        f"| replay: timeline, state at start and end | {w:.3f} | {min(windowed):.3f} | {max(windowed):.3f} | {w / h:.3f}× |"
    )
    opened = [u[0] for u in ui]
    keyed = [u[1] for u in ui]
    ui_row = f"{statistics.median(opened):.3f} | {min(opened):.3f} | {max(opened):.3f}"
    print(f"| `opsconsole replay` headless, matrix and output drawn | {ui_row} | |")
    print(f"\nseeks ({len(found['state'])} random moments over {args.rounds} rounds)\n")
    print("| seek | median ms | p95 ms | max ms |\n|---|---:|---:|---:|")
    print(f"| cursor by time and state folded there | {_ms(found['state'])} |")
    print(f"| output window up to it, all hosts | {_ms(found['window all'])} |")
    print(f"| output window up to it, one host | {_ms(found['window host'])} |")
    print(f"| `f` in the replay screen until the output shows that moment | {_ms(keyed)} |")
    print(f"\npeak Python memory: replay {memory_windowed:.1f} MiB, whole {memory_whole:.1f} MiB")


if __name__ == "__main__":
    main()
