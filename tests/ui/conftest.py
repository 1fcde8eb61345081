"""The console under Pilot: the sample inventory, a real store, a fixed clock and operator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from console.model.load import load_config
from console.settings import Settings
from console.ui import make_app
from console.ui.app import OpsConsoleApp
from tests.ui.seed import T0

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A person's remembered theme must not leak into the tests (or the tests into it)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the delivery pane's


@pytest.fixture
def console_app(tmp_path: Path) -> Callable[..., OpsConsoleApp]:
    """Build the app on the sample inventory and a store in tmp_path."""

    def build(
        operator: str = "alice",
        spawned: list[str] | None = None,
        store: Path | None = None,
        theme: str | None = None,
        clock: Callable[[], float] = lambda: T0 + 7260,
    ) -> OpsConsoleApp:
        config = load_config(ROOT / "sample_inventory.toml")
        calls = spawned if spawned is not None else []
        settings = Settings(
            inventory=ROOT / "sample_inventory.toml",
            pipelines=None,
            store=store or tmp_path / "store.db",
            operator=operator,
            theme=theme,
        )
        app = make_app(
            config,
            settings,
            spawn=lambda run_id, _store, _accept: calls.append(run_id),
            clock=clock,
        )
        app.animation_level = "none"  # snapshots must not catch a tab's underline mid-slide
        return app

    return build
