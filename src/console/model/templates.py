"""`{{ name }}` templates in steps: which names they use, and rendering them safely."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Mapping

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


def names_in(text: str) -> list[str]:
    """Every name referenced by a template in `text`, in order."""
    return [m.group(1) for m in TEMPLATE.finditer(text)]


def unknown_names(text: str, params: set[str], var_names: set[str] | None) -> list[str]:
    """Names in `text` that are neither params, host fields nor (when known) host vars."""
    bad = []
    for name in names_in(text):
        if name in params or name in ("host.name", "host.address"):
            continue
        if name.startswith("vars.") and (var_names is None or name[5:] in var_names):
            continue
        bad.append(name)
    return bad


def quoted_templates(command: str) -> list[str]:
    """Templates written inside shell quotes, where quoting them again would misbehave."""
    found = []
    for match, quote in _scan_quotes(command):
        if quote:
            found.append(match.group(0))
    return found


def _scan_quotes(command: str) -> Iterator[tuple[re.Match[str], str | None]]:
    quote: str | None = None
    i = 0
    matches = {m.start(): m for m in TEMPLATE.finditer(command)}
    while i < len(command):
        if i in matches:
            yield matches[i], quote
            i = matches[i].end()
            continue
        ch = command[i]
        if ch == "\\" and quote != "'":
            i += 2
            continue
        if quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
        i += 1


def render(text: str, values: Mapping[str, object], quote: Callable[[str], str] | None) -> str:
    """Replace each template by its value, passed through `quote` (e.g. shlex.quote)."""

    def replace(match: re.Match[str]) -> str:
        value = _as_text(values[match.group(1)])
        return quote(value) if quote else value

    return TEMPLATE.sub(replace, text)


def render_shell(command: str, values: Mapping[str, object]) -> str:
    """Render a shell command with every value shell-quoted, so no value can inject syntax."""
    return render(command, values, shlex.quote)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
