"""Text that looks like markup, from files, hosts or people, is shown as it is and breaks nothing."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from console import events as ev
from console.ui.dialogs.decision import DecisionDialog
from tests.ui import seed
from tests.ui.test_console import SIZE, _settle

TRICKS = "[/] [link=https://evil.example]click[/link] [bold red]x"
RUN = "20261128-120000-dddd"


def _tricky_run(path: Path) -> None:
    store = seed.estate(path)
    seed.launch(store, RUN, seed.T0 + 8000, hosts=("ehr-web-stg-01",), params={"version": TRICKS})
    seed.output(store, RUN, "ehr-web-stg-01", [TRICKS.encode() + b"\n"], at=seed.T0 + 8001)
    store.append(
        [
            ev.StepFinished(
                run_id=RUN,
                at=seed.T0 + 8002,
                stage="preflight",
                step="disk space",
                host="ehr-web-stg-01",
                status="ok",
                message=TRICKS,
            ),
            ev.GateOpened(
                run_id=RUN,
                at=seed.T0 + 8003,
                stage="approval",
                step="change board",
                message=f"Release {TRICKS}",
                approvals_required=1,
            ),
        ]
    )
    store.close()


async def test_markup_in_params_messages_and_output_is_shown_literally(
    console_app, tmp_path: Path
) -> None:
    _tricky_run(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 4)
        app.show_run(RUN)
        await _settle(pilot, lambda: "[/]" in str(app.query_one("#run-title").render()))
        logs = app.query_one("LogView")
        await _settle(pilot, lambda: any("click[/link]" in str(line) for line in logs.lines))
        await pilot.press("3")
        gates = app.query_one("#gate-list", DataTable)
        await _settle(pilot, lambda: gates.row_count == 2 and app.focused is gates)
        shown = " ".join(str(gates.get_row_at(i)) for i in range(gates.row_count))
        assert "[link=https://evil.example]click[/link]" in shown
        await pilot.press("down", "a")  # the tricky run's gate opened second
        await _settle(pilot, lambda: isinstance(app.screen, DecisionDialog))
        await pilot.pause(0.2)
        labels = " ".join(str(label.render()) for label in app.screen.query("Label"))
        assert "[link=https://evil.example]click[/link]" in labels
        await pilot.press("escape")
        app.notify(f"a message with {TRICKS}")
        await pilot.pause(0.3)
    assert app.return_code in (None, 0)
