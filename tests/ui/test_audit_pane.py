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


async def test_a_long_trail_is_verified_whole_and_searched_past_the_rows_it_holds(
    console_app, tmp_path: Path, monkeypatch
) -> None:
    from console.audit import Entry
    from console.ui.screens import audit

    monkeypatch.setattr(audit, "PAGE", 700)  # several pages, as a trail of 100,000 would be
    store = seed.estate(tmp_path / "store.db")
    store.audit(
        [
            Entry(seed.T0 + n, "quinn", "config_loaded", f"inventory-{n:04d}.toml", {"n": n})
            for n in range(2500)
        ]
    )
    store.close()
    db = sqlite3.connect(tmp_path / "store.db")
    db.execute("DROP TRIGGER audit_no_update")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await pilot.press("4")
        chain = app.query_one("#chain", Static)
        await _settle(pilot, lambda: "chain verified: 2506 records" in str(chain.render()))
        table = app.query_one("#audit-list", DataTable)
        assert table.row_count == audit.SHOWN
        assert str(table.get_row_at(table.row_count - 1)[4]) == "inventory-2499.toml"
        more = str(app.query_one("#audit-more", Static).render())
        assert "the newest 1,000 of 2,506 records shown" in more
        await pilot.press("slash", *"inventory-0003")  # long out of the table's rows
        await _settle(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[4]) == "inventory-0003.toml"
        assert not app.query_one("#audit-more", Static).display
        db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 10")  # long before the rows
        db.commit()
        await pilot.press("escape", "1", "4")  # opened again: verified again, whole
        await _settle(pilot, lambda: "chain broken at record 10" in str(chain.render()))
    db.close()
