"""The app's themes, one TOML file each, registered at start."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from textual.theme import Theme

from console.paths import settings_path

FOLDER = Path(__file__).parent
DEFAULT = "opsconsole-dark"


def load_themes(folder: Path = FOLDER) -> list[Theme]:
    """Every theme file in the folder."""
    return list(_read_themes(folder))


@cache  # read once per process: the factory checks the name, then the app registers them
def _read_themes(folder: Path) -> tuple[Theme, ...]:
    return tuple(Theme(**tomllib.loads(p.read_text())) for p in sorted(folder.glob("*.toml")))


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
