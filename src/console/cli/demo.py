"""`opsconsole demo`: run a sample pipeline on embedded SSH hosts, open the console on them, or
just serve them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from console.cli.options import add_launch_options
from console.settings import Settings

if TYPE_CHECKING:
    from textual.app import App

    from console.model.config import Config
    from console.paths import StoreAddress

DEFAULT_PIPELINE = "deploy-ehr-web"
DEFAULT_PARAMS = ["version=4.2.0"]
DEFAULT_LIMIT = "staging"


def configure(p: argparse.ArgumentParser) -> None:
    """The demo's options."""
    p.add_argument(
        "pipeline",
        nargs="?",
        default=DEFAULT_PIPELINE,
        help=f"the sample pipeline to run (default {DEFAULT_PIPELINE})",
    )
    add_launch_options(p)
    p.add_argument(
        "--serve",
        action="store_true",
        help="only serve the demo hosts and print the inventory to use with other commands",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="start with no history (a store of its own, removed when the demo ends); "
        "otherwise the demo keeps its runs in the user's data folder (demo.db)",
    )
    p.add_argument(
        "--no-auto-approve",
        action="store_true",
        help="leave gates for you to approve from another terminal",
    )


def demo(args: argparse.Namespace, settings: Settings) -> int:
    """Start the demo hosts, then run a pipeline on them, open the console, or serve them."""
    from console.demo.estate import sample_dir
    from console.ui.themes import check_theme

    check_theme(settings.theme)  # before any host starts: a typo is said at once
    source = Path(args.inventory) if args.inventory else sample_dir() / "sample_inventory.toml"
    for hang_up in (signal.SIGHUP, signal.SIGTERM):  # the terminal closed: clean up, then go
        signal.signal(hang_up, _leave)
    with tempfile.TemporaryDirectory(prefix="opsconsole-demo-") as tmp:
        return asyncio.run(_demo(args, settings, source, Path(tmp)))


def _leave(signum: int, _frame: object) -> None:
    """End the demo as if it had finished, so that its hosts' keys and files are removed."""
    raise SystemExit(128 + signum)


async def _demo(args: argparse.Namespace, settings: Settings, source: Path, work: Path) -> int:
    from console.demo.estate import start_estate
    from console.demo.receiver import Receiver

    told: list[Callable[[str], None]] = [lambda text: print(f"demo: webhook {text}", flush=True)]
    receiver = Receiver(lambda text: told[0](text), work / "notifications.log")
    estate = await start_estate(source, work, receiver.url)
    store = _store(args, work)
    here = dataclasses.replace(settings, inventory=estate.inventory, pipelines=None, store=store)
    try:
        if args.serve:
            return await _serve(here)
        if sys.stdout.isatty() and not args.plain:
            history = source if _history_wanted(args, store) else None
            return await _console(here, not args.no_auto_approve, history, told)
        return await _run(args, here)
    finally:
        receiver.stop()
        await estate.close()


def _store(args: argparse.Namespace, work: Path) -> Path:
    """Where the demo keeps its runs: --store, a store of its own with --fresh, else the
    demo's store in the user's data folder (its history from one session to the next)."""
    from console.paths import demo_store_path

    if getattr(args, "store", None):
        return Path(args.store)
    if args.fresh:
        return work / "store.db"
    path = demo_store_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _history_wanted(args: argparse.Namespace, store: Path) -> bool:
    """Whether the demo writes its history: into its own store, only while it holds no run."""
    from console.store import open_store

    if args.fresh or getattr(args, "store", None):
        return False
    with open_store(store) as opened:
        return not opened.runs(limit=1)


async def _console(
    settings: Settings,
    board: bool,
    history: Path | None,
    told: list[Callable[[str], None]],
) -> int:
    """The full-screen console on the demo estate, with the simulated change board deciding
    its gates (unless told not to) and, on a first start, the demo's history being written;
    the hosts, the board and the history's writing live as long as it does."""
    from console.demo.board import approve_gates
    from console.ops.config import load
    from console.ui import make_app

    config = load(settings)
    app = make_app(config, settings)
    log = settings.require_inventory().parent / "notifications.log"

    def toast(text: str) -> None:
        """A message arrived (in the receiver's thread): a toast, while the console is open."""
        with contextlib.suppress(RuntimeError):  # it closed: the log still has it
            app.call_from_thread(app.notify, f"{text} (all of it in {log})", title="Webhook")

    told[0] = toast
    approving = approve_gates(settings.store, config.inventory, say=False) if board else None
    watching = asyncio.create_task(approving) if approving else None
    stop = threading.Event()
    writing = _write_history(app, settings.store, history, stop) if history else None
    try:
        await app.run_async()
    finally:
        stop.set()  # a history not written whole is not written at all
        if watching:
            watching.cancel()
        if writing:
            await asyncio.to_thread(writing.join)
    return 0


