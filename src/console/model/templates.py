"""`{{ name }}` templates in steps: which names they use, and rendering them safely."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


def names_in(text: str) -> list[str]:
    """Every name referenced by a template in `text`, in order."""
    return [m.group(1) for m in TEMPLATE.finditer(text)]


SECRET_PREFIX = "secret."


def unknown_names(
    text: str,
    params: set[str],
    var_names: set[str] | None,
    secrets: AbstractSet[str] = frozenset(),
) -> list[str]:
    """Names in `text` that are neither params, host fields, (when known) host vars nor secrets."""
    bad = []
    for name in names_in(text):
        if name in params or name in ("host.name", "host.address"):
            continue
        if name.startswith("vars.") and (var_names is None or name[5:] in var_names):
            continue
        if name.startswith(SECRET_PREFIX) and name[len(SECRET_PREFIX) :] in secrets:
            continue
        bad.append(name)
    return bad


def secrets_in(text: str) -> list[str]:
    """The secrets a command uses (`{{ secret.NAME }}`), each once, in order."""
    found = [n[len(SECRET_PREFIX) :] for n in names_in(text) if n.startswith(SECRET_PREFIX)]
    return list(dict.fromkeys(found))


def secret_variable(name: str) -> str:
    """The remote shell variable that holds a secret while its command runs."""
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in name).upper()
    return f"OPSCONSOLE_SECRET_{cleaned}"


def refer_to_secrets(command: str) -> str:
    """The command with each `{{ secret.NAME }}` made a quoted reference to its shell variable:
    the value itself is never part of the command's text (which `ps` shows to every account)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name.startswith(SECRET_PREFIX):
            return match.group(0)
        return f'"${{{secret_variable(name[len(SECRET_PREFIX) :])}}}"'

    return TEMPLATE.sub(replace, command)


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
