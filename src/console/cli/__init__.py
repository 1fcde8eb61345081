"""The `opsconsole` command: parse arguments, resolve the settings once, call the application
layer (`console.ops`), print what it returns; a person's mistake is a sentence, never a
traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from console import __version__
from console.cli.options import FULL_SCREEN, common_options, settings_of, theme_option
from console.errors import ConsoleError, explain
from console.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]
Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Handler]


def commands() -> list[Command]:
    """Every subcommand, in the order `--help` lists them."""
    from console.cli import audit, demo, gates, launch, metrics, store, views

    groups = (launch, views, gates, audit, metrics, demo, store)
    found = {c[0]: c for group in groups for c in group.COMMANDS}
    order = [
        "validate",
        "run",
        "runs",
        "show",
        "logs",
        "replay",
        "approve",
        "reject",
        "recheck",
        "rerun",
        "resume",
        "cancel",
        "export",
        "host",
        "metrics",
        "audit",
        "store",
        "policy",
        "demo",
        "_runner",
        "_tell_interrupted",
    ]
    return [found[name] for name in order]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; options may come before or after the subcommand."""
    parser = argparse.ArgumentParser(
        prog="opsconsole",
        description=(
            "Provision servers and deploy software over SSH, with approval gates and an audit trail."
        ),
    )
    parser.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    theme_option(parser, suppress=False)
    common_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text, configure, handler in commands():
        if help_text == argparse.SUPPRESS:
            child = sub.add_parser(name)  # internal: listed nowhere
        else:
            child = sub.add_parser(name, help=help_text, description=help_text)
        common_options(child, suppress=True)
        if name in FULL_SCREEN:
            theme_option(child, suppress=True)
        configure(child)
        child.set_defaults(handler=handler)
    return parser


def say_if_shared(settings: Settings) -> None:
    """Say once, before anything else, when other accounts may write the store file."""
    from console.policy import shared_file_warning
    from console.store import others_may_write

    others = others_may_write(settings.store)
    if others:
        print(f"opsconsole: {shared_file_warning(str(settings.store), others)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = settings_of(args)
        if not getattr(args, "handler", None):  # the console says it after its first frame
            from console.cli.console import open_console

            return open_console(settings)
        say_if_shared(settings)
        handler: Handler = args.handler
        return handler(args, settings)
    except ConsoleError as exc:
        print(explain(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("opsconsole: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