def _write_history(
    app: App[None], store: StoreAddress, sample: Path, stop: threading.Event
) -> threading.Thread:
    """Write the demo's history in a thread of its own, and tell the person when it is there."""
    from console.demo.history import DAYS, write_history

    def write() -> None:
        try:
            count = asyncio.run(write_history(store, sample, stop))
        except Exception as exc:  # the history is the demo's extra: the console goes on without it
            say, severity = f"the demo's history could not be written: {exc}", "warning"
        else:
            if not count:
                return
            say = f"{count} runs over the last {DAYS} days: press 5 to see how delivery went"
            severity = "information"
        app.call_from_thread(app.notify, say, title="The demo's history", severity=severity)

    app.notify(
        f"running the sample pipelines on hosts of its own to write {DAYS} days of history "
        "(about a minute); the delivery pane (5) shows it once it is there",
        title="The demo's history",
    )
    thread = threading.Thread(target=write, name="demo-history")
    thread.start()
    return thread


async def _serve(settings: Settings) -> int:
    print(
        f"demo hosts are up. In another terminal:\n"
        f"  export OPSCONSOLE_INVENTORY={settings.inventory} OPSCONSOLE_STORE={settings.store}\n"
        f"  opsconsole validate && opsconsole run {DEFAULT_PIPELINE} -p version=4.2.0 --limit staging\n"
        f"Ctrl-C stops the demo.",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    return 0


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    """Launch a sample pipeline here, with the simulated change board approving its gates."""
    from console.cli.launch import EXIT_STATUS, progress
    from console.cli.options import typed
    from console.demo.board import approve_gates
    from console.model.params import parse_assignments
    from console.ops import launch
    from console.ops.config import load
    from console.policy import typed_confirmation

    config = load(settings)
    sample = args.pipeline == DEFAULT_PIPELINE  # the sample's params and limit when none given
    given = args.param if args.param is not None else (DEFAULT_PARAMS if sample else [])
    limit = args.limit if args.limit is not None else (DEFAULT_LIMIT if sample else None)
    params = parse_assignments(given)
    planned = launch.plan(config, args.pipeline, params, settings.operator, limit, args.env)
    typed(typed_confirmation(config.inventory, planned.environments()), args.confirm)
    print(
        f"demo: {len(config.inventory.hosts)} embedded SSH hosts on loopback; "
        f"running {planned.pipeline.name} on {len(planned.hosts)} host(s) as run {planned.run_id}",
        flush=True,
    )
    board = None
    if not args.no_auto_approve:
        approving = approve_gates(settings.store, config.inventory, planned.run_id)
        board = asyncio.create_task(approving)
    shown = progress(sys.stdout.isatty() and not args.plain)
    try:
        status = await launch.launch_here(settings.store, planned, False, shown)
        if not args.no_auto_approve:  # the board decides the followers' gates as well
            board = asyncio.create_task(approve_gates(settings.store, config.inventory, None, True))
        status = await _chain_ended(settings, config, planned.run_id, status)
    finally:
        if board:
            board.cancel()
    return EXIT_STATUS.get(status, 1)


async def _chain_ended(settings: Settings, config: Config, run_id: str, status: str) -> str:
    """Wait for the runs a run's success launched (its hosts live only as long as the demo),
    saying how each ended; the last one's status."""
    from console.ops.runs import read_state
    from console.store import open_store

    with open_store(settings.store) as store:
        state = read_state(store, run_id)
        then = len(config.pipelines[state.pipeline].pipeline.then)
        while len(state.followers) + len(state.chain_stopped) < then:  # its runner says soon
            await asyncio.sleep(0.25)
            state = read_state(store, run_id)
        for pipeline, why in state.chain_stopped:
            print(f"demo: {pipeline} was not launched: {why}", flush=True)
        for pipeline, follower in state.followers:
            print(f"demo: then {pipeline} as run {follower} (a runner of its own)", flush=True)
            while not (after := read_state(store, follower)).is_final:
                await asyncio.sleep(0.25)
            print(f"demo: run {follower} ({pipeline}) {after.status}", flush=True)
            status = await _chain_ended(settings, config, follower, after.status)
    return status


COMMANDS = [("demo", "run the bundled sample on embedded SSH hosts", configure, demo)]
