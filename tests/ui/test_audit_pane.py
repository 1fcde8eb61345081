"""The audit pane under Pilot: records from a real store, filters, and the chain's state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.widgets import DataTable, Static

from tests.ui import seed
from tests.ui.test_console import SIZE, _settle


def _rows(table: DataTable) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [
        (str(table.get_row_at(i)[2]), str(table.get_row_at(i)[3])) for i in range(table.row_count)
    ]


async def test_audit_pane_lists_verified_records_and_filters_them(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await pilot.press("4")
        await _settle(
            pilot, lambda: "chain verified" in str(app.query_one("#chain", Static).render())
        )
        table = app.query_one("#audit-list", DataTable)
        actions = [action for _, action in _rows(table)]
        assert (
            actions.count("run_launched") == 3
            and "run_finished" in actions
            and "gate_opened" in actions
        )
        await pilot.press("slash", *"actor:carol")
        await _settle(pilot, lambda: table.row_count == 1)
        assert _rows(table) == [("carol", "run_launched")]
        await pilot.press(*[("ctrl+u")], *"action:run_finished run:20261117-09")
        await _settle(pilot, lambda: table.row_count == 1)
        assert _rows(table)[0][1] == "run_finished"


async def test_audit_pane_shows_where_the_chain_is_broken(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db").close()
    db = sqlite3.connect(tmp_path / "store.db")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    db.commit()
    db.close()
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await pilot.press("4")
        chain = app.query_one("#chain", Static)
        await _settle(pilot, lambda: "chain broken at record 2" in str(chain.render()))
        assert "altered" in str(chain.render())


async def test_new_records_join_the_table_as_they_are_written(console_app, tmp_path: Path) -> None:
    from console import events as ev

    store = seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await pilot.press("4")
        table = app.query_one("#audit-list", DataTable)
        await _settle(pilot, lambda: table.row_count == 6)
        store.append(
            [ev.CancelRequested(run_id="20261117-110000-cccc", at=seed.T0 + 7300, actor="dmitri")]
        )
        await _settle(pilot, lambda: table.row_count == 7)
        assert _rows(table)[-1] == ("dmitri", "cancel_requested")
        assert table.cursor_row == 6  # the cursor was on the newest record, so it follows
        assert "7 records" in str(app.query_one("#chain", Static).render())
