"""Commands that start or stop changes: validate, run, rerun, resume, cancel, and the hidden
command a detached runner executes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from console.cli.options import (
    RUN_HELP,
    add_confirm,
    add_execution_options,
    add_launch_options,
    confirmed,
    typed,
)
from console.settings import Settings

if TYPE_CHECKING:  # the rest is imported where it is used, so that `--help` stays quick
    from console.engine.plan import RunPlan
    from console.ops.runner import Display

EXIT_STATUS = {"succeeded": 0, "failed": 1, "rejected": 1, "expired": 1, "cancelled": 130}
"""The exit status of a command that ran a run, by how the run ended."""


def configure_validate(p: argparse.ArgumentParser) -> None:
    """No options of its own."""


def validate(args: argparse.Namespace, settings: Settings) -> int:
    """Load the inventory and every pipeline, saying what was found."""
    from console.ops.config import load

    config = load(settings)
    inv = config.inventory
    print(
        f"{config.source.path}: ok — {len(inv.hosts)} hosts, {len(inv.groups)} groups, "
        f"{len(inv.environments)} environments, {len(config.pipelines)} pipelines"
    )
    for name, pf in sorted(config.pipelines.items()):
        print(f"  {name:28} {pf.source.path.name}")
    return 0


def configure_run(p: argparse.ArgumentParser) -> None:
    """The pipeline and how to launch it."""
    p.add_argument("pipeline", help="the pipeline's name")
    add_launch_options(p)
    add_execution_options(p)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Launch a pipeline, here or detached."""
    from console.model.params import parse_assignments
    from console.ops import launch
    from console.ops.config import load

    config = load(settings)
    params = parse_assignments(args.param or [])
    planned = launch.plan(config, args.pipeline, params, settings.operator, args.limit, args.env)
    return _start(planned, args, settings)


def _start(planned: RunPlan, args: argparse.Namespace, settings: Settings) -> int:
    """Ask for a production launch's typed confirmation, then launch, detached or here."""
    from console.ops import launch
    from console.policy import typed_confirmation

    typed(typed_confirmation(planned.config.inventory, planned.environments()), args.confirm)
    if args.detach:
        print(launch.launch(settings.store, planned, args.accept_new_host_keys))
        return 0
    print(
        f"run {planned.run_id}: {planned.pipeline.name} on {len(planned.hosts)} host(s)", flush=True
    )
    shown = progress(sys.stdout.isatty() and not args.plain)
    status = asyncio.run(
        launch.launch_here(settings.store, planned, args.accept_new_host_keys, shown)
    )
    return EXIT_STATUS.get(status, 1)


def progress(rich: bool) -> Display:
    """How a run executing here shows its progress: bars on a terminal, plain lines otherwise."""
    from console.render.progress import PlainProgress, RichProgress

    return RichProgress if rich else PlainProgress


def configure_rerun(p: argparse.ArgumentParser) -> None:
    """Which run, which hosts, which version of its pipeline."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument(
        "--failed", action="store_true", help="only the hosts that failed or were unreachable"
    )
    version = p.add_mutually_exclusive_group()
    version.add_argument(
        "--stored",
        dest="version",
        action="store_const",
        const="stored",
        help="when the pipeline file changed since, run the pipeline as that run ran it",
    )
    version.add_argument(
        "--use-current",
        dest="version",
        action="store_const",
        const="current",
        help="when the pipeline file changed since, run it as it is now",
    )
    p.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    add_confirm(p)
    add_execution_options(p)


def rerun(args: argparse.Namespace, settings: Settings) -> int:
    """Launch a run again: the same pipeline, params and targets (or its failed hosts)."""
    from console.ops.config import load
    from console.ops.rerun import RerunRequest, rerun_plan
    from console.store import open_store

    config = load(settings)
    with open_store(settings.store) as store:
        request = RerunRequest(args.run, settings.operator, args.failed, args.version)
        planned = rerun_plan(store, config, request)
    return _start(planned, args, settings)


def configure_resume(p: argparse.ArgumentParser) -> None:
    """Which run, and whether to ask."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--yes", "-y", action="store_true", help="resume without asking")
    p.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    add_execution_options(p)


