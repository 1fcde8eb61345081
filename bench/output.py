"""Output benchmark: the store's writer alone, a flood through real SSH, and loss on SIGKILL.

1. Writer alone: one-line output events through the batch writer, against one commit per line.
2. Flood: `opsconsole run` of a step printing 10,000 lines on each of 100 hosts; every line
   must land in the store.
3. SIGKILL: a process appends output events stamped with the time; it is killed at a known
   moment and the newest stored stamp says how much was lost.

    .venv/bin/python -m bench.output --rounds 5
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.sshd import start_sshd
from tests.unit.test_state import _launched

from console import events as ev
from console.store.sqlite import SQLiteStore
from console.store.writer import BatchWriter

VENV_BIN = Path(sys.executable).parent


def _line(i: int, at: float = 0.0) -> ev.Output:
    return ev.Output(
        run_id="r",
        at=at,
        stage="s",
        step="x",
        host=f"h{i % 100}",
        stream="stdout",
        data=b"line %d of the flood, as long as a typical log line\n" % i,
    )


def writer_alone(lines: int) -> float:
    """Lines per second through the batch writer (events made up front, so only writing is timed)."""
    folder = Path(tempfile.mkdtemp())
    SQLiteStore(folder / "s.db").create_run(_launched(), "")
    events = [_line(i) for i in range(lines)]
    writer = BatchWriter(SQLiteStore(folder / "s.db"))
    start = time.perf_counter()
    for event in events:
        writer.put(event)
    writer.flush()
    took = time.perf_counter() - start
    writer.close()
    return lines / took


def commit_per_line(lines: int) -> float:
    """Lines per second with one transaction per line, the way batching avoids."""
    folder = Path(tempfile.mkdtemp())
    store = SQLiteStore(folder / "s.db")
    store.create_run(_launched(), "")
    start = time.perf_counter()
    for i in range(lines):
        store.append([_line(i)])
    return lines / (time.perf_counter() - start)


def flood(hosts: int, lines: int) -> tuple[float, int]:
    """Seconds for `opsconsole run` of `seq` on every host, and the lines that reached the store."""
    folder = Path(tempfile.mkdtemp(prefix="flood-"))
    sshd = start_sshd(folder / "sshd")
    try:
        (folder / "pipelines").mkdir()
        inv = [
            "[inventory]",
            'name = "flood"',
            "[ssh]",
            f'user = "{sshd.user}"',
            f'known_hosts = "{sshd.known_hosts}"',
            f'identity_file = "{sshd.client_key}"',
            "[groups.all]",
        ]
        for i in range(hosts):
            inv += [
                f"[hosts.h{i}]",
                'address = "127.0.0.1"',
                f"port = {sshd.port}",
                'groups = ["all"]',
            ]
        (folder / "inventory.toml").write_text("\n".join(inv) + "\n")
        (folder / "pipelines" / "flood.toml").write_text(
            f'name = "flood"\ntargets = ["all"]\n[[stages]]\nname = "s"\n  [[stages.steps]]\n'
            f'  name = "seq"\n  run = "seq {lines}"\n'
        )
        start = time.perf_counter()
        subprocess.run(
            [
                str(VENV_BIN / "opsconsole"),
                "run",
                "flood",
                "--plain",
                "--inventory",
                str(folder / "inventory.toml"),
                "--store",
                str(folder / "store.db"),
            ],
            check=True,
            capture_output=True,
        )
        took = time.perf_counter() - start
        db = sqlite3.connect(folder / "store.db")
        stored = sum(
            blob.count(b"\n")
            for (blob,) in db.execute("SELECT blob FROM events WHERE kind = 'output'")
        )
        return took, stored
    finally:
        sshd.process.terminate()


_FLOOD_CHILD = """
import sys, time
from pathlib import Path
from console import events as ev
from console.store.writer import BatchWriter
from console.store.sqlite import SQLiteStore
writer = BatchWriter(SQLiteStore(Path(sys.argv[1])))
print("ready", flush=True)
i = 0
while True:
    writer.put(ev.Output(run_id="r", at=time.time(), stage="s", step="x", host="h", stream="stdout",
                         data=b"line %d\\n" % i))
    i += 1
    if i % 200 == 0:
        time.sleep(0.001)
"""


def sigkill_loss() -> float:
    """Seconds of output lost when a writing process is killed with SIGKILL."""
    folder = Path(tempfile.mkdtemp())
    SQLiteStore(folder / "s.db").create_run(_launched(), "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", _FLOOD_CHILD, str(folder / "s.db")], stdout=subprocess.PIPE, env=env
    )
    assert child.stdout and child.stdout.readline().strip() == b"ready"
    time.sleep(1.0)
    killed_at = time.time()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    db = sqlite3.connect(folder / "s.db")
    newest = db.execute("SELECT MAX(at) FROM events WHERE kind = 'output'").fetchone()[0]
    return killed_at - newest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()
    batched = [writer_alone(500_000) for _ in range(args.rounds)]
    single = [commit_per_line(5_000) for _ in range(args.rounds)]
    losses = [sigkill_loss() for _ in range(args.rounds)]
    floods = [flood(args.hosts, args.lines) for _ in range(args.rounds)]
    expected = args.hosts * args.lines
    med = statistics.median
    print("| measure | median | min | max |\n|---|---:|---:|---:|")
    print(
        f"| writer alone, batched (lines/s) | {med(batched):,.0f} | {min(batched):,.0f} | {max(batched):,.0f} |"
    )
    print(
        f"| one commit per line (lines/s) | {med(single):,.0f} | {min(single):,.0f} | {max(single):,.0f} |"
    )
    print(f"| batched ÷ per-line | {med(batched) / med(single):.0f}× | | |")
    print(
        f"| output lost on SIGKILL (ms) | {med(losses) * 1000:.0f} | {min(losses) * 1000:.0f} | "
        f"{max(losses) * 1000:.0f} |"
    )
    times = [t for t, _ in floods]
    print(
        f"| {args.hosts} hosts × {args.lines:,} lines, `opsconsole run` (s) | {med(times):.2f} | {min(times):.2f} | "
        f"{max(times):.2f} |"
    )
    print(
        f"| lines in the store (of {expected:,}) | {med([n for _, n in floods]):,.0f} | "
        f"{min(n for _, n in floods):,} | {max(n for _, n in floods):,} |"
    )
    print(f"\n{args.rounds} rounds each.")


if __name__ == "__main__":
    main()
