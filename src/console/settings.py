"""Settings: which inventory, pipelines and store a command or the console works on, and for
whom, resolved once from flags, the environment and the user's config file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from console.errors import UsageError
from console.identity import current_operator
from console.paths import (
    StoreAddress,
    default_store_path,
    is_team_store,
    store_address,
    user_config_path,
)

KEYS = ("inventory", "pipelines", "store")
"""The paths the user's config file may set (`inventory = "PATH"`)."""


@dataclass(frozen=True)
class Settings:
    """Where everything is and who is acting, for one command or one console."""

    inventory: Path | None
    """The inventory file; None when nothing names one (`require_inventory` says so)."""
    pipelines: Path | None
    """The pipelines folder; None takes the inventory's `pipelines`."""
    store: StoreAddress
    """A SQLite file, or a PostgreSQL connection string (the team store)."""
    operator: str
    """The operating-system account acting, never an environment variable."""
    theme: str | None = None

    def require_inventory(self) -> Path:
        """The inventory file, or a sentence saying how to name one."""
        if self.inventory is None:
            raise UsageError(
                "no inventory given: pass --inventory PATH, set OPSCONSOLE_INVENTORY or write "
                f'inventory = "PATH" in {user_config_path()} '
                "(`opsconsole demo` runs the bundled sample with no setup)"
            )
        return self.inventory


def resolve(flags: Mapping[str, str | None], environ: Mapping[str, str] | None = None) -> Settings:
    """Each path from its flag, else `OPSCONSOLE_<KEY>`, else the user's config file; the
    inventory falls back to ./inventory.toml, the store to the user's data folder."""
    environ = os.environ if environ is None else environ
    config = user_config()
    given = {key: flags.get(key) or environ.get(f"OPSCONSOLE_{key.upper()}") for key in KEYS}
    found = {key: store_address(text) if text else config.get(key) for key, text in given.items()}
    inventory, pipelines = (_path(found[key]) for key in ("inventory", "pipelines"))
    if inventory is None and Path("inventory.toml").exists():
        inventory = Path("inventory.toml")
    return Settings(
        inventory=inventory,
        pipelines=pipelines,
        store=found["store"] or default_store_path(),
        operator=current_operator(),
        theme=flags.get("theme"),
    )


def _path(found: StoreAddress | None) -> Path | None:
    """A file or folder setting (only the store may be a connection string)."""
    return None if found is None else Path(found)


def user_config() -> dict[str, StoreAddress]:
    """Paths set in the user's config file, relative ones taken from the file's folder; the
    store may be a PostgreSQL connection string."""
    path = user_config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"{path} cannot be read ({exc}); fix or remove it") from None
    import tomllib  # only when there is a file: most people start without one

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} cannot be read ({exc}); fix or remove it") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise UsageError(
            f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the keys allowed are {', '.join(KEYS)}"
        )
    bad = sorted(k for k, v in data.items() if not isinstance(v, str))
    if bad:
        raise UsageError(f"{path}: {', '.join(bad)} must be a path in quotes")
    return {
        k: v if is_team_store(v) else path.parent / Path(v).expanduser() for k, v in data.items()
    }
