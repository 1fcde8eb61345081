"""The app's themes, one TOML file each, registered at start."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import tomli_w
from textual.theme import Theme

FOLDER = Path(__file__).parent
DEFAULT = "opsconsole-dark"


def load_themes(folder: Path = FOLDER) -> list[Theme]:
    """Every theme file in the folder."""
    return [Theme(**tomllib.loads(path.read_text())) for path in sorted(folder.glob("*.toml"))]


def settings_path() -> Path:
    """Where the console remembers a person's choices (XDG_CONFIG_HOME or ~/.config)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "opsconsole" / "settings.toml"


def remembered_theme() -> str | None:
    """The theme chosen last time, if any."""
    try:
        return str(tomllib.loads(settings_path().read_text()).get("theme")) or None
    except (OSError, tomllib.TOMLDecodeError):
        return None


def remember_theme(name: str) -> None:
    """Keep the chosen theme for next time (best effort: a read-only home is not an error)."""
    path = settings_path()
    try:
        data = tomllib.loads(path.read_text()) if path.exists() else {}
        data["theme"] = name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(data))
    except (OSError, tomllib.TOMLDecodeError):
        pass
