"""Masking benchmark: what the output filter costs on the output stream, side by side.

Each step's output passes through `OutputFilter` before it becomes an event whenever the
inventory has `[redact]` patterns or the pipeline uses secrets. Here 500,000 typical log
lines, in 10-line chunks as the transport hands them on, go through two secrets (one of them
multi-line), the sample inventory's `[redact]` patterns, and both. (Without either, output
does not pass through a filter at all.) Lines per second, medians of several rounds; the writer alone sustains
about 260k lines/s (bench/output.py), the figure the filter must stay well above.

    .venv/bin/python -m bench.masking --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
import tomllib
from pathlib import Path

from console.redact import OutputFilter
from console.secrets import Masks, forms

ROOT = Path(__file__).resolve().parents[1]
LINES = 500_000
CHUNK = 10


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sample = tomllib.loads((ROOT / "sample_inventory.toml").read_text())["redact"]
    secrets = Masks.of(forms("db", "pa55-w/rd&z%9!xyzzy") + forms("key", "first-line\nsecond-line"))
    cases = {
        "two secrets": (secrets, {}),
        "the sample's [redact] patterns": (None, sample),
        "[redact] and two secrets": (secrets, sample),
    }
    rates = {name: [_rate(*case) for _ in range(args.rounds)] for name, case in cases.items()}
    print("| output passes through | lines/s median | min | max |\n|---|---:|---:|---:|")
    for name, values in rates.items():
        print(
            f"| {name} | {statistics.median(values):,.0f} | {min(values):,.0f} | {max(values):,.0f} |"
        )


if __name__ == "__main__":
    main()
