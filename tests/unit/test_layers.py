"""The layering rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "console"
CORE = [
    "model",
    "engine",
    "transport",
    "store",
    "state.py",
    "events.py",
    "services.py",
    "sanitize.py",
    "replay.py",
    "resume.py",
]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _files(part: str) -> list[Path]:
    path = PACKAGE / part
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


@pytest.mark.parametrize("part", CORE)
def test_the_core_never_imports_the_ui(part: str) -> None:
    for path in _files(part):
        assert "textual" not in _imports(path), f"{path} imports textual"


def test_only_the_transport_speaks_ssh() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "asyncssh" in _imports(path):
            assert path.relative_to(PACKAGE).parts[0] == "transport", f"{path} imports asyncssh"


def test_only_the_store_speaks_sql() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "sqlite3" in _imports(path):
            assert path.relative_to(PACKAGE).parts[0] == "store", f"{path} imports sqlite3"


def test_no_code_path_turns_host_key_checking_off() -> None:
    """asyncssh skips host-key checks when given known_hosts=None: nothing may ever pass it."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "known_hosts":
                value = node.value
                assert not (isinstance(value, ast.Constant) and value.value is None), path