def resume(args: argparse.Namespace, settings: Settings) -> int:
    """Go on with an interrupted run from its unfinished steps, after saying what will run."""
    from console.ops import resume as resuming
    from console.ops.config import load
    from console.ops.runner import run_here, spawn_runner
    from console.store import open_store

    config = load(settings)
    with open_store(settings.store) as store:
        found = resuming.prepare(store, config, settings.operator, args.run)
        print(f"run {found.state.id} ({found.state.pipeline}) was interrupted; resuming goes on:")
        print("\n".join(found.outline), flush=True)
        if not args.yes and not confirmed("Resume it?"):
            print("nothing was resumed")
            return 1
        existing = resuming.commit(store, found, settings.operator)
    if args.detach:
        spawn_runner(found.state.id, settings.store, args.accept_new_host_keys)
        print(found.state.id)
        return 0
    shown = progress(sys.stdout.isatty() and not args.plain)
    where, accept = settings.store, args.accept_new_host_keys
    status = asyncio.run(run_here(found.plan, where, accept, existing, shown))
    return EXIT_STATUS.get(status, 1)


def configure_cancel(p: argparse.ArgumentParser) -> None:
    """Which run, and whether a production run's cancel is already confirmed."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument(
        "--yes",
        action="store_true",
        help="do not ask before cancelling a production run (asked only on a terminal)",
    )


def cancel(args: argparse.Namespace, settings: Settings) -> int:
    """Ask a run to stop (cancelling is a launch right)."""
    from console.ops.cancel import request_cancel
    from console.ops.config import load
    from console.ops.runs import read_state
    from console.policy import cancel_confirmation
    from console.store import open_store

    inventory = load(settings).inventory
    with open_store(settings.store) as store:
        state = read_state(store, args.run)
        where = cancel_confirmation(inventory, state.environments)
        if where and not args.yes and sys.stdin.isatty():
            question = f"Cancel run {state.id} ({state.pipeline}) in {where}? Running steps stop."
            if not confirmed(question):
                print(f"run {state.id} was not cancelled")
                return 1
        state = request_cancel(store, state.id, settings.operator, inventory)
    print(f"asked run {state.id} to cancel")
    return 0


def configure_teller(p: argparse.ArgumentParser) -> None:
    """The run whose interruption to tell of."""
    p.add_argument("run_id")


def teller(args: argparse.Namespace, settings: Settings) -> int:
    """Tell the people who asked to hear that a run was cut off (a process of its own)."""
    from console.ops.interrupted import tell_interrupted

    tell_interrupted(settings.store, args.run_id)
    return 0


def configure_runner(p: argparse.ArgumentParser) -> None:
    """The run a detached runner executes."""
    p.add_argument("run_id")
    p.add_argument("--accept-new-host-keys", action="store_true")


def runner(args: argparse.Namespace, settings: Settings) -> int:
    """Execute a run that `run --detach`, `resume` or the console created, in this process."""
    from console.ops.launch import runner_main

    status = runner_main(settings.store, args.run_id, args.accept_new_host_keys)
    return 0 if status == "ended" else EXIT_STATUS.get(status, 1)


COMMANDS = [
    (
        "validate",
        "check the inventory and every pipeline, reporting all problems",
        configure_validate,
        validate,
    ),
    ("run", "launch a pipeline", configure_run, run),
    ("rerun", "launch a run again: same pipeline, params and targets", configure_rerun, rerun),
    ("resume", "go on with an interrupted run from its unfinished steps", configure_resume, resume),
    ("cancel", "ask a run to stop", configure_cancel, cancel),
    ("_runner", argparse.SUPPRESS, configure_runner, runner),
    ("_tell_interrupted", argparse.SUPPRESS, configure_teller, teller),
]
