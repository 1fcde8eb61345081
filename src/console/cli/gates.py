"""Commands that decide gates: approve and reject; and recheck, which runs a gate's checks
again."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from console.cli.options import RUN_HELP
from console.settings import Settings

if TYPE_CHECKING:
    from console.events import Decision


def configure_decision(p: argparse.ArgumentParser, reason_required: bool) -> None:
    """Which run and gate, and the decision's reason, ticket and the plan it was shown."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--gate", metavar="NAME", help="which gate, when several are open")
    p.add_argument("--reason", default="", required=reason_required, help="why")
    p.add_argument("--ticket", default="", help="the change ticket")
    p.add_argument(
        "--digest",
        metavar="PREFIX",
        help="the plan digest you reviewed (`opsconsole show RUN`); refused if the plan changed since",
    )


def decide(args: argparse.Namespace, settings: Settings, decision: Decision) -> int:
    """Record an approval or rejection of a run's open gate, as the policy allows."""
    from console.ops.config import load
    from console.ops.decide import DecisionRequest, record_decision
    from console.store import open_store

    config = load(settings)
    request = DecisionRequest(
        args.run,
        decision,
        settings.operator,
        args.gate,
        args.reason or "",
        args.ticket or "",
        getattr(args, "digest", None),
    )
    with open_store(settings.store) as store:
        event = record_decision(store, config.inventory, request)
    verb = "approved" if decision == "approve" else "rejected"
    emergency = " as an emergency change during a freeze" if event.emergency else ""
    print(
        f"{verb} gate '{event.step}' of run {event.run_id} as {event.actor}{emergency} "
        f"(plan {event.plan_digest[:12] or 'not recorded'})"
    )
    return 0


def approve(args: argparse.Namespace, settings: Settings) -> int:
    """Approve a run's open gate."""
    return decide(args, settings, "approve")


def reject(args: argparse.Namespace, settings: Settings) -> int:
    """Reject a run's open gate, with a reason."""
    return decide(args, settings, "reject")


def configure_recheck(p: argparse.ArgumentParser) -> None:
    """Which run and gate."""
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--gate", metavar="NAME", help="which gate, when several are open")


def recheck(args: argparse.Namespace, settings: Settings) -> int:
    """Ask a gate's runner to run its checks again."""
    from console.ops.config import load
    from console.ops.decide import request_checks
    from console.store import open_store

    config = load(settings)
    with open_store(settings.store) as store:
        print(request_checks(store, config.inventory, args.run, args.gate, settings.operator))
    return 0


COMMANDS = [
    ("approve", "approve a run's open gate", lambda p: configure_decision(p, False), approve),
    ("reject", "reject a run's open gate", lambda p: configure_decision(p, True), reject),
    ("recheck", "run an open gate's checks again", configure_recheck, recheck),
]
