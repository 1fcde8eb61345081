"""The app's themes, one TOML file each, registered at start."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

from textual.theme import Theme

from console.paths import config_folder, settings_path

FOLDER = Path(__file__).parent
DEFAULT = "opsconsole-dark"


def load_themes(folder: Path = FOLDER) -> list[Theme]:
    """The project's themes, then the operator's own (`themes/` beside their config file)."""
    return [*_read_themes(folder), *_read_themes(config_folder() / "themes")]


@cache  # read once per process: the factory checks the name, then the app registers them
def _read_themes(folder: Path) -> tuple[Theme, ...]:
    return tuple(_theme(p) for p in sorted(folder.glob("*.toml")))


def _theme(path: Path) -> Theme:
    """One theme file, or the sentence that says what is wrong in it and where."""
    from console.errors import ConfigError, Problem

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        why = re.sub(r" \(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError([Problem(str(path), int(line[1]) if line else None, "", why)]) from None
    try:
        return Theme(**data)
    except (TypeError, ValueError) as exc:
        allowed = "name, primary, secondary, accent, foreground, background, surface, panel, ..."
        why = f"not a theme ({exc}); a theme file sets {allowed}"
        raise ConfigError([Problem(str(path), None, "", why)]) from None


def check_theme(name: str | None) -> None:
    """Refuse, in a sentence, a theme the console does not have (None: the remembered one)."""
    from console.errors import UsageError

    names = [t.name for t in load_themes()]
    if name is not None and name not in names:
        raise UsageError(f"no theme '{name}'; the themes are {', '.join(names)}")


def remembered_theme() -> str | None:
    """The theme chosen last time, if any."""
    try:
        return str(tomllib.loads(settings_path().read_text()).get("theme")) or None
    except (OSError, tomllib.TOMLDecodeError):
        return None


def remember_theme(name: str) -> None:
    """Keep the chosen theme for next time (best effort: a read-only home is not an error)."""
    import tomli_w  # only needed when a person changes the theme

    path = settings_path()
    try:
        data = tomllib.loads(path.read_text()) if path.exists() else {}
        data["theme"] = name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(data))
    except (OSError, tomllib.TOMLDecodeError):
        pass
