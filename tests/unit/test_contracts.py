"""The layer contracts cover the whole core: a module added beside the others is held to them
without anyone remembering to list it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import console

CLIENTS = {"ui", "cli", "__main__", "__init__"}
"""The clients and the package's own entry points, which the core contract does not bind."""


def test_every_module_of_the_core_is_held_to_the_core_contract() -> None:
    root = Path(console.__file__).parent
    pyproject = tomllib.loads((root.parents[1] / "pyproject.toml").read_text())
    contract = pyproject["tool"]["importlinter"]["contracts"][0]
    assert contract["forbidden_modules"] == ["console.ui", "console.cli", "textual"]
    found = {
        p.stem if p.is_file() else p.name
        for p in root.iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists())
    }
    core = {f"console.{name}" for name in found - CLIENTS}
    assert core - set(contract["source_modules"]) == set(), "add these to the core contract"
