"""`opsconsole store init|grant|revoke`: a database administrator sets up the team store."""

from __future__ import annotations

import argparse
from pathlib import Path

from console.cli.options import common_options
from console.settings import Settings


def configure(p: argparse.ArgumentParser) -> None:
    """The store subcommands."""
    sub = p.add_subparsers(dest="store_action", metavar="ACTION", required=True)
    init = sub.add_parser(
        "init", help="create or upgrade the team store's schema, roles and privileges"
    )
    grant = sub.add_parser("grant", help="let an operator's account in (a login role)")
    grant.add_argument("user", help="the operator's account name on the bastions")
    grant.add_argument("--admin", action="store_true", help="may publish the policy too")
    revoke = sub.add_parser("revoke", help="take an operator out (their records stay theirs)")
    revoke.add_argument("user", help="the operator's account name")
    copy = sub.add_parser(
        "copy", help="copy a SQLite store's history (ids and audit chain) into an empty team store"
    )
    copy.add_argument("--from", dest="source", metavar="PATH", required=True, help="the store file")
    copy.add_argument(
        "--to", dest="target", metavar="CONNINFO", help="the team store (else --store)"
    )
    for child in (init, grant, revoke, copy):
        common_options(child, suppress=True)


def store(args: argparse.Namespace, settings: Settings) -> int:
    """Do the chosen action and say what was done."""
    from console.ops import team

    if args.store_action == "init":
        print(team.init(settings.store))
    elif args.store_action == "copy":
        print(team.copy(Path(args.source).expanduser(), args.target or settings.store))
    elif args.store_action == "grant":
        print(team.grant(settings.store, args.user, args.admin))
    else:
        print(team.revoke(settings.store, args.user))
    return 0


def configure_policy(p: argparse.ArgumentParser) -> None:
    """The policy subcommands."""
    sub = p.add_subparsers(dest="policy_action", metavar="ACTION", required=True)
    publish = sub.add_parser(
        "publish",
        help="publish the inventory's environments and operators as the policy that governs "
        "gates in the team store (its admins only)",
    )
    common_options(publish, suppress=True)


def policy(args: argparse.Namespace, settings: Settings) -> int:
    """Publish the inventory's policy."""
    from console.ops import governance
    from console.ops.config import load

    print(governance.publish(settings.store, load(settings)))
    return 0


COMMANDS = [
    (
        "store",
        "set up a team store in PostgreSQL (for its database administrator)",
        configure,
        store,
    ),
    (
        "policy",
        "publish the approval policy to the team store (for its admins)",
        configure_policy,
        policy,
    ),
]
