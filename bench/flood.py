"""Flood benchmark: one host printing 1 GB (a 100 MB line among it) while the console is open
on the run, side by side with a quiet run of the same length, in one session.

Three hosts on the local sshd; in the flood run h1 prints 900 MB of lines, invalid UTF-8 and
a 100 MB line without a newline, while h2 and h3 print a line every 0.2 s until it is done;
in the quiet run h1 only waits. The console is open on a real pty on the run view; `j`/`k`
move between h1 and h2 and each press is timed until the logs pane names the new cell. The
runner's and the console's peak resident memory come from /proc. Rounds alternate.

Then many hosts at once: 500 hosts each printing 4 MB of lines as fast as they can, beside
one host printing the same 2 GB, each run timed and the runner's peak read from /proc: what
the runner holds must not grow with the number of hosts flooding.

    .venv/bin/python -m bench.flood --rounds 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import write_estate
from tests.helpers import spawn_cli, state_of
from tests.integration.test_flood import (
    LINES_BYTES,
    LONG_LINE,
    run_many,
    write_flood,
    write_many,
)
from tests.pty import Terminal, memory_kib
from tests.sshd import Sshd, start_sshd

from console.state import FINAL_RUN

VENV_BIN = Path(sys.executable).parent
QUIET_SECONDS = 10
MANY = ((500, 4_000_000), (1, 2_000_000_000))
"""(hosts, bytes each) of the many-hosts runs: the same total either way."""


@dataclass
class Result:
    """One run: its length, the console's key latencies, and the two processes' peaks."""

    seconds: float
    keys: list[float]
    runner_mib: int
    console_mib: int


def one_run(root: Path, sshd: Sshd, flood: bool) -> Result:
    """Launch one run detached, time keys in a console open on it, and read the peaks."""
    estate = write_estate(root, sshd)
    if flood:
        write_flood(estate)
    else:
        write_flood(estate, lines=0, long=0, pause=QUIET_SECONDS)
    run_id = spawn_cli(estate, "run", "flood", "--detach").stdout.strip()
    where = ["--inventory", str(estate.inventory), "--store", str(estate.store)]
    term = Terminal([str(VENV_BIN / "opsconsole"), *where], XDG_CONFIG_HOME=str(root / "cfg"))
    samples: list[float] = []
    runner_peak = 0
    try:
        term.wait_for("Quit", term.started)
        time.sleep(0.5)
        term.wait_for("output of", term.press("\t\r"), timeout=20)
        time.sleep(0.5)
        term.wait_for("h1 · flood", term.press("l"), timeout=20)
        host = "h1"
        while (state := state_of(estate, run_id)).status not in FINAL_RUN:
            runner_peak = max(runner_peak, memory_kib(state.runner_pid or 0, "VmHWM"))
            key, host = ("j", "h2") if host == "h1" else ("k", "h1")
            sent = term.press(key)
            samples.append(term.wait_for(f"{host} · flood", sent, timeout=30) - sent)
            time.sleep(0.2)
        console_peak = term.memory_kib("VmHWM")
    finally:
        term.close()
    seconds = (state.finished_at or 0.0) - (state.started_at or 0.0)
    return Result(seconds, samples, runner_peak // 1024, console_peak // 1024)


def many_run(root: Path, sshd: Sshd, hosts: int, each: int) -> tuple[float, int]:
    """Seconds for `hosts` hosts each printing `each` bytes at once, and the runner's peak MiB."""
    estate = write_estate(root, sshd, hosts=hosts)
    write_many(estate, each)
    state, peak = run_many(estate)
    assert state.status == "succeeded", state.status
    shutil.rmtree(root)  # gigabytes each
    return (state.finished_at or 0.0) - (state.started_at or 0.0), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="flood-"))
    sshd = start_sshd(root / "sshd")
    results: dict[bool, list[Result]] = {False: [], True: []}
    many: dict[tuple[int, int], list[tuple[float, int]]] = {m: [] for m in MANY}
    try:
        for n in range(args.rounds):
            for flood in (False, True):
                results[flood].append(one_run(root / f"{n}-{flood}", sshd, flood))
        for n in range(args.rounds):
            for hosts, each in MANY:
                many[hosts, each].append(many_run(root / f"many-{n}-{hosts}", sshd, hosts, each))
    finally:
        sshd.process.terminate()
    report(args.rounds, results)
    report_many(many)


def report(rounds: int, results: dict[bool, list[Result]]) -> None:
    """The table for bench/README.md."""
    size = (LINES_BYTES + LONG_LINE) / 1e9
    print(
        f"{rounds} rounds; flood: {size:.1f} GB from h1, a {LONG_LINE // 10**6} MB line among it\n"
    )
    print(
        "| run | run s (median) | keys | median ms | p95 ms | p99 ms | max ms | runner peak MiB | console peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for flood, rows in results.items():
        keys = sorted(k for r in rows for k in r.keys)
        ms = [keys[min(len(keys) - 1, int(len(keys) * q))] * 1000 for q in (0.5, 0.95, 0.99)]
        print(
            f"| {'1 GB flood' if flood else 'quiet'} | "
            f"{statistics.median(r.seconds for r in rows):.1f} | {len(keys)} | "
            f"{ms[0]:.1f} | {ms[1]:.1f} | {ms[2]:.1f} | {keys[-1] * 1000:.1f} | "
            f"{max(r.runner_mib for r in rows)} | {max(r.console_mib for r in rows)} |"
        )


def report_many(many: dict[tuple[int, int], list[tuple[float, int]]]) -> None:
    """The many-hosts table for bench/README.md."""
    print("\n| hosts flooding at once | bytes each | run s (median) | runner peak MiB (max) |")
    print("|---:|---:|---:|---:|")
    for (hosts, each), rows in many.items():
        print(
            f"| {hosts} | {each / 1e6:,.0f} MB | {statistics.median(r[0] for r in rows):.1f} | "
            f"{max(r[1] for r in rows)} |"
        )


if __name__ == "__main__":
    main()
