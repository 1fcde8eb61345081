"""Where the console keeps a person's files: the config folder and the data folder (XDG)."""

from __future__ import annotations

import os
from pathlib import Path


def config_folder() -> Path:
    """$XDG_CONFIG_HOME/opsconsole, ~/.config/opsconsole by default."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "opsconsole"


def user_config_path() -> Path:
    """The user's config file, naming the inventory, pipelines and store."""
    return config_folder() / "config.toml"


def settings_path() -> Path:
    """Where the console remembers a person's choices, such as the theme."""
    return config_folder() / "settings.toml"


def demo_store_path() -> Path:
    """The demo's own store, beside the user's (its runs never mix with real ones)."""
    return default_store_path().with_name("demo.db")


def default_store_path() -> Path:
    """The store in the user's data folder (XDG_DATA_HOME or ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "opsconsole" / "store.db"


StoreAddress = Path | str
"""Where a store is: a SQLite file's path, or a PostgreSQL connection string."""


def is_team_store(where: StoreAddress) -> bool:
    """Whether an address names a PostgreSQL database (a `postgresql://` URI or a libpq
    `key=value` string such as `service=ops`) rather than a file."""
    text = str(where)
    if text.startswith(("postgresql://", "postgres://")):
        return True
    first = text.split()[0] if text.split() else ""
    key = first.split("=", 1)[0]
    return "=" in first and key.isidentifier()


def store_address(text: str) -> StoreAddress:
    """A store address as given: a connection string stays text, a path becomes a Path."""
    return text if is_team_store(text) else Path(text).expanduser()
