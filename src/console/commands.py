"""The headless subcommands: each a `configure(parser)` and a handler returning an exit status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from console.cli import (
    EXIT_STATUS,
    explain,
    inventory_path,
    load,
    print_json,
    store_for,
    store_path,
)
from console.errors import UsageError
from console.identity import current_operator

if TYPE_CHECKING:  # the rest is imported where it is used, so that `--help` stays quick
    from console import events as ev
    from console.engine.plan import RunPlan
    from console.model.inventory import Operator


def _validate(args: argparse.Namespace) -> int:
    config = load(args)
    inv = config.inventory
    print(
        f"{config.source.path}: ok — {len(inv.hosts)} hosts, {len(inv.groups)} groups, "
        f"{len(inv.environments)} environments, {len(config.pipelines)} pipelines"
    )
    for name, pf in sorted(config.pipelines.items()):
        print(f"  {name:28} {pf.source.path.name}")
    return 0


def add_launch_options(p: argparse.ArgumentParser) -> None:
    """--param, --limit and --plain: the options of every command that launches a run."""
    p.add_argument(
        "--param",
        "-p",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="a param value (repeatable)",
    )
    p.add_argument(
        "--limit",
        metavar="PATTERN",
        help="narrow the targets: host, group, glob or key=value label, comma-separated",
    )
    p.add_argument("--plain", action="store_true", help="plain lines even on a terminal")


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("pipeline", help="the pipeline's name")
    add_launch_options(p)
    _execution_options(p)


def _execution_options(p: argparse.ArgumentParser) -> None:
    """--detach and --accept-new-host-keys: how a launched run is executed."""
    p.add_argument(
        "--detach",
        action="store_true",
        help="print the run id and go on in a background process that outlives this terminal",
    )
    p.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="trust and record keys of hosts not yet in known_hosts (changed keys are still refused)",
    )


def _run(args: argparse.Namespace) -> int:
    from console.engine.plan import plan_run
    from console.model.params import parse_assignments

    config = load(args)
    plan = plan_run(
        config, args.pipeline, parse_assignments(args.param or []), current_operator(), args.limit
    )
    return _launch(plan, args)


def _launch(plan: RunPlan, args: argparse.Namespace) -> int:
    """Record a planned run, then execute it here or in a detached runner."""
    from console.services import create_run

    store = store_for(args)
    launched = create_run(store, plan)
    store.close()
    if args.detach:
        from console.runners import spawn_runner

        spawn_runner(plan.run_id, store_path(args), args.accept_new_host_keys)
        print(plan.run_id)
        return 0
    print(f"run {plan.run_id}: {plan.pipeline.name} on {len(plan.hosts)} host(s)", flush=True)
    status = execute(plan, args, [launched], rich=sys.stdout.isatty() and not args.plain)
    return EXIT_STATUS.get(status, 1)


def _configure_rerun(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run id, a unique prefix of one, or 'last'")
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
    _execution_options(p)


def _rerun(args: argparse.Namespace) -> int:
    from console.rerun import RerunRequest, rerun_plan

    store = store_for(args)
    request = RerunRequest(args.run, current_operator(), args.failed, args.version)
    plan = rerun_plan(store, load(args), request)
    store.close()
    return _launch(plan, args)


def _configure_resume(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run id, a unique prefix of one, or 'last'")
    p.add_argument("--yes", "-y", action="store_true", help="resume without asking")
    p.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    _execution_options(p)


def _resume(args: argparse.Namespace) -> int:
    from console import events as ev
    from console.engine.plan import plan_as_launched
    from console.resume import check_resumable, outline, record_resume
    from console.services import authorize, kept_scripts, run_state

    store = store_for(args)
    state = run_state(store, args.run)  # the first reader records the interruption
    seen = store.newest_id(state.id)
    state = run_state(store, state.id)  # reflects at least every event up to `seen`
    authorize(store, load(args).inventory, current_operator(), "resume", state)
    check_resumable(state)
    assert state.launched is not None
    kept = store.blob(state.launched.pipeline_digest)
    scripts = kept_scripts(store, state.launched)
    plan = plan_as_launched(state.launched, kept, scripts)  # refused before asking if it cannot run
    print(f"run {state.id} ({state.pipeline}) was interrupted; resuming goes on:")
    print("\n".join(outline(state)), flush=True)
    if not args.yes and not _confirmed("Resume it?"):
        print("nothing was resumed")
        return 1
    record_resume(store, state, current_operator(), seen)
    existing = [e.event for e in store.read(state.id, exclude=(ev.Output.kind,))]
    store.close()
    if args.detach:
        from console.runners import spawn_runner

        spawn_runner(state.id, store_path(args), args.accept_new_host_keys)
        print(state.id)
        return 0
    status = execute(plan, args, existing, rich=sys.stdout.isatty() and not args.plain)
    return EXIT_STATUS.get(status, 1)


def _confirmed(question: str) -> bool:
    """Ask on the terminal; without one, say how to confirm instead."""
    if not sys.stdin.isatty():
        raise UsageError("this needs a confirmation: run it on a terminal, or add --yes")
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def execute(plan: RunPlan, args: argparse.Namespace, existing: list[ev.Event], rich: bool) -> str:
    """Execute a created run in this process and return its final status."""
    return asyncio.run(run_here(plan, store_path(args), args.accept_new_host_keys, existing, rich))


async def run_here(
    plan: RunPlan, store: Path, accept_new: bool, existing: list[ev.Event], rich: bool
) -> str:
    """Execute a created run, showing progress; Ctrl-C and SIGTERM cancel it cleanly."""
    from console.engine.runner import Engine
    from console.render.progress import PlainProgress, RichProgress
    from console.store import open_store

    engine = Engine(plan, lambda: open_store(store), accept_new)
    display = RichProgress(engine.state) if rich else PlainProgress(engine.state)
    engine.add_listener(display)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, engine.cancel, current_operator())
    try:
        if isinstance(display, RichProgress):
            with display:
                return await engine.execute(existing)
        return await engine.execute(existing)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _configure_runner(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id")
    p.add_argument("--accept-new-host-keys", action="store_true")


def _runner(args: argparse.Namespace) -> int:
    """Execute a run that `run --detach`, `resume` or the console created, in this process."""
    from console import events as ev
    from console.engine.plan import plan_as_launched
    from console.errors import ConsoleError
    from console.runners import fail
    from console.services import kept_scripts

    _as_batch()
    store = store_for(args)
    run_id = store.resolve_run(args.run_id)
    existing = [e.event for e in store.read(run_id, exclude=(ev.Output.kind,))]
    if any(isinstance(e, ev.RunFinished) for e in existing):
        return 0  # it ended before this runner got to it (cancelled while queued)
    launched = existing[0]
    assert isinstance(launched, ev.RunLaunched)
    try:
        scripts = kept_scripts(store, launched)
        plan = plan_as_launched(launched, store.blob(launched.pipeline_digest), scripts)
    except ConsoleError as exc:  # the run must not wait for a runner that is not coming
        fail(store_path(args), run_id, explain(exc))
    finally:
        store.close()
    status = execute(plan, args, existing, rich=False)
    return EXIT_STATUS.get(status, 1)


def _as_batch() -> None:
    """Schedule this runner (and the threads it starts) as a batch job, niced by 5.

    A runner works in bursts nobody waits on to the millisecond; the consoles sharing the
    bastion's cores do, with a person at the keys. Under SCHED_BATCH the kernel never lets a
    runner waking up preempt them, and at nice 5 a console gets three times the runner's
    share while both want a core. A runner alone still has every idle core.
    """
    if hasattr(os, "sched_setscheduler"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    with contextlib.suppress(OSError):
        os.nice(5)
    _lower_autogroup(5)


def _lower_autogroup(nice: int) -> None:
    """Give this runner's session the same lower share among the bastion's sessions.

    Where the kernel groups processes by session (autogroup, on by default in most
    distributions' kernels), a process's own nice counts only inside its session: a runner
    in a session of its own would still weigh as much as any console. The kernel lets only
    one unprivileged process change a group's nice in each tenth of a second, so a runner
    that starts beside another tries again for a moment; nowhere to write means no groups.
    """
    for _ in range(5):
        try:
            Path("/proc/self/autogroup").write_text(f"{nice}\n")
            return
        except BlockingIOError:
            time.sleep(0.11)
        except OSError:
            return


def _configure_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def _runs(args: argparse.Namespace) -> int:
    from console.render import show as report
    from console.services import run_state

    store = store_for(args)
    states = [run_state(store, r.id) for r in store.runs(limit=args.last)]
    if args.json:
        print_json(
            [
                {k: v for k, v in report.run_json(s).items() if k not in ("steps", "gates")}
                for s in states
            ]
        )
    elif states:
        print(report.runs_table(states))
    else:
        print(f"no runs yet in {store.location}")
    return 0


def _configure_runs(p: argparse.ArgumentParser) -> None:
    _configure_json(p)
    p.add_argument("--last", type=int, default=50, metavar="N", help="how many runs (default 50)")


def _configure_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run id, a unique prefix of one, or 'last'")
    p.add_argument(
        "--at",
        metavar="TIME",
        help="the state at a moment: an ISO 8601 time (UTC unless it says otherwise) "
        "or a time from the launch such as +90s",
    )
    _configure_json(p)


def _show(args: argparse.Namespace) -> int:
    from console.render import show as report
    from console.services import run_state, state_at

    store = store_for(args)
    state = state_at(store, args.run, args.at) if args.at else run_state(store, args.run)
    operators = _operators(args)
    if args.json:
        print_json(report.run_json(state, operators))
    else:
        print(report.show_text(state, operators))
    return 0


def _operators(args: argparse.Namespace) -> dict[str, Operator] | None:
    """The inventory's operators, to judge decisions with (their keys check signatures); None
    when no inventory loads, and what the records alone show is judged."""
    from console.errors import ConsoleError

    try:
        return load(args).inventory.operators
    except ConsoleError:
        return None


def _configure_logs(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run id, a unique prefix of one, or 'last'")
    p.add_argument("--host", help="only this host's output")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing until the run ends")
    p.description = (
        "Print a run's output, sanitized. On a terminal a line is cut at 4,000 characters "
        "with a mark; redirected to a file or a pipe, every character is kept."
    )


def _logs(args: argparse.Namespace) -> int:
    from console import events as ev
    from console.render.labelled import LabelledOutput
    from console.services import run_state
    from console.state import FINAL_RUN

    store = store_for(args)
    run_id = store.resolve_run(args.run)
    terminal = sys.stdout.isatty()
    colour = terminal and "NO_COLOR" not in os.environ
    labelled = LabelledOutput(colour, cap=terminal)  # a file or a pipe gets every character
    after = 0
    while True:
        batch = store.read(run_id, after, kinds=(ev.Output.kind,), host=args.host, limit=5000)
        for stored in batch:
            assert isinstance(stored.event, ev.Output)
            sys.stdout.writelines(f"{line}\n" for line in labelled.lines(stored.event))
        sys.stdout.flush()
        after = batch[-1].id if batch else after
        if len(batch) == 5000:
            continue
        if not args.follow or run_state(store, run_id).status in FINAL_RUN | {"interrupted"}:
            break
        time.sleep(0.25)
    return 0


def _configure_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run id, a unique prefix of one, or 'last'")
    p.add_argument(
        "--format",
        choices=("cast", "md", "html"),
        required=True,
        help="cast: the output as an asciicast v2 recording with the real timing; "
        "md or html: a report for the change record (stages, hosts, approvals, outcome)",
    )
    p.add_argument("--host", help="cast only: this host's output alone")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")


def _export(args: argparse.Namespace) -> int:
    from console.files import write_whole
    from console.render.cast import cast_lines

    if args.host and args.format != "cast":
        raise UsageError(
            "--host narrows a recording to one host's output: use it with --format cast"
        )
    store = store_for(args)
    run_id = store.resolve_run(args.run)
    if args.format == "cast":
        lines: Iterable[str] = cast_lines(store, run_id, args.host)
    else:
        from console.render import report as runreport
        from console.services import run_state

        state = run_state(store, run_id)
        render = runreport.markdown if args.format == "md" else runreport.to_html
        lines = render(state, _operators(args)).splitlines()
    if args.out is None:
        sys.stdout.writelines(f"{line}\n" for line in lines)
        return 0
    write_whole(Path(args.out), (f"{line}\n" for line in lines))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _configure_replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run id, a unique prefix of one, or 'last'")
    p.add_argument(
        "--speed",
        choices=("1", "2", "4", "16", "max"),
        default="1",
        help="how fast it plays (keys + and - change it): times real time, or max",
    )


def _replay(args: argparse.Namespace) -> int:
    """Play a stored run back in the full-screen run view."""
    from console.ui.screens.replay import ReplayApp

    store = store_for(args)
    run_id = store.resolve_run(args.run)
    store.close()
    speed = float("inf") if args.speed == "max" else float(args.speed)
    ReplayApp(store_path(args), run_id, speed).run()
    return 0


def _configure_decision(p: argparse.ArgumentParser, reason_required: bool) -> None:
    p.add_argument("run", help="a run id, a unique prefix of one, or 'last'")
    p.add_argument("--gate", metavar="NAME", help="which gate, when several are open")
    p.add_argument("--reason", default="", required=reason_required, help="why")
    p.add_argument("--ticket", default="", help="the change ticket")
    p.add_argument(
        "--digest",
        metavar="PREFIX",
        help="the plan digest you reviewed (`opsconsole show RUN`); refused if the plan changed since",
    )


def _decide(args: argparse.Namespace, decision: str) -> int:
    from console.services import DecisionRequest, record_decision

    config = load(args)
    request = DecisionRequest(
        args.run,
        decision,
        current_operator(),
        args.gate,
        args.reason or "",
        args.ticket or "",
        getattr(args, "digest", None),
    )
    event = record_decision(store_for(args), config.inventory, request)
    verb = "approved" if decision == "approve" else "rejected"
    emergency = " as an emergency change during a freeze" if event.emergency else ""
    print(
        f"{verb} gate '{event.step}' of run {event.run_id} as {event.actor}{emergency} "
        f"(plan {event.plan_digest[:12] or 'not recorded'})"
    )
    return 0


def _approve(args: argparse.Namespace) -> int:
    return _decide(args, "approve")


def _reject(args: argparse.Namespace) -> int:
    return _decide(args, "reject")


def _configure_cancel(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run id, a unique prefix of one, or 'last'")


def _cancel(args: argparse.Namespace) -> int:
    from console.services import request_cancel

    state = request_cancel(store_for(args), args.run, current_operator(), load(args).inventory)
    print(f"asked run {state.id} to cancel")
    return 0


def open_console(args: argparse.Namespace) -> int:
    """`opsconsole` alone: the full-screen console on the configured inventory and store."""
    # Start-up allocates a great deal and frees almost nothing: collections would only delay
    # the first frame. The app freezes what start-up built and collects again after it.
    gc.disable()
    from console.ui.app import make_app

    inventory_path(args)  # a missing inventory is said before the screen opens
    app = make_app(
        lambda: load(args), store_path(args), current_operator(), theme=getattr(args, "theme", None)
    )
    app.run()
    return app.return_code or 0


def _demo(args: argparse.Namespace) -> int:
    from console.demo import run_demo

    return run_demo(args)


def _configure_demo(p: argparse.ArgumentParser) -> None:
    from console.demo import configure

    configure(p)


def _audit(args: argparse.Namespace) -> int:
    from console import audit_cli

    return audit_cli.run(args)


def _configure_audit(p: argparse.ArgumentParser) -> None:
    from console.audit_options import configure

    configure(p)


def _none(p: argparse.ArgumentParser) -> None:
    return None


COMMANDS = [
    (
        "validate",
        "check the inventory and every pipeline, reporting all problems",
        _none,
        _validate,
    ),
    ("run", "launch a pipeline", _configure_run, _run),
    ("runs", "list runs", _configure_runs, _runs),
    ("show", "show a run's state", _configure_show, _show),
    ("logs", "print a run's output", _configure_logs, _logs),
    ("replay", "play a run back as it happened, full screen", _configure_replay, _replay),
    ("approve", "approve a run's open gate", lambda p: _configure_decision(p, False), _approve),
    ("reject", "reject a run's open gate", lambda p: _configure_decision(p, True), _reject),
    ("rerun", "launch a run again: same pipeline, params and targets", _configure_rerun, _rerun),
    (
        "resume",
        "go on with an interrupted run from its unfinished steps",
        _configure_resume,
        _resume,
    ),
    ("cancel", "ask a run to stop", _configure_cancel, _cancel),
    (
        "export",
        "write a run's output as a recording, or a report for the change record",
        _configure_export,
        _export,
    ),
    ("audit", "verify, anchor and export the audit trail", _configure_audit, _audit),
    ("demo", "run the bundled sample on embedded SSH hosts", _configure_demo, _demo),
    ("_runner", argparse.SUPPRESS, _configure_runner, _runner),
]
