"""Commands that read runs: runs, show, logs, export and replay. None of them writes."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from console.cli.options import RUN_HELP
from console.errors import UsageError
from console.settings import Settings


def print_json(data: object) -> None:
    """Print a JSON document."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def configure_runs(p: argparse.ArgumentParser) -> None:
    """How many, and how."""
    _json_option(p)
    p.add_argument("--last", type=int, default=50, metavar="N", help="how many runs (default 50)")


def runs(args: argparse.Namespace, settings: Settings) -> int:
    """List runs, newest first."""
    from console.ops.runs import read_state
    from console.render import show as report
    from console.store import open_store

    with open_store(settings.store) as store:
        states = [read_state(store, r.id) for r in store.runs(limit=args.last)]
        where = store.location
    if args.json:
        drop = ("steps", "gates")
        print_json([{k: v for k, v in report.run_json(s).items() if k not in drop} for s in states])
    elif states:
        print(report.runs_table(states))
    else:
        print(f"no runs yet in {where}")
    return 0


def configure_show(p: argparse.ArgumentParser) -> None:
    """Which run, and when."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument(
        "--at",
        metavar="TIME",
        help="the state at a moment: an ISO 8601 time (UTC unless it says otherwise) "
        "or a time from the launch such as +90s",
    )
    _json_option(p)


def show(args: argparse.Namespace, settings: Settings) -> int:
    """A run's state: each step on each host, its gates and their decisions."""
    from console.ops.config import operators
    from console.ops.runs import read_state, state_at
    from console.render import show as report
    from console.store import open_store

    with open_store(settings.store) as store:
        state = state_at(store, args.run, args.at) if args.at else read_state(store, args.run)
    judged_with = operators(settings)
    if args.json:
        print_json(report.run_json(state, judged_with))
    else:
        print(report.show_text(state, judged_with))
    return 0


def configure_logs(p: argparse.ArgumentParser) -> None:
    """Which run and host, and whether to follow."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--host", help="only this host's output")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing until the run ends")
    p.description = (
        "Print a run's output, sanitized. On a terminal a line is cut at 4,000 characters "
        "with a mark; redirected to a file or a pipe, every character is kept."
    )


def logs(args: argparse.Namespace, settings: Settings) -> int:
    """Print a run's output, sanitized, in windows; with --follow, until the run ends."""
    from console import events as ev
    from console.ops.runs import read_state
    from console.render.labelled import LabelledOutput
    from console.state import FINAL_RUN
    from console.store import open_store

    terminal = sys.stdout.isatty()
    colour = terminal and "NO_COLOR" not in os.environ
    labelled = LabelledOutput(colour, cap=terminal)  # a file or a pipe gets every character
    with open_store(settings.store) as store:
        run_id, after = store.resolve_run(args.run), 0
        while True:
            kinds = (ev.Output.kind, ev.StepFinished.kind)  # output, and why a step failed
            batch = store.read(run_id, after, kinds=kinds, host=args.host, limit=5000)
            for stored in batch:
                if isinstance(stored.event, ev.Output):
                    sys.stdout.writelines(f"{line}\n" for line in labelled.lines(stored.event))
                elif isinstance(stored.event, ev.StepFinished):
                    why = labelled.reason(stored.event)
                    sys.stdout.write(f"{why}\n" if why else "")
            sys.stdout.flush()
            after = batch[-1].id if batch else after
            if len(batch) == 5000:
                continue
            if not args.follow or read_state(store, run_id).status in FINAL_RUN | {"interrupted"}:
                return 0
            time.sleep(0.25)


def configure_export(p: argparse.ArgumentParser) -> None:
    """Which run, in which format, where."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument(
        "--format",
        choices=("cast", "md", "html"),
        required=True,
        help="cast: the output as an asciicast v2 recording with the real timing; "
        "md or html: a report for the change record (stages, hosts, approvals, outcome)",
    )
    p.add_argument("--host", help="cast only: this host's output alone")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")


def export(args: argparse.Namespace, settings: Settings) -> int:
    """Write a run's output as a recording, or a report for the change record."""
    from console.files import write_whole
    from console.ops.config import operators
    from console.ops.runs import read_state
    from console.render import report
    from console.render.cast import cast_lines
    from console.store import open_store

    if args.host and args.format != "cast":
        raise UsageError(
            "--host narrows a recording to one host's output: use it with --format cast"
        )
    with open_store(settings.store) as store:
        run_id = store.resolve_run(args.run)
        if args.format == "cast":
            lines: Iterable[str] = cast_lines(store, run_id, args.host)
        else:
            render = report.markdown if args.format == "md" else report.to_html
            lines = render(read_state(store, run_id), operators(settings)).splitlines()
        if args.out is None:
            sys.stdout.writelines(f"{line}\n" for line in lines)
            return 0
        write_whole(Path(args.out), (f"{line}\n" for line in lines))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def configure_replay(p: argparse.ArgumentParser) -> None:
    """Which run, how fast."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument(
        "--speed",
        choices=("1", "2", "4", "16", "max"),
        default="1",
        help="how fast it plays (keys + and - change it): times real time, or max",
    )


def replay(args: argparse.Namespace, settings: Settings) -> int:
    """Play a stored run back in the full-screen run view."""
    from console.store import open_store
    from console.ui.screens.replay import ReplayApp
    from console.ui.themes import check_theme

    check_theme(settings.theme)
    with open_store(settings.store) as store:
        run_id = store.resolve_run(args.run)
    speed = float("inf") if args.speed == "max" else float(args.speed)
    ReplayApp(settings.store, run_id, speed, settings.theme).run()
    return 0


def configure_host(p: argparse.ArgumentParser) -> None:
    """Which host, and how much history."""
    p.add_argument("host", help="the host's name in the inventory")
    p.add_argument(
        "--runs", type=int, default=200, metavar="N", help="how many recent runs to read (200)"
    )
    _json_option(p)


def host(args: argparse.Namespace, settings: Settings) -> int:
    """A host: its place in the inventory, its route and trusted keys, and each step's last
    result on it across runs."""
    from console.ops import hosts
    from console.ops.config import load
    from console.render.host import history_text, host_json, host_text
    from console.store import open_store

    view = hosts.describe(load(settings), args.host)
    with open_store(settings.store) as store:
        found, read = hosts.history(store, args.host, args.runs)
    if args.json:
        print_json(host_json(view, found, read))
    else:
        print(host_text(view))
        print()
        print(history_text(found, read))
    return 0


COMMANDS = [
    ("runs", "list runs", configure_runs, runs),
    ("show", "show a run's state", configure_show, show),
    ("logs", "print a run's output", configure_logs, logs),
    ("replay", "play a run back as it happened, full screen", configure_replay, replay),
    (
        "export",
        "write a run's output as a recording, or a report for the change record",
        configure_export,
        export,
    ),
    ("host", "describe a host and each step's last result on it", configure_host, host),
]
