"""The `opsconsole` command: parse arguments, call the services, format what they return."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from console import __version__
from console.errors import ConfigError, ConsoleError, UsageError
from console.paths import default_store_path, user_config_path

if TYPE_CHECKING:  # imported where used: `opsconsole --help` must not pay for pydantic and SQLite
    from console.model.load import Config
    from console.store import Store

EXIT_STATUS = {"succeeded": 0, "failed": 1, "rejected": 1, "expired": 1, "cancelled": 130}
Handler = Callable[[argparse.Namespace], int]


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
        metavar="PATH",
        default=default,
        help="the store file (env OPSCONSOLE_STORE; default in the user's data folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; options may come before or after the subcommand."""
    from console import commands

    parser = argparse.ArgumentParser(
        prog="opsconsole",
        description=(
            "Provision servers and deploy software over SSH, with approval gates and an audit trail."
        ),
    )
    parser.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    parser.add_argument(
        "--theme",
        metavar="NAME",
        default=None,
        help="the console's theme: opsconsole-dark, opsconsole-light or opsconsole-high-contrast",
    )
    common_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text, configure, handler in commands.COMMANDS:
        if help_text == argparse.SUPPRESS:
            child = sub.add_parser(name)  # internal: listed nowhere
        else:
            child = sub.add_parser(name, help=help_text, description=help_text)
        common_options(child, suppress=True)
        configure(child)
        child.set_defaults(handler=handler)
    return parser


CONFIG_KEYS = ("inventory", "pipelines", "store")


def user_config() -> dict[str, Path]:
    """Paths set in the user's config file; relative ones are taken from the file's folder."""
    import tomllib

    path = user_config_path()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} cannot be read ({exc}); fix or remove it") from None
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise UsageError(
            f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the keys allowed are {', '.join(CONFIG_KEYS)}"
        )
    bad = sorted(k for k, v in data.items() if not isinstance(v, str))
    if bad:
        raise UsageError(f"{path}: {', '.join(bad)} must be a path in quotes")
    return {k: path.parent / Path(v).expanduser() for k, v in data.items()}


def _setting(args: argparse.Namespace, key: str) -> Path | None:
    """A path from the option, else OPSCONSOLE_<KEY>, else the user's config file."""
    text = getattr(args, key, None) or os.environ.get(f"OPSCONSOLE_{key.upper()}")
    if text:
        return Path(text).expanduser()
    return user_config().get(key)


def inventory_path(args: argparse.Namespace) -> Path:
    """The inventory from --inventory, OPSCONSOLE_INVENTORY, the config file or ./inventory.toml."""
    chosen = _setting(args, "inventory")
    if chosen:
        return chosen
    default = Path("inventory.toml")
    if default.exists():
        return default
    raise UsageError(
        "no inventory given: pass --inventory PATH, set OPSCONSOLE_INVENTORY or write "
        f'inventory = "PATH" in {user_config_path()} '
        "(`opsconsole demo` runs the bundled sample with no setup)"
    )


def store_path(args: argparse.Namespace) -> Path:
    """The store from --store, OPSCONSOLE_STORE, the config file or the user's data folder."""
    return _setting(args, "store") or default_store_path()


def load(args: argparse.Namespace) -> Config:
    """The validated configuration the options point at."""
    from console.model.load import load_config

    return load_config(inventory_path(args), _setting(args, "pipelines"))


def store_for(args: argparse.Namespace) -> Store:
    """The store the options point at."""
    from console.store import open_store

    return open_store(store_path(args))


def explain(exc: ConsoleError) -> str:
    """What a person is told about an error they can fix: every problem of a configuration."""
    if isinstance(exc, ConfigError):
        count = len(exc.problems)
        lines = [f"error: {problem}" for problem in exc.problems]
        return "\n".join(
            [*lines, f"{count} problem{'s' if count != 1 else ''} found; nothing was run"]
        )
    return f"opsconsole: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if not getattr(args, "handler", None):
            from console.commands import open_console

            return open_console(args)
        handler: Handler = args.handler
        return handler(args)
    except ConsoleError as exc:
        print(explain(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("opsconsole: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def print_json(data: object) -> None:
    """Print a JSON document."""
    print(json.dumps(data, indent=2, ensure_ascii=False))
