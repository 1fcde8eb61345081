"""Benchmarks: measured side by side, never asserted in tests (see bench/README.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
"""This checkout's opsconsole."""


def add_against(parser: argparse.ArgumentParser) -> None:
    """`--against SRC`: an earlier opsconsole (the `src` folder of a checkout of it, such as
    `git worktree add ../before HEAD~5`) measured beside this one in the same run."""
    parser.add_argument(
        "--against", type=Path, metavar="SRC", help="an earlier opsconsole's src folder"
    )
