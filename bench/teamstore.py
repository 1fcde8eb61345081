"""The team store beside a SQLite file, in one run: output lines stored per second through the
batch writer (a run's output path), medians of several rounds, every line counted after.

The PostgreSQL cluster is a private one in a temporary folder (as the tests start), on this
machine's disk with fsync on: what a bastion running its own database would see.

    .venv/bin/python -m bench.teamstore --rounds 5 --lines 300000
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.pg import start_cluster
from tests.unit.test_state import _launched

from console import events as ev
from console.identity import current_operator
from console.store import open_store, pgadmin
from console.store.writer import BatchWriter


def _line(run: str, i: int) -> ev.Output:
    return ev.Output(
        run_id=run,
        at=time.time(),
        stage="s",
        step="x",
        host=f"h{i % 100}",
        stream="stdout",
        data=b"line %d of the flood, as long as a typical log line\n" % i,
    )


def writer_alone(where: str | Path, run: str, lines: int) -> float:
    """Lines per second through the batch writer into a new run; every line checked stored."""
    with open_store(where) as store:
        launched = _launched()
        store.create_run(ev.RunLaunched(**{**vars(launched), "run_id": run}), "")
    events = [_line(run, i) for i in range(lines)]
    writer = BatchWriter(open_store(where))
    start = time.perf_counter()
    for event in events:
        writer.put(event)
    writer.flush()
    took = time.perf_counter() - start
    writer.close()
    with open_store(where) as store:
        stored = len(store.read(run, kinds=("output",)))
    assert stored == lines, f"{stored} of {lines} lines stored"
    return lines / took


def fanout_events(where: str | Path, run: str, hosts: int = 200, steps: int = 5) -> float:
    """Events per second appended in a fan-out's pattern: each host's step starting, its line
    of output and its end, interleaved, 40 to a batch as a runner's writer sends them."""
    with open_store(where) as store:
        launched = _launched()
        store.create_run(ev.RunLaunched(**{**vars(launched), "run_id": run}), "")
    events: list[ev.Event] = []
    for n in range(steps):
        for i in range(hosts):
            place = {"run_id": run, "at": time.time(), "stage": "s", "step": f"x{n}"}
            events += [
                ev.StepStarted(**place, host=f"h{i}"),
                ev.Output(**place, host=f"h{i}", stream="stdout", data=b"fanout\n"),
                ev.StepFinished(**place, host=f"h{i}", status="ok", exit_code=0),
            ]
    with open_store(where) as store:
        start = time.perf_counter()
        for k in range(0, len(events), 40):
            store.append(events[k : k + 40])
        took = time.perf_counter() - start
        stored = len(store.read(run))
    assert stored == len(events) + 1, f"{stored} of {len(events) + 1} events stored"
    return len(events) / took


KILLED_CHILD = """
import sys, time
from console import events as ev
from console.paths import store_address
from console.store import open_store
writer = open_store(store_address(sys.argv[1])).writer()
print("ready", flush=True)
i = 0
while True:
    writer.put(ev.Output(run_id=sys.argv[2], at=time.time(), stage="s", step="x", host="h",
                         stream="stdout", data=b"line %d\\n" % i))
    i += 1
    if i % 200 == 0:
        time.sleep(0.001)
"""


def sigkill_loss(where: str | Path, run: str) -> float:
    """Milliseconds of output lost when a writing process is killed with SIGKILL: from the
    newest line stored to the moment of the kill."""
    with open_store(where) as store:
        launched = _launched()
        store.create_run(ev.RunLaunched(**{**vars(launched), "run_id": run}), "")
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(where), run], stdout=subprocess.PIPE
    )
    assert child.stdout and child.stdout.readline().strip() == b"ready"
    time.sleep(1.0)
    killed_at = time.time()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with open_store(where) as store:
        newest = max(e.event.at for e in store.read(run, kinds=("output",)))
    return (killed_at - newest) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lines", type=int, default=300_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-team-"))
    cluster = start_cluster(folder / "pg", durable=True)
    try:
        pgadmin.init(cluster.dsn())
        pgadmin.grant(cluster.dsn(), current_operator())
        stores: dict[str, str | Path] = {
            "SQLite file": folder / "s.db",
            "PostgreSQL team store": cluster.dsn(user=current_operator()),
        }
        rates: dict[str, list[float]] = {name: [] for name in stores}
        lost: dict[str, list[float]] = {name: [] for name in stores}
        fanned: dict[str, list[float]] = {name: [] for name in stores}
        for r in range(args.rounds):  # alternating, so that drift hits both alike
            for name, where in stores.items():
                rates[name].append(writer_alone(where, f"r{r}", args.lines))
                lost[name].append(sigkill_loss(where, f"k{r}"))
                fanned[name].append(fanout_events(where, f"f{r}"))
        print(f"{args.lines:,} output lines through the batch writer, {args.rounds} rounds\n")
        print("| store | median lines/s | min | max | SIGKILL loses, median ms | worst ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, found in rates.items():
            print(
                f"| {name} | {statistics.median(found):,.0f} | {min(found):,.0f} | "
                f"{max(found):,.0f} | {statistics.median(lost[name]):.0f} | "
                f"{max(lost[name]):.0f} |"
            )
        print("\nA 200-host, 5-step fan-out's 3,000 events (start, a line, end), 40 at a time\n")
        print("| store | median events/s | min | max |")
        print("|---|---:|---:|---:|")
        for name, found in fanned.items():
            print(
                f"| {name} | {statistics.median(found):,.0f} | {min(found):,.0f} | "
                f"{max(found):,.0f} |"
            )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
