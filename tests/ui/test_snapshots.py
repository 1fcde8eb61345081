"""Snapshots of every screen at 80×24 and 160×48, dark and high contrast (fixed store, clock, names)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from console.ui.dialogs.decision import DecisionDialog
from console.ui.dialogs.launch import LaunchDialog
from console.ui.widgets.header import ConsoleHeader
from tests.ui import seed

SIZES = [(80, 24), (160, 48)]
THEMES = ["opsconsole-dark", "opsconsole-high-contrast"]


async def _footer_drawn(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """The footer recomposes after focus moves; wait for its keys so the picture is complete."""
    for _ in range(60):
        await pilot.pause(0.05)
        if len(app.query("FooterKey")) >= 4:
            return


async def _loaded(app, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(100):
        await pilot.pause(0.05)
        if app.query_one("#runs", DataTable).row_count == 3:
            break
    assert app.query_one(ConsoleHeader).pending == 1


async def _pane(app, pilot, key: str, pane: str, focus: str) -> None:  # type: ignore[no-untyped-def]
    """Jump to a pane and wait until it shows and has the keyboard."""
    for _ in range(3):  # right after start the tabs may still settle on their first pane
        await pilot.press(key)
        for _ in range(20):
            await pilot.pause(0.05)
            focused = app.focused
            names = (focused.id, type(focused).__name__) if focused is not None else ()
            if app.query_one("ContentSwitcher").current == pane and focus in names:
                return
    raise AssertionError(f"pane {pane} did not take the keyboard")


async def _screen_shows(app, pilot, kind: type) -> None:  # type: ignore[no-untyped-def]
    """Wait until a screen of this kind is on top, and a moment for it to settle; its text
    cursors stay lit (a blinking one is caught on or off as the machine's speed falls)."""
    for _ in range(40):
        await pilot.pause(0.05)
        if isinstance(app.screen, kind):
            break
    for box in app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause(0.3)
    assert isinstance(app.screen, kind)


async def home(app, pilot) -> None:  # type: ignore[no-untyped-def]
    assert app.query_one("#pipelines", DataTable).row_count == 6


async def run_view(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("tab", "down", "enter")
    await pilot.pause(0.3)
    assert app.open_run == "20261117-100000-bbbb"


async def gates(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await _pane(app, pilot, "3", "gates", "gate-list")
    assert app.query_one("#gate-list", DataTable).row_count == 1


async def launch(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("l")
    await _screen_shows(app, pilot, LaunchDialog)


async def decision(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await gates(app, pilot)
    await pilot.press("a")
    await _screen_shows(app, pilot, DecisionDialog)


async def help_overlay(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("question_mark")
    for _ in range(40):
        await pilot.pause(0.05)
        if app.query("HelpPanel"):
            break
    await pilot.pause(0.3)
    assert app.query("HelpPanel")


async def audit(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await _pane(app, pilot, "4", "audit", "audit-list")
    for _ in range(40):
        await pilot.pause(0.05)
        if "chain verified" in str(app.query_one("#chain").render()):
            break
    assert app.query_one("#audit-list", DataTable).row_count > 5


async def replay(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """The failed run replayed to its end, on the failed cell, with its output read."""
    from console.ui.screens.replay import ReplayScreen

    await run_view(app, pilot)
    await pilot.press("p")
    for _ in range(40):
        await pilot.pause(0.05)
        if isinstance(app.screen, ReplayScreen) and app.screen.timeline is not None:
            break
    await pilot.press("G")
    for _ in range(60):
        await pilot.pause(0.05)
        if "use 97%" in str(app.screen.query_one("LogView").lines):
            break
    await pilot.pause(0.2)
    assert app.screen.cursor == app.screen.timeline.last


async def host(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """The host view of the failed run's first host, opened with Enter on its matrix row."""
    from console.ui.screens.host import HostScreen
    from console.ui.widgets.matrix import RunMatrix

    await run_view(app, pilot)
    app.query_one(RunMatrix).focus()
    await pilot.press("enter")
    await _screen_shows(app, pilot, HostScreen)


async def delivery(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """The delivery pane measured over the seeded history, once its figures stay put."""
    from console.ui.screens.delivery import DeliveryPane

    await _pane(app, pilot, "5", "delivery", "delivery-envs")
    pane = app.query_one(DeliveryPane)
    seen, steady = None, 0
    for _ in range(100):
        await pilot.pause(0.05)
        steady = steady + 1 if pane.found is not None and pane.found is seen else 0
        seen = pane.found
        if steady >= 6:  # the same measures for 0.3 s: no second reading on its way
            break
    await pilot.pause(0.2)
    assert app.query_one("#delivery-envs", DataTable).row_count


SCREENS: dict[str, Callable[..., Awaitable[None]]] = {
    "home": home,
    "run": run_view,
    "gates": gates,
    "launch": launch,
    "decision": decision,
    "help": help_overlay,
    "audit": audit,
    "replay": replay,
    "host": host,
    "delivery": delivery,
}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(  # type: ignore[no-untyped-def]
    snap_compare, console_app, tmp_path: Path, screen: str, size, theme: str, monkeypatch
) -> None:
    monkeypatch.setenv("HOME", "/home/operator")  # the host view names ~/.ssh/known_hosts
    seed.estate(tmp_path / "store.db")
    app = console_app(theme=theme)

    async def arrange(pilot) -> None:  # type: ignore[no-untyped-def]
        await _loaded(app, pilot)
        await SCREENS[screen](app, pilot)
        await pilot.wait_for_scheduled_animations()
        await _footer_drawn(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=arrange)
