"""Options every command shares, and the settings they resolve to."""

from __future__ import annotations

import argparse
import sys

from console.errors import LaunchRefused, UsageError
from console.settings import Settings, resolve


def common_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """--inventory, --pipelines and --store, accepted before or after any subcommand."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--inventory",
        metavar="PATH",
        default=default,
        help="the inventory file (env OPSCONSOLE_INVENTORY; default ./inventory.toml)",
    )
    parser.add_argument(
        "--pipelines",
        metavar="PATH",
        default=default,
        help="the pipelines folder (env OPSCONSOLE_PIPELINES; default from the inventory)",
    )
    parser.add_argument(
        "--store",
        metavar="PATH|CONNINFO",
        default=default,
        help="the store: a SQLite file, or a team store's PostgreSQL connection string "
        "(env OPSCONSOLE_STORE; default a file in the user's data folder)",
    )


RUN_HELP = "a run id, any unique part of one (its last four characters will do), or 'last'"
FULL_SCREEN = ("demo", "replay")
"""Commands that open a full screen, and so take the console's own options."""


def theme_option(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """--theme, for the console and every command that opens a full screen."""
    parser.add_argument(
        "--theme",
        metavar="NAME",
        default=argparse.SUPPRESS if suppress else None,
        help="the console's theme: opsconsole-dark, opsconsole-light or opsconsole-high-contrast",
    )


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings the options, the environment and the user's config file name."""
    keys = ("inventory", "pipelines", "store", "theme")
    return resolve({k: getattr(args, k, None) for k in keys})


def add_launch_options(p: argparse.ArgumentParser) -> None:
    """--param, --limit, --confirm and --plain: the options of every command that launches."""
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
    p.add_argument(
        "--env",
        type=names,
        metavar="ENV[,ENV]",
        help="the environment to launch into, when the targets are in several (several at once "
        "only when named: --env dev,staging)",
    )
    add_confirm(p)
    p.add_argument("--plain", action="store_true", help="plain lines even on a terminal")


def names(text: str) -> list[str]:
    """A comma-separated list of names, each once."""
    found = [n.strip() for n in text.split(",") if n.strip()]
    if not found:
        raise argparse.ArgumentTypeError("name at least one environment")
    return list(dict.fromkeys(found))


def add_confirm(p: argparse.ArgumentParser) -> None:
    """--confirm ENV: the typed confirmation a production launch needs, for scripts."""
    p.add_argument(
        "--confirm",
        metavar="ENV",
        help="the name of the production environment the launch goes into, typed as on a terminal",
    )


def add_execution_options(p: argparse.ArgumentParser) -> None:
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


def confirmed(question: str) -> bool:
    """Ask on the terminal; without one, say how to confirm instead."""
    if not sys.stdin.isatty():
        raise UsageError("this needs a confirmation: run it on a terminal, or add --yes")
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def typed(environment: str | None, given: str | None) -> None:
    """Ask for a production environment's name to be typed before a launch into it (or take
    it from --confirm); refused in words when it is not."""
    if environment is None:
        return
    if given is not None:
        if given != environment:
            raise LaunchRefused(
                f"--confirm {given} does not name the environment this launch goes into "
                f"({environment}); nothing was launched"
            )
        return
    if not sys.stdin.isatty():
        raise LaunchRefused(
            f"launching into {environment} needs its name typed: run it on a terminal, or add "
            f"--confirm {environment}; nothing was launched"
        )
    try:
        answer = input(f"This launch changes {environment}. Type {environment} to go on: ")
    except EOFError:
        answer = ""
    if answer.strip() != environment:
        raise LaunchRefused(f"{environment} was not typed; nothing was launched")
