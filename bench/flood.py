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

`--against SRC` runs every case again with an earlier opsconsole (the `src` folder of a
checkout of it), rounds alternating between the two: before and after a change, side by side.
Run state is read from the store with plain SQL, so that neither version's store is touched
by the other's code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import Estate, write_estate
from tests.integration.test_flood import LINES_BYTES, LONG_LINE, write_flood, write_many
from tests.pty import Terminal, memory_kib
from tests.sshd import Sshd, start_sshd

from bench import SRC, add_against

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


@dataclass(frozen=True)
class Code:
    """Which opsconsole a case runs: this checkout's, or an earlier one's `src`."""

    label: str
    src: Path | None = None

    def env(self) -> dict[str, str]:
        """The environment its processes start with."""
        src = self.src or SRC
        return {**os.environ, "PYTHONPATH": str(src.resolve())}

    def command(self, estate: Estate, *args: str) -> list[str]:
        """`opsconsole ARGS` of this version against the estate."""
        return [sys.executable, "-m", "console", *estate.cli(*args)]


@dataclass(frozen=True)
class Progress:
    """What the benchmark reads of a run: its runner, and when it started and ended."""

    pid: int
    started: float | None
    finished: float | None


def progress(estate: Estate, run_id: str) -> Progress:
    """A run's runner and times, read with plain SQL from the store, read-only."""
    db = sqlite3.connect(f"file:{estate.store}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT kind, at, data FROM events WHERE run_id = ? AND kind IN "
            "('run_started', 'run_finished') ORDER BY id",
            (run_id,),
        ).fetchall()
    finally:
        db.close()
    started = next((r for r in rows if r[0] == "run_started"), None)
    finished = next((r for r in rows if r[0] == "run_finished"), None)
    pid = int(json.loads(started[2])["pid"]) if started else 0
    return Progress(pid, started[1] if started else None, finished[1] if finished else None)


def launch(code: Code, estate: Estate, pipeline: str) -> str:
    """Launch a pipeline detached with this version; its run id."""
    done = subprocess.run(
        code.command(estate, "run", pipeline, "--detach"),
        capture_output=True,
        text=True,
        env=code.env(),
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout.strip()


def one_run(root: Path, sshd: Sshd, flood: bool, code: Code) -> Result:
    """Launch one run detached, time keys in a console open on it, and read the peaks."""
    estate = write_estate(root, sshd)
    if flood:
        write_flood(estate)
    else:
        write_flood(estate, lines=0, long=0, pause=QUIET_SECONDS)
    run_id = launch(code, estate, "flood")
    env = code.env() | {"XDG_CONFIG_HOME": str(root / "cfg")}
    term = Terminal(code.command(estate), **env)
    samples: list[float] = []
    runner_peak = 0
    try:
        term.wait_for("Quit", term.started)
        time.sleep(0.5)
        term.wait_for("output of", term.press("\t\r"), timeout=20)
        time.sleep(0.5)
        term.wait_for("h1 · flood", term.press("l"), timeout=20)
        host = "h1"
        while (now := progress(estate, run_id)).finished is None:
            runner_peak = max(runner_peak, memory_kib(now.pid, "VmHWM"))
            key, host = ("j", "h2") if host == "h1" else ("k", "h1")
            sent = term.press(key)
            samples.append(term.wait_for(f"{host} · flood", sent, timeout=30) - sent)
            time.sleep(0.2)
        console_peak = term.memory_kib("VmHWM")
    finally:
        term.close()
    seconds = (now.finished or 0.0) - (now.started or 0.0)
    return Result(seconds, samples, runner_peak // 1024, console_peak // 1024)


def many_run(root: Path, sshd: Sshd, hosts: int, each: int, code: Code) -> tuple[float, int]:
    """Seconds for `hosts` hosts each printing `each` bytes at once, and the runner's peak MiB."""
    estate = write_estate(root, sshd, hosts=hosts)
    write_many(estate, each)
    run_id, peak = launch(code, estate, "many"), 0
    while (now := progress(estate, run_id)).finished is None:
        peak = max(peak, memory_kib(now.pid, "VmHWM") // 1024)
        time.sleep(0.1)
    shutil.rmtree(root)  # gigabytes each
    return (now.finished or 0.0) - (now.started or 0.0), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    add_against(parser)
    args = parser.parse_args()
    codes = [Code("now")] + ([Code("before", args.against)] if args.against else [])
    root = Path(tempfile.mkdtemp(prefix="flood-"))
    sshd = start_sshd(root / "sshd")
    results: dict[tuple[str, bool], list[Result]] = {
        (c.label, f): [] for c in codes for f in (False, True)
    }
    many: dict[tuple[str, int, int], list[tuple[float, int]]] = {
        (c.label, *m): [] for c in codes for m in MANY
    }
    try:
        for n in range(args.rounds):
            for code in codes if n % 2 == 0 else codes[::-1]:
                for flood in (False, True):
                    where = root / f"{n}-{code.label}-{flood}"
                    results[code.label, flood].append(one_run(where, sshd, flood, code))
        for n in range(args.rounds):
            for code in codes if n % 2 == 0 else codes[::-1]:
                for hosts, each in MANY:
                    where = root / f"many-{n}-{code.label}-{hosts}"
                    many[code.label, hosts, each].append(many_run(where, sshd, hosts, each, code))
    finally:
        sshd.process.terminate()
    report(args.rounds, results)
    report_many(many)


def report(rounds: int, results: dict[tuple[str, bool], list[Result]]) -> None:
    """The table for bench/README.md."""
    size = (LINES_BYTES + LONG_LINE) / 1e9
    print(
        f"{rounds} rounds; flood: {size:.1f} GB from h1, a {LONG_LINE // 10**6} MB line among it\n"
    )
    print(
        "| code | run | run s (median) | keys | median ms | p95 ms | p99 ms | max ms | runner peak MiB | console peak MiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (label, flood), rows in results.items():
        keys = sorted(k for r in rows for k in r.keys)
        ms = [keys[min(len(keys) - 1, int(len(keys) * q))] * 1000 for q in (0.5, 0.95, 0.99)]
        print(
            f"| {label} | {'1 GB flood' if flood else 'quiet'} | "
            f"{statistics.median(r.seconds for r in rows):.1f} | {len(keys)} | "
            f"{ms[0]:.1f} | {ms[1]:.1f} | {ms[2]:.1f} | {keys[-1] * 1000:.1f} | "
            f"{max(r.runner_mib for r in rows)} | {max(r.console_mib for r in rows)} |"
        )


def report_many(many: dict[tuple[str, int, int], list[tuple[float, int]]]) -> None:
    """The many-hosts table for bench/README.md."""
    print(
        "\n| code | hosts flooding at once | bytes each | run s (median) | runner peak MiB (max) |"
    )
    print("|---|---:|---:|---:|---:|")
    for (label, hosts, each), rows in many.items():
        print(
            f"| {label} | {hosts} | {each / 1e6:,.0f} MB | "
            f"{statistics.median(r[0] for r in rows):.1f} | "
            f"{max(r[1] for r in rows)} |"
        )


if __name__ == "__main__":
    main()
