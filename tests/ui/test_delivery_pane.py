"""The delivery pane under Pilot: the measures of the seeded history, what is behind them, the
period, and a run that ends while the pane shows."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static, TabbedContent

from console import events as ev
from console.store.sqlite import SQLiteStore
from console.ui.widgets.weekchart import WeekChart, columns
from tests.ui import seed

FAILED = "20261117-100000-bbbb"


async def _settle(pilot, until, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        await pilot.pause(0.05)
        if until():
            return
    raise AssertionError("the console did not catch up")


def _cells(app, row: int) -> list[str]:  # type: ignore[no-untyped-def]
    table = app.query_one("#delivery-envs", DataTable)
    return [str(c) for c in table.get_row_at(row)]


async def test_the_pane_measures_opens_what_failed_and_follows_runs_as_they_end(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db").close()
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("5")
        await _settle(pilot, lambda: app.query_one("#delivery-envs", DataTable).row_count == 1)
        assert _cells(app, 0)[:4] == ["staging", "2", "0.02 low", "1 · 50% low"]
        chart = app.query_one("#chart-deployments", WeekChart)
        assert chart.values[-1] == 2.0 and chart.values[0] == 0.0  # two this week, none before
        await pilot.press("enter")  # into what is behind the row
        detail = app.query_one("#delivery-detail", DataTable)
        assert app.focused is detail and str(detail.get_row_at(0)[0]) == FAILED
        gate = [str(c) for c in detail.get_row_at(1)]
        assert gate[1:3] == ["gate 'change board' still open", "deploy-ehr-web"]
        await pilot.press("enter")
        await _settle(pilot, lambda: app.query_one(TabbedContent).active == "run")
        assert app.open_run == FAILED

        await pilot.press("5")
        store = SQLiteStore(tmp_path / "store.db")
        waiting = "20261117-110000-cccc"  # the run at its gate: approved, deployed, ended
        store.append(
            [
                ev.GateClosed(
                    run_id=waiting,
                    at=seed.T0 + 7201,
                    stage="approval",
                    step="change board",
                    outcome="approved",
                ),
                ev.StepStarted(
                    run_id=waiting, at=seed.T0 + 7202, stage="ship", step="x", host="ehr-web-stg-01"
                ),
                ev.RunFinished(run_id=waiting, at=seed.T0 + 7203, status="succeeded"),
            ]
        )
        store.close()
        await _settle(pilot, lambda: _cells(app, 0)[1] == "3", timeout=10)
        assert _cells(app, 0)[3] == "1 · 33% low"

        await pilot.press("w")
        head = app.query_one("#delivery-head", Static)
        await _settle(pilot, lambda: "last 365 days" in str(head.render()))


def test_a_chart_leaves_weeks_without_a_figure_blank_and_dots_a_zero() -> None:
    assert columns([None, 0.0, 4.0, 16.0]) == [(" ", " "), (" ", "·"), (" ", "▄"), ("█", "█")]


async def test_the_palette_goes_to_the_pane(console_app, tmp_path: Path) -> None:
    from tests.ui.test_console import _palette

    seed.estate(tmp_path / "store.db").close()
    app = console_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _palette(pilot, app, "go to delivery")
        await _settle(pilot, lambda: app.query_one(TabbedContent).active == "delivery")
        await _settle(pilot, lambda: app.query_one("#delivery-envs", DataTable).row_count == 1)
