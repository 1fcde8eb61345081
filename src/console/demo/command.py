"""`opsconsole demo`: run a sample pipeline on embedded SSH hosts, or just serve them."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from console.identity import current_operator

if TYPE_CHECKING:  # the rest is imported when the demo runs, so that `--help` stays quick
    from console.model.inventory import Inventory
    from console.model.load import Config
    from console.store import Store

DEFAULT_PIPELINE = "deploy-ehr-web"
DEFAULT_PARAMS = ["version=4.2.0"]
DEFAULT_LIMIT = "staging"
DEMO_REASON = "approved by the demo's simulated change board"


def configure(p: argparse.ArgumentParser) -> None:
    """The demo's options."""
    from console.commands import add_launch_options

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
        "--no-auto-approve",
        action="store_true",
        help="leave gates for you to approve from another terminal",
    )


def run_demo(args: argparse.Namespace) -> int:
    """Start the demo hosts, then run a pipeline on them (or serve until Ctrl-C)."""
    from console.demo.estate import sample_dir

    source = Path(args.inventory) if args.inventory else sample_dir() / "sample_inventory.toml"
    with tempfile.TemporaryDirectory(prefix="opsconsole-demo-") as tmp:
        return asyncio.run(_demo(args, source, Path(tmp)))


async def _demo(args: argparse.Namespace, source: Path, work: Path) -> int:
    from console.demo.estate import start_estate

    estate = await start_estate(source, work)
    try:
        if args.serve:
            return await _serve(args, estate.inventory, work)
        if sys.stdout.isatty() and not args.plain:
            return await _console(args, estate.inventory, work)
        return await _run(args, estate.inventory, work)
    finally:
        await estate.close()


async def _console(args: argparse.Namespace, inventory: Path, work: Path) -> int:
    """The full-screen console on the demo estate; its hosts live as long as it does."""
    from console.ui.app import make_app

    store = Path(args.store) if args.store else work / "store.db"
    app = make_app(_load(inventory), store, current_operator(), theme=getattr(args, "theme", None))
    await app.run_async()
    return 0


async def _serve(args: argparse.Namespace, inventory: Path, work: Path) -> int:
    store = args.store or str(work / "store.db")
    print(
        f"demo hosts are up. In another terminal:\n"
        f"  export OPSCONSOLE_INVENTORY={inventory} OPSCONSOLE_STORE={store}\n"
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


async def _run(args: argparse.Namespace, inventory: Path, work: Path) -> int:
    from console.cli import EXIT_STATUS
    from console.commands import run_here
    from console.engine.plan import plan_run
    from console.model.params import parse_assignments
    from console.services import create_run
    from console.store import open_store

    config = _load(inventory)
    default = DEFAULT_PARAMS if args.pipeline == DEFAULT_PIPELINE else []
    params = parse_assignments(args.param if args.param is not None else default)
    limit = (
        args.limit
        if args.limit is not None
        else (DEFAULT_LIMIT if args.pipeline == DEFAULT_PIPELINE else None)
    )
    plan = plan_run(config, args.pipeline, params, current_operator(), limit)
    store_path = Path(args.store) if args.store else work / "store.db"
    store = open_store(store_path)
    launched = create_run(store, plan)
    print(
        f"demo: {len(config.inventory.hosts)} embedded SSH hosts on loopback; "
        f"running {plan.pipeline.name} on {len(plan.hosts)} host(s) as run {plan.run_id}",
        flush=True,
    )
    approver = (
        None
        if args.no_auto_approve
        else asyncio.create_task(_auto_approve(store, config.inventory, plan.run_id))
    )
    try:
        status = await run_here(
            plan, store_path, False, [launched], rich=sys.stdout.isatty() and not args.plain
        )
    finally:
        if approver:
            approver.cancel()
        store.close()
    return EXIT_STATUS.get(status, 1)


def _load(inventory: Path) -> Config:
    from console.model.load import load_config

    return load_config(inventory)


async def _auto_approve(store: Store, inventory: Inventory, run_id: str) -> None:
    """Stand in for the change board: approve each gate a moment after it opens."""
    from console.demo.estate import DEMO_APPROVERS
    from console.services import DecisionRequest, record_decision, run_state

    decided: set[tuple[str, str]] = set()
    while True:
        await asyncio.sleep(0.5)
        state = await asyncio.to_thread(run_state, store, run_id)
        for gate in state.open_gates():
            key = (gate.stage, gate.step)
            if key in decided or gate.opened_at is None or time.time() - gate.opened_at < 1.5:
                continue
            for approver in DEMO_APPROVERS[: gate.approvals_required]:
                await asyncio.to_thread(
                    record_decision,
                    store,
                    inventory,
                    DecisionRequest(run_id, "approve", approver, None, DEMO_REASON, "CHG0000001"),
                )
            decided.add(key)
            print(f"demo: gate '{gate.step}' approved by the simulated change board", flush=True)
        if state.is_final:
            return
