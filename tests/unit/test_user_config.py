"""The user's config file names the inventory, pipelines and store when no option or variable does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _config(text: str) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "opsconsole" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_config_file_is_used_when_nothing_else_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSCONSOLE_INVENTORY", raising=False)
    monkeypatch.delenv("OPSCONSOLE_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    _config(f'inventory = "{ROOT / "sample_inventory.toml"}"\nstore = "team.db"\n')
    assert main(["validate"]) == 0
    assert "sample_inventory.toml: ok" in capsys.readouterr().out
    assert main(["runs"]) == 0
    assert (
        Path(os.environ["XDG_CONFIG_HOME"]) / "opsconsole" / "team.db"
    ).exists()  # beside the file
    monkeypatch.setenv("OPSCONSOLE_INVENTORY", str(tmp_path / "elsewhere.toml"))
    assert main(["validate"]) == 2  # the variable wins over the file
    assert "elsewhere.toml" in capsys.readouterr().err


def test_a_bad_config_file_is_named_with_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    path = _config('inventroy = "x.toml"\n')
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: unknown key inventroy; the keys allowed are inventory, pipelines, store" in err
    _config("inventory = [")
    assert main(["validate"]) == 2
    assert "cannot be read" in capsys.readouterr().err and "Traceback" not in err
