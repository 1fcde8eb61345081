"""Masking benchmark: what the output filter costs on the output stream, side by side.

Each step's output passes through `OutputFilter` before it becomes an event whenever the
inventory has `[redact]` patterns or the pipeline uses secrets. Here 500,000 typical log
lines, in 10-line chunks as the transport hands them on, go through two secrets (one of them
multi-line), the sample inventory's `[redact]` patterns, and both. (Without either, output
does not pass through a filter at all.) Lines per second, medians of several rounds; the writer
alone sustains about 260k lines/s (bench/output.py), the figure the filter must stay well above.

Then one long line through the real sshd: a step prints an 80 MB line with no newline, run with
and without the sample's `[redact]` patterns; the run's wall time (median of the rounds) and the
runner's peak resident memory (the highest of the rounds, read from /proc).

    .venv/bin/python -m bench.masking --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tomllib
from pathlib import Path

from tests.conftest import write_estate
from tests.helpers import spawn_cli, state_of
from tests.integration.test_redact import _redact_table
from tests.pty import memory_kib
from tests.sshd import Sshd, start_sshd

from console.masking import Masks, forms
from console.redact import OutputFilter
from console.state import FINAL_RUN

ROOT = Path(__file__).resolve().parents[1]
LINES = 500_000
CHUNK = 10
LONG_LINE = 80_000_000
LINES_OF = {
    "x": f"head -c {LONG_LINE} /dev/zero | tr '\\\\0' x",
    "dense": f"yes 'MRN PID|x-' | tr -d '\\\\n' | head -c {LONG_LINE}",
}
"""The long lines: one that the patterns' literals never show up in, and one holding every
pattern's literal (`MRN`, `PID|`, `-`) every 10 bytes, which each pattern must search whole."""
LONG_CASES = {
    "none, a line of x": ("x", False),
    "the sample's patterns, a line of x": ("x", True),
    "none, a line of `MRN PID` and `x-` in turn": ("dense", False),
    "the sample's patterns, a line of `MRN PID` and `x-` in turn": ("dense", True),
}
LONG = """
name = "long"
targets = ["h1"]
[[stages]]
name = "s"
  [[stages.steps]]
  name = "line"
  run = "{}"
  timeout = "10m"
"""


def _chunks() -> list[bytes]:
    line = b"2026-11-28T09:00:05Z web-042 deploy: copied 1,204 files to /srv/ehr/releases/4.2.0\n"
    return [line * CHUNK] * (LINES // CHUNK)


def _rate(masks: Masks | None, patterns: dict[str, str]) -> float:
    chunks = _chunks()
    start = time.perf_counter()
    stream = OutputFilter(masks, patterns)
    for chunk in chunks:
        stream.feed(chunk)
    stream.finish()
    return LINES / (time.perf_counter() - start)


def long_line(root: Path, sshd: Sshd, line: str, redact: bool) -> tuple[float, int]:
    """Seconds one 80 MB line takes through a detached run, and the runner's peak MiB."""
    estate = write_estate(root, sshd, hosts=1, extra=_redact_table() if redact else "")
    estate.pipeline("long", LONG.format(LINES_OF[line]))
    launched = spawn_cli(estate, "run", "long", "--detach")
    assert launched.returncode == 0, launched.stderr
    run_id, peak, checked = launched.stdout.strip(), 0, 0.0
    state = state_of(estate, run_id)
    while state.status not in FINAL_RUN:
        peak = max(peak, _peak_kib(state.runner_pid or 0))
        time.sleep(0.02)
        if time.monotonic() - checked > 0.25:  # folding the run costs the runner's cores too
            state, checked = state_of(estate, run_id), time.monotonic()
    assert state.status == "succeeded", state.status
    return (state.finished_at or 0.0) - (state.started_at or 0.0), peak // 1024


def _peak_kib(pid: int) -> int:
    """A process's peak resident KiB so far; 0 once it has ended (a zombie has no figure)."""
    try:
        return memory_kib(pid, "VmHWM")
    except ValueError:
        return 0


def long_lines(rounds: int) -> dict[str, list[tuple[float, int]]]:
    """Rounds of each long-line case in turn."""
    with tempfile.TemporaryDirectory(prefix="masking-", ignore_cleanup_errors=True) as folder:
        root = Path(folder)
        sshd = start_sshd(root / "sshd")
        results: dict[str, list[tuple[float, int]]] = {name: [] for name in LONG_CASES}
        try:
            for n in range(rounds):
                for i, (name, case) in enumerate(LONG_CASES.items()):
                    results[name].append(long_line(root / f"{n}-{i}", sshd, *case))
        finally:
            sshd.process.terminate()
            sshd.process.wait(10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("lines", "long"), help="run one of the two tables")
    args = parser.parse_args()
    if args.only != "long":
        lines_table(args.rounds)
    if args.only != "lines":
        long_table(args.rounds)


def lines_table(rounds: int) -> None:
    """The lines/s table for bench/README.md."""
    sample = tomllib.loads((ROOT / "sample_inventory.toml").read_text())["redact"]
    secrets = Masks.of(forms("db", "pa55-w/rd&z%9!xyzzy") + forms("key", "first-line\nsecond-line"))
    cases = {
        "two secrets": (secrets, {}),
        "the sample's [redact] patterns": (None, sample),
        "[redact] and two secrets": (secrets, sample),
    }
    rates = {name: [_rate(*case) for _ in range(rounds)] for name, case in cases.items()}
    print("| output passes through | lines/s median | min | max |\n|---|---:|---:|---:|")
    for name, values in rates.items():
        print(
            f"| {name} | {statistics.median(values):,.0f} | {min(values):,.0f} | {max(values):,.0f} |"
        )


def long_table(rounds: int) -> None:
    """The long-line table for bench/README.md."""
    results = long_lines(rounds)
    print(f"\n{rounds} rounds; one {LONG_LINE // 10**6} MB line with no newline, through sshd\n")
    print("| [redact], line | run s median | min | max | runner peak MiB (max) |")
    print("|---|---:|---:|---:|---:|")
    for name, rows in results.items():
        seconds = [s for s, _ in rows]
        print(
            f"| {name} | {statistics.median(seconds):.2f} | {min(seconds):.2f} | "
            f"{max(seconds):.2f} | {max(p for _, p in rows)} |"
        )


if __name__ == "__main__":
    main()
