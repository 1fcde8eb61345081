"""Key latency in the console while a 200-host run floods output, against an idle store.

A second process plays the runner: it appends a 200-host run's events through the batch
writer (steps starting and finishing, and output lines from every host) for the whole
measurement. The console, headless under Pilot, has that run open in the run view (matrix
and logs live). Each sample presses `j` in the matrix and times until the cursor has moved.

    .venv/bin/python -m bench.tui_latency --presses 40
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from console import events as ev
from console.model.load import load_config
from console.store.sqlite import SQLiteStore
from console.ui.app import make_app
from console.ui.widgets.matrix import RunMatrix

HOSTS = [f"h{i:03d}" for i in range(200)]
RUN = "20261128-000000-flood"
ROOT = Path(__file__).resolve().parents[1]

_RUNNER = """
import sys, time
from pathlib import Path
from console import events as ev
from console.store.writer import BatchWriter
hosts = [f"h{i:03d}" for i in range(200)]
writer = BatchWriter(Path(sys.argv[1]))
run, n = sys.argv[2], 0
for h in hosts:
    writer.put(ev.StepStarted(run_id=run, at=time.time(), stage="s", step="work", host=h))
deadline = time.time() + float(sys.argv[3])
while time.time() < deadline:
    for h in hosts:
        writer.put(ev.Output(run_id=run, at=time.time(), stage="s", step="work", host=h, stream="stdout",
                             data=b"processed record %d on %s\\n" % (n, h.encode())))
    n += 1
    if n % 25 == 0:
        h = hosts[(n // 25) % 200]
        writer.put(ev.StepFinished(run_id=run, at=time.time(), stage="s", step="work", host=h, status="ok"))
        writer.put(ev.StepStarted(run_id=run, at=time.time(), stage="s", step="work", host=h))
    time.sleep(0.01)
writer.close()
print(n * 200)
"""


def _seed(store_path: Path) -> None:
    store = SQLiteStore(store_path)
    plan = [
        ev.StagePlan(
            name="s", strategy="parallel", steps=[ev.StepPlan(name="work", kind="run", hosts=HOSTS)]
        )
    ]
    store.create_run(
        ev.RunLaunched(
            run_id=RUN,
            at=time.time(),
            pipeline="flood",
            pipeline_digest="0" * 64,
            pipeline_path="p",
            inventory_path="i",
            inventory_digest="0" * 64,
            params={},
            targets=HOSTS,
            environments=[],
            operator="bench",
            stages=plan,
        ),
        "",
    )
    store.append([ev.RunStarted(run_id=RUN, at=time.time(), pid=1, node="bench")])
    store.close()


async def _measure(store_path: Path, presses: int) -> list[float]:
    app = make_app(
        load_config(ROOT / "sample_inventory.toml"), store_path, "bench", spawn=lambda *a: None
    )
    samples: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if RUN in app.runs:
                break
        app.show_run(RUN)
        await pilot.pause(0.5)
        matrix = app.query_one(RunMatrix)
        matrix.focus()
        for i in range(presses):
            before = matrix.cursor_coordinate.row
            start = time.perf_counter()
            await pilot.press("j" if i % 2 == 0 else "k")
            while matrix.cursor_coordinate.row == before:
                await asyncio.sleep(0.001)
            samples.append(time.perf_counter() - start)
            await pilot.pause(0.05)
    return samples


def run(presses: int, flood: bool) -> tuple[list[float], int]:
    """Latency samples in seconds, and how many output lines the runner wrote meanwhile."""
    folder = Path(tempfile.mkdtemp(prefix="tui-latency-"))
    store_path = folder / "store.db"
    _seed(store_path)
    runner = None
    if flood:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        runner = subprocess.Popen(
            [sys.executable, "-c", _RUNNER, str(store_path), RUN, str(presses * 0.2 + 8)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        time.sleep(1.0)
    samples = asyncio.run(_measure(store_path, presses))
    lines = 0
    if runner:
        runner.terminate()
        out, _ = runner.communicate()
        lines = int(out.strip() or 0)
    return samples, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    idle, _ = run(args.presses, flood=False)
    busy, _ = run(args.presses, flood=True)
    ms = lambda xs, q: statistics.quantiles(xs, n=20)[q] * 1000  # noqa: E731
    print("| store | median ms | p95 ms | max ms |\n|---|---:|---:|---:|")
    print(
        f"| idle | {statistics.median(idle) * 1000:.1f} | {ms(idle, 18):.1f} | {max(idle) * 1000:.1f} |"
    )
    print(
        f"| 200-host run flooding output | {statistics.median(busy) * 1000:.1f} | {ms(busy, 18):.1f} | "
        f"{max(busy) * 1000:.1f} |"
    )
    print(f"\n{args.presses} key presses each (j/k in the run matrix), headless under Pilot.")


if __name__ == "__main__":
    main()
