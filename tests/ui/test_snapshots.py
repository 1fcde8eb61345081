"""Snapshots of the console's panes (fixed store, clock, names and sizes), each with a behaviour check."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from console.ui.widgets.header import ConsoleHeader
from tests.ui import seed


async def _footer_drawn(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """The footer recomposes after focus moves; wait for its keys so the picture is complete."""
    for _ in range(60):
        await pilot.pause(0.05)
        if len(app.query("FooterKey")) >= 5:
            return


def _loaded(app):  # type: ignore[no-untyped-def]
    async def wait(pilot) -> None:  # type: ignore[no-untyped-def]
        for _ in range(100):
            await pilot.pause(0.05)
            if app.query_one("#runs", DataTable).row_count == 3:
                break
        assert app.query_one(ConsoleHeader).pending == 1

    return wait


def test_home_pane(snap_compare, console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()

    async def home(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(app)(pilot)
        await _footer_drawn(app, pilot)
        assert app.query_one("#pipelines", DataTable).row_count == 5

    assert snap_compare(app, terminal_size=(100, 30), run_before=home)


def test_run_view(snap_compare, console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()

    async def open_run(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(app)(pilot)
        await pilot.press("tab", "down", "enter")
        await pilot.pause(0.3)
        await _footer_drawn(app, pilot)
        assert app.open_run == "20261117-100000-bbbb"

    assert snap_compare(app, terminal_size=(120, 30), run_before=open_run)


def test_gates_pane_at_80_by_24(snap_compare, console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()

    async def gates(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(app)(pilot)
        for _ in range(3):  # right after start the tabs may still settle on their first pane
            await pilot.press("3")
            for _ in range(20):
                await pilot.pause(0.05)
                if (
                    app.query_one("ContentSwitcher").current == "gates"
                    and app.focused is not None
                    and app.focused.id == "gate-list"
                ):
                    break
            else:
                continue
            break
        await pilot.wait_for_scheduled_animations()
        await _footer_drawn(app, pilot)
        assert app.query_one("#gate-list", DataTable).row_count == 1
        assert app.query_one("ContentSwitcher").current == "gates", app.focused

    assert snap_compare(app, terminal_size=(80, 24), run_before=gates)
