"""The console as a person drives it, with Pilot: panes, gates, launching, logs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, TabbedContent

from console import events as ev
from console.durations import format_duration
from console.store.sqlite import SQLiteStore
from console.ui.dialogs.decision import DecisionDialog
from console.ui.dialogs.launch import LaunchDialog
from console.ui.screens.home import HomePane
from console.ui.widgets.header import ConsoleHeader
from console.ui.widgets.matrix import RunMatrix
from console.ui.widgets.stages import SPINNER
from tests.ui import seed

SIZE = (120, 36)


async def _settle(pilot, until, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until the console shows `until` (a bound for slow machines, not a timing)."""
    for _ in range(int(timeout / 0.05)):
        await pilot.pause(0.05)
        if until():
            return
    raise AssertionError("the console did not catch up")


async def _palette(pilot, app, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type into the command palette and choose the best hit once the search has found one."""
    await pilot.press("ctrl+p", *text)

    def found() -> bool:  # the top hit answers the whole query, not a prefix typed earlier
        lists = app.screen.query("CommandList")
        if not lists or not lists.first().option_count or lists.first().highlighted != 0:
            return False
        top = str(lists.first().get_option_at_index(0).prompt).lower()
        return all(word in top for word in text.split())

    await _settle(pilot, found)
    await pilot.press("enter")


async def test_home_lists_pipelines_and_runs_from_the_store(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        runs = app.query_one("#runs", DataTable)
        await _settle(pilot, lambda: runs.row_count == 3)
        assert [r.key.value for r in runs.ordered_rows] == [
            "20261117-110000-cccc",
            "20261117-100000-bbbb",
            "20261117-090000-aaaa",
        ]
        pipelines = app.query_one("#pipelines", DataTable)
        assert pipelines.row_count == 6
        assert str(pipelines.get_cell("deploy-ehr-web", "last")) == "⏸ waiting"
        assert app.query_one(ConsoleHeader).pending == 1


async def test_filter_narrows_both_lists(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
        await pilot.press("slash", *"carol")
        assert app.query_one("#runs", DataTable).row_count == 1
        assert app.query_one("#pipelines", DataTable).row_count == 0
        await pilot.press("escape")
        assert not app.query_one("#filter", Input).display


async def test_run_view_follows_new_events_cell_by_cell(console_app, tmp_path: Path) -> None:
    store = seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        runs = app.query_one("#runs", DataTable)
        await _settle(pilot, lambda: runs.row_count == 3)
        await pilot.press("tab", "enter")
        matrix = app.query_one(RunMatrix)
        assert app.open_run == "20261117-110000-cccc"
        assert str(matrix.get_cell("ehr-web-stg-01", "approval\x1fchange board")) == "⏸ waiting"
        store.append(
            [
                ev.GateClosed(
                    run_id="20261117-110000-cccc",
                    at=seed.T0 + 7300,
                    stage="approval",
                    step="change board",
                    outcome="approved",
                ),
                ev.StepStarted(
                    run_id="20261117-110000-cccc",
                    at=seed.T0 + 7301,
                    stage="rollout",
                    step="switch",
                    host="ehr-web-stg-02",
                ),
            ]
        )
        await _settle(
            pilot,
            lambda: str(matrix.get_cell("ehr-web-stg-02", "rollout\x1fswitch"))[0] in SPINNER,
        )
        assert str(matrix.get_cell("ehr-web-stg-02", "rollout\x1fswitch")).endswith(" running")
        assert str(matrix.get_cell("ehr-web-stg-01", "approval\x1fchange board")) == "✓ ok"


async def test_approving_a_gate_records_the_decision(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app(operator="carol")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one(ConsoleHeader).pending == 1)
        await pilot.press("3")
        await _settle(pilot, lambda: app.focused is not None and app.focused.id == "gate-list")
        await pilot.press("a")
        await _settle(pilot, lambda: isinstance(app.screen, DecisionDialog))
        shown = " ".join(str(label.render()) for label in app.screen.query("Label"))
        assert "Plan ab12ab12ab12" in shown and "no self-approval" in shown
        await pilot.press(*"fits the window", "tab", *"CHG0001234", "enter")
        store = SQLiteStore(tmp_path / "store.db")
        await _settle(
            pilot, lambda: bool(store.read("20261117-110000-cccc", kinds=("gate_decided",)))
        )
        decided = store.read("20261117-110000-cccc", kinds=("gate_decided",))[0].event
        assert isinstance(decided, ev.GateDecided)
        assert (decided.actor, decided.decision, decided.reason, decided.ticket) == (
            "carol",
            "approve",
            "fits the window",
            "CHG0001234",
        )
        assert decided.plan_digest == "ab12" * 16  # bound to the plan the dialog showed


async def test_a_rejection_needs_a_reason(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one(ConsoleHeader).pending == 1)
        await pilot.press("3", "r", "enter")
        assert isinstance(app.screen, DecisionDialog)
        assert "needs a reason" in str(app.screen.query_one("#error").render())
        await pilot.press(*"disk too full", "enter")
        store = SQLiteStore(tmp_path / "store.db")
        await _settle(
            pilot, lambda: bool(store.read("20261117-110000-cccc", kinds=("gate_decided",)))
        )
        assert (
            store.read("20261117-110000-cccc", kinds=("gate_decided",))[0].event.decision
            == "reject"
        )


@pytest.mark.parametrize(
    ("operator", "approved_before", "says"),
    [
        ("alice", True, "has already approved this gate"),
        ("bob", False, "bob launched this run and so cannot approve its gates in staging"),
        ("mallory", False, "mallory is not an operator in the inventory"),
    ],
)
async def test_a_refused_decision_says_why(
    console_app, tmp_path: Path, operator: str, approved_before: bool, says: str
) -> None:
    store = seed.estate(tmp_path / "store.db")
    if approved_before:
        store.append(
            [
                ev.GateDecided(
                    run_id="20261117-110000-cccc",
                    at=seed.T0 + 7203,
                    stage="approval",
                    step="change board",
                    decision="approve",
                    actor=operator,
                    plan_digest="ab12" * 16,
                )
            ]
        )
    before = len(store.read("20261117-110000-cccc", kinds=("gate_decided",)))
    app = console_app(operator=operator)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one(ConsoleHeader).pending == 1)
        await pilot.press("3", "a", "enter")
        await _settle(pilot, lambda: any(says in str(n.message) for n in app._notifications))
        assert len(store.read("20261117-110000-cccc", kinds=("gate_decided",))) == before


async def test_launch_checks_params_as_typed_and_creates_the_run(
    console_app, tmp_path: Path
) -> None:
    spawned: list[str] = []
    app = console_app(spawned=spawned)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")  # deploy-ehr-web, the first pipeline
        dialog = app.screen
        assert isinstance(dialog, LaunchDialog)
        await pilot.press(*"4.2", "enter")
        assert dialog.plan is None and "does not match the pattern" in str(
            dialog.query_one("#error").render()
        )
        await pilot.press(*".0", "tab", "tab", *"staging")  # past the environment, to the limit
        await pilot.pause()
        assert dialog.plan is not None and dialog.plan.hosts == ["ehr-web-stg-01", "ehr-web-stg-02"]
        assert "2 host(s) in staging" in str(dialog.query_one("#preview").render())
        await pilot.press("enter")
        await _settle(pilot, lambda: bool(spawned))
        store = SQLiteStore(tmp_path / "store.db")
        launched = store.read(spawned[0])[0].event
        assert isinstance(launched, ev.RunLaunched)
        assert (launched.params, launched.operator) == ({"version": "4.2.0"}, "alice")


async def test_launching_into_prod_asks_for_the_environment_name(
    console_app, tmp_path: Path
) -> None:
    spawned: list[str] = []
    seed.staged(tmp_path / "store.db", "4.2.0", time.time() - 3600)  # what prod requires
    app = console_app(spawned=spawned)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", *"4.2.0", "tab", "tab", *"ehr-web-01", "enter")
        dialog = app.screen
        assert isinstance(dialog, LaunchDialog)
        assert "type 'prod' to confirm" in str(dialog.query_one("#confirm-label").render())
        await asyncio.sleep(0.1)
        assert not spawned
        await pilot.press(*"prod", "enter")
        await _settle(pilot, lambda: bool(spawned))


async def test_keys_move_between_panes_and_back(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
        await pilot.press("tab", "j", "enter")
        await _settle(pilot, lambda: app.query_one("ContentSwitcher").current == "run")
        assert app.open_run == "20261117-100000-bbbb"
        await pilot.press("escape")
        await _settle(pilot, lambda: app.query_one("ContentSwitcher").current == "home")
        await pilot.press("3")
        await _settle(pilot, lambda: app.query_one("ContentSwitcher").current == "gates")


async def test_palette_finds_pipelines_and_runs(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
        await _palette(pilot, app, "launch rotate")
        await _settle(pilot, lambda: isinstance(app.screen, LaunchDialog))
        assert app.screen.pipeline_name == "rotate-certificates"
        await pilot.press("escape")
        await _palette(pilot, app, "open run 100000")
        await _settle(pilot, lambda: app.open_run == "20261117-100000-bbbb")


async def test_palette_finds_a_host_and_opens_its_row(console_app, tmp_path: Path) -> None:
    from console.ui.screens.host import HostScreen

    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
        await _palette(pilot, app, "show host ehr-web-stg-02")
        await _settle(pilot, lambda: isinstance(app.screen, HostScreen))
        await pilot.press("enter")  # its newest step: the check of the run at its gate
        matrix = app.query_one(RunMatrix)
        await _settle(pilot, lambda: matrix.run_id is not None and app.focused is matrix)
        assert app.open_run == "20261117-110000-cccc"
        row = matrix.coordinate_to_cell_key(matrix.cursor_coordinate).row_key.value
        assert row == "ehr-web-stg-02"


async def test_run_view_shows_each_stage_progress(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
        await pilot.press("tab", "enter")
        strip = app.query_one("#stages")
        await _settle(pilot, lambda: "preflight" in str(strip.render()))
        text = str(strip.render())
        assert "preflight" in text and "approval" in text and "rollout" in text
        assert "0/1" in text  # the gate waits: none of its one cell is done


async def test_opening_a_run_puts_the_keyboard_on_its_matrix(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
        await pilot.press("tab", "enter")  # the run pane mounts only now, after the first frame
        await _settle(pilot, lambda: isinstance(app.focused, RunMatrix))
        await pilot.press("l", "j")
        matrix = app.query_one(RunMatrix)
        assert matrix.cursor_coordinate.row == 1 and matrix.cursor_coordinate.column == 1


async def test_gates_pane_follows_gates_opening_and_closing(console_app, tmp_path: Path) -> None:
    store = seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one(ConsoleHeader).pending == 1)
        await pilot.press("3")
        table = app.query_one("#gate-list", DataTable)
        await _settle(pilot, lambda: table.row_count == 1)
        seed.launch(store, "20261117-120000-dddd", seed.T0 + 7250, operator="carol")
        seed.waiting(store, "20261117-120000-dddd", seed.T0 + 7255)
        await _settle(pilot, lambda: table.row_count == 2)
        closed = ev.GateClosed(
            run_id="20261117-110000-cccc",
            at=seed.T0 + 7256,
            stage="approval",
            step="change board",
            outcome="approved",
        )
        store.append([closed])
        await _settle(pilot, lambda: table.row_count == 1)
        assert table.coordinate_to_cell_key((0, 0)).row_key.value.startswith("20261117-120000-dddd")
        assert app.query_one(ConsoleHeader).pending == 1


async def test_the_first_frame_comes_before_the_configuration(tmp_path: Path) -> None:
    import threading

    from console.errors import ConfigError, Problem
    from console.model.load import load_config
    from console.ui import make_app
    from tests.ui.conftest import ROOT

    release = threading.Event()

    def slow_load():  # type: ignore[no-untyped-def]
        release.wait(5)
        return load_config(ROOT / "sample_inventory.toml")

    seed.estate(tmp_path / "store.db")
    app = make_app(slow_load, _settings(tmp_path), spawn=lambda *a: None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert not app.ready and "loading the inventory" in str(
            app.query_one(ConsoleHeader).render()
        )
        await pilot.press("l")  # nothing to launch yet: said, not crashed
        await _settle(
            pilot, lambda: any("still loading" in str(n.message) for n in app._notifications)
        )
        release.set()
        await _settle(pilot, lambda: app.query_one("#pipelines", DataTable).row_count == 6)
        assert "Mercy General" in str(app.query_one(ConsoleHeader).render())

    def broken():  # type: ignore[no-untyped-def]
        raise ConfigError([Problem("inventory.toml", 3, "inventory.bogus", "unknown key 'bogus'")])

    failing = make_app(broken, _settings(tmp_path), spawn=lambda *a: None)
    async with failing.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
    assert failing.return_code == 2


async def test_a_changed_cell_redraws_its_own_row_and_not_the_whole_matrix(
    console_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    hosts = tuple(f"web-{i:02d}" for i in range(30))
    seed.launch(store, RUN_30, seed.T0 + 7000, hosts=hosts)
    drawn: list[object] = []
    draw_row = DataTable._render_line_in_row

    def counted(self, row_key, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(self, RunMatrix):
            drawn.append(row_key.value)
        return draw_row(self, row_key, *args, **kwargs)

    monkeypatch.setattr(DataTable, "_render_line_in_row", counted)
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 1)
        await pilot.press("tab", "enter")
        await _settle(pilot, lambda: isinstance(app.focused, RunMatrix))
        matrix = app.query_one(RunMatrix)
        await pilot.press("j", "j")
        await pilot.pause(0.3)
        drawn.clear()
        store.append(
            [
                ev.StepStarted(
                    run_id=RUN_30,
                    at=seed.T0 + 7001,
                    stage="preflight",
                    step="disk space",
                    host="web-07",
                )
            ]
        )
        await _settle(
            pilot, lambda: "running" in str(matrix.get_cell("web-07", "preflight\x1fdisk space"))
        )
        await pilot.pause(0.3)
        rows = {row for row in drawn if row is not None}  # None: the header
        assert rows == {"web-07"}, rows


RUN_30 = "20261117-120000-dddd"


async def test_the_gates_pane_says_which_decisions_do_not_count(
    console_app, tmp_path: Path
) -> None:
    from dataclasses import replace

    from console.policy import Policy

    store = seed.estate(tmp_path / "store.db")
    run = "20261117-120000-dddd"
    seed.launch(store, run, seed.T0 + 7250, operator="carol")
    seed.waiting(store, run, seed.T0 + 7255)
    opened = next(e.event for e in store.read(run, kinds=("gate_opened",)))
    signed = Policy(environments=("prod",), signed_approvals=True).as_dict()
    store.append([replace(opened, at=seed.T0 + 7256, policy=signed)])  # type: ignore[type-var]
    forged = ev.GateDecided(
        run_id=run,
        at=seed.T0 + 7257,
        stage="approval",
        step="change board",
        decision="approve",
        actor="dave",
        plan_digest=opened.plan_digest,  # type: ignore[attr-defined]
    )
    store.append([forged])
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("3")
        table = app.query_one("#gate-list", DataTable)
        await _settle(pilot, lambda: table.row_count == 2)
        cell = str(table.get_cell(f"{run}\x1fapproval\x1fchange board", "approvals"))
        assert cell.startswith("0 of 1") and "ignored: not signed (dave)" in cell
        await pilot.press("j")  # the newer gate: its line under the table says it in full
        detail = str(app.query_one("#gate-detail").render())
        assert detail == (
            f"{run} › change board: approved by nobody yet; ignored: dave's approve (not signed)"
        )


def _settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from console.settings import Settings

    return Settings(None, None, tmp_path / "store.db", "alice")


async def test_the_home_cursors_stay_on_what_was_chosen_while_runs_arrive(
    console_app, tmp_path: Path
) -> None:
    """A run launched from another terminal must not move the cursor: `l` or Enter would then
    launch or open something the operator did not choose."""
    store = seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        runs = app.query_one("#runs", DataTable)
        pipelines = app.query_one("#pipelines", DataTable)
        await _settle(pilot, lambda: runs.row_count == 3 and pipelines.row_count == 6)
        await pilot.press("down", "down")  # the third pipeline
        chosen = pipelines.coordinate_to_cell_key(pipelines.cursor_coordinate).row_key.value
        await pilot.press("tab", "down")  # the second run
        assert app.query_one(HomePane).run_under_cursor() == "20261117-100000-bbbb"
        seed.launch(store, "20261117-120000-dddd", seed.T0 + 10800)
        await _settle(pilot, lambda: runs.row_count == 4)
        store.append(
            [ev.RunFinished(run_id="20261117-120000-dddd", at=seed.T0 + 10900, status="failed")]
        )
        await _settle(
            pilot, lambda: runs.get_cell("20261117-120000-dddd", "status").plain.endswith("failed")
        )
        assert app.query_one(HomePane).run_under_cursor() == "20261117-100000-bbbb"
        assert pipelines.coordinate_to_cell_key(pipelines.cursor_coordinate).row_key.value == chosen
        # the pipelines' last result follows every status, not only launches and ends
        assert str(pipelines.get_cell("deploy-ehr-web", "last")) == "✗ failed"
        await pilot.press("slash", *"bbbb")  # a filter keeps it too
        assert app.query_one(HomePane).run_under_cursor() == "20261117-100000-bbbb"
        await pilot.press("escape", "tab", "enter")
        await _settle(pilot, lambda: app.open_run is not None)
        assert app.open_run == "20261117-100000-bbbb"


def _footer_keys(app) -> set[str]:  # type: ignore[no-untyped-def]
    """The descriptions of the keys the footer shows for the focused pane."""
    return {
        b.binding.description
        for b in app.default_screen.active_bindings.values()
        if b.binding.show and b.enabled
    }


async def test_each_key_does_one_thing_per_pane_and_the_footer_shows_only_those(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app(operator="carol")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one(ConsoleHeader).pending == 1 and app.ready)
        keys = _footer_keys(app)
        assert "Launch" in keys and not keys & {"Approve", "Reject", "Cancel run", "Replay"}
        await pilot.press("tab")  # the runs list: its run can be replayed or run again
        assert {"Replay", "Re-run"} <= _footer_keys(app) and "Launch" not in _footer_keys(app)
        await pilot.press("3")
        await _settle(pilot, lambda: app.focused is not None and app.focused.id == "gate-list")
        keys = _footer_keys(app)
        assert {"Approve", "Reject"} <= keys and not keys & {"Launch", "Cancel run", "Re-run"}
        await pilot.press("l")  # moves right on the gates pane, never opens a launch form
        await pilot.pause(0.2)
        assert not isinstance(app.screen, LaunchDialog)
        await pilot.press("4")
        await _settle(pilot, lambda: app.focused is not None and app.focused.id == "audit-list")
        await pilot.press("l", "a", "c")
        await pilot.pause(0.2)
        assert app.screen is app.default_screen
        assert not _footer_keys(app) & {"Launch", "Approve", "Cancel run"}


async def test_the_keys_panel_closes_with_the_key_that_opened_it_and_with_esc(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.ready)
        await pilot.press("question_mark")
        await _settle(pilot, lambda: bool(app.screen.query("HelpPanel")))
        await pilot.press("question_mark")
        await _settle(pilot, lambda: not app.screen.query("HelpPanel"))
        await pilot.press("question_mark")
        await _settle(pilot, lambda: bool(app.screen.query("HelpPanel")))
        await pilot.press("escape")
        await _settle(pilot, lambda: not app.screen.query("HelpPanel"))


async def test_a_dialog_shows_its_own_keys_and_not_the_consoles(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.ready)
        await pilot.press("l")
        await _settle(pilot, lambda: isinstance(app.screen, LaunchDialog))
        await pilot.pause(0.2)
        assert not _footer_keys(app) & {"Launch", "Approve", "Cancel run", "Replay", "Filter"}
        shown = {b.binding.description for b in app.screen.active_bindings.values()}
        assert "Cancel" in shown
        assert app.screen.query("Footer")


async def test_a_cancelled_run_says_so_in_its_cells_bars_counts_and_title(
    console_app, tmp_path: Path
) -> None:
    """Cancelled at its gate: nothing after it ran, and nothing may look as if it had."""
    from console.ui.screens.panes import run_title
    from console.ui.widgets.stages import stage_text

    store = seed.estate(tmp_path / "store.db")
    run = "20261117-110000-cccc"
    at = seed.T0 + 7230
    store.append(
        [
            ev.CancelRequested(run_id=run, at=at, actor="carol"),
            ev.GateClosed(
                run_id=run, at=at + 0.1, stage="approval", step="change board", outcome="cancelled"
            ),
            ev.RunFinished(
                run_id=run, at=at + 0.2, status="cancelled", message="cancelled by carol"
            ),
        ]
    )
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.runs.get(run) is not None and app.runs[run].is_final)
        app.show_run(run)
        matrix = app.query_one(RunMatrix)
        await _settle(pilot, lambda: matrix.row_count == 2)
        assert str(matrix.get_cell("ehr-web-stg-01", "approval\x1fchange board")) == "⊘ cancelled"
        state = app.runs[run]
        title = run_title(state, app.clock()).plain
        assert "⊘ cancelled" in title and "cancelled by carol" in title
        assert "steps 2/5 ran · 2 skipped · 1 cancelled" in title
        strips = [stage_text(state, stage, app.clock()).plain for stage in state.stages]
        assert strips[0].startswith("✓ preflight ██████████ 2/2 ran")
        assert strips[1].startswith("⊘ approval ▒▒▒▒▒▒▒▒▒▒ 0/1 ran · 1 cancelled")
        assert strips[2].startswith("- rollout ╌╌╌╌╌╌╌╌╌╌ 0/2 ran · 2 skipped")


async def test_a_run_waiting_at_a_gate_keeps_counting_everywhere(
    console_app, tmp_path: Path
) -> None:
    """No event arrives while a gate waits: the clocks still run, on every pane."""
    seed.estate(tmp_path / "store.db")
    run = "20261117-110000-cccc"
    now = [seed.T0 + 7260.0]
    app = console_app(clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        runs = app.query_one("#runs", DataTable)
        await _settle(pilot, lambda: runs.row_count == 3 and app.query_one(ConsoleHeader).pending)
        started = seed.T0 + 7200.1
        assert str(runs.get_cell(run, "duration")) == format_duration(now[0] - started)
        now[0] += 120
        later = format_duration(now[0] - started)
        assert later != format_duration(60)
        await _settle(pilot, lambda: str(runs.get_cell(run, "duration")) == later)
        app.show_run(run)
        await _settle(pilot, lambda: later in str(app.query_one("#run-title").render()))
        await pilot.press("3")
        gates = app.query_one("#gate-list", DataTable)
        await _settle(pilot, lambda: gates.row_count == 1)
        waited = format_duration(now[0] - (seed.T0 + 7202))
        await _settle(pilot, lambda: str(gates.get_cell_at((0, 6))) == waited)


async def test_a_gate_shows_its_failing_checks_refuses_approval_and_c_runs_them_again(
    console_app, tmp_path: Path
) -> None:
    import dataclasses

    store = seed.estate(tmp_path / "store.db")
    waiting = "20261117-110000-cccc"
    opened = store.read(waiting, kinds=("gate_opened",))[0].event
    assert isinstance(opened, ev.GateOpened)
    results = [
        {
            "check": "curl -fsS https://ehr-web-stg-01/health",
            "where": "ehr-web-stg-01",
            "ok": False,
            "detail": "exit status 7",
        },
        {
            "check": "curl -fsS https://ehr-web-stg-02/health",
            "where": "ehr-web-stg-02",
            "ok": True,
            "detail": "passed",
        },
    ]
    store.append(
        [
            dataclasses.replace(opened, at=seed.T0 + 7300, checks=1),
            ev.GateChecked(
                run_id=waiting,
                at=seed.T0 + 7301,
                stage="approval",
                step="change board",
                results=results,
                passed=False,
            ),
        ]
    )
    app = console_app(operator="carol")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: app.ready)
        await pilot.press("3")
        gates = app.query_one("#gate-list", DataTable)
        await _settle(pilot, lambda: gates.row_count == 1)
        assert "checks ✗ 1 of 2" in str(gates.get_row_at(0)[7])
        detail = app.query_one("#gate-detail")
        said = "✗ curl -fsS https://ehr-web-stg-01/health on ehr-web-stg-01: exit status 7"
        await _settle(pilot, lambda: said in str(detail.render()))
        assert "(c runs the checks again)" in str(detail.render())
        await pilot.press("a")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, DecisionDialog)  # refused before any reason is typed
        await pilot.press("c")
        await _settle(pilot, lambda: bool(store.read(waiting, kinds=("checks_requested",))))
        asked = store.read(waiting, kinds=("checks_requested",))[0].event
        assert isinstance(asked, ev.ChecksRequested) and asked.actor == "carol"
        await _settle(pilot, lambda: "checks running" in str(gates.get_row_at(0)[7]))


async def test_a_chain_of_runs_is_one_line_that_opens_into_its_runs(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    first, second, third = "20261117-130000-ch01", "20261117-131000-ch02", "20261117-132000-ch03"
    seed.launch(store, first, seed.T0 + 14400, operator="alice")
    store.append([ev.RunFinished(run_id=first, at=seed.T0 + 14500, status="succeeded")])
    seed.launch(store, second, seed.T0 + 14510, operator="alice", follows=first)
    store.append(
        [
            ev.FollowerLaunched(
                run_id=first, at=seed.T0 + 14505, follower=second, pipeline="deploy-ehr-web"
            )
        ]
    )
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.query_one("#runs", DataTable)
        await _settle(pilot, lambda: runs.row_count == 4 and app.ready)
        keys = [str(r.key.value) for r in runs.ordered_rows]
        assert keys[0] == f"chain:{first}"  # the newest: one line for both runs
        line = [str(c) for c in runs.get_row(f"chain:{first}")]
        assert line[0].endswith(" running")  # where it has got to: the second run
        assert line[1] == first and line[2] == "▸ deploy-ehr-web → deploy-ehr-web (2 runs)"
        runs.focus()
        runs.move_cursor(row=0)
        await pilot.press("enter")
        await _settle(pilot, lambda: runs.row_count == 6)
        keys = [str(r.key.value) for r in runs.ordered_rows]
        assert keys[:3] == [f"chain:{first}", first, second]
        assert str(runs.get_row(second)[2]) == "  └ deploy-ehr-web"
        seed.launch(store, third, seed.T0 + 14600, operator="alice", follows=second)
        store.append([ev.RunFinished(run_id=second, at=seed.T0 + 14590, status="succeeded")])
        await _settle(pilot, lambda: runs.row_count == 7)
        assert "(3 runs)" in str(runs.get_row(f"chain:{first}")[2])
        runs.move_cursor(row=2)
        await pilot.press("enter")
        await _settle(pilot, lambda: app.open_run == second)
        await pilot.press("1")
        runs.move_cursor(row=0)
        runs.focus()
        await pilot.press("enter")  # the line closes again
        await _settle(pilot, lambda: runs.row_count == 4)


async def test_c_on_a_production_run_asks_before_cancelling(console_app, tmp_path: Path) -> None:
    from console.ui.dialogs.confirm import ConfirmDialog

    store = seed.estate(tmp_path / "store.db")
    prod, staging = "20261117-120000-prod", "20261117-110000-cccc"
    seed.launch(store, prod, seed.T0 + 7210, env="prod")
    app = console_app(operator="bob")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: prod in app.runs and app.ready)
        app.show_run(prod)
        await _settle(pilot, lambda: app.focused is not None and app.focused.id != "pipelines")
        await pilot.press("c")
        await _settle(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert not store.read(prod, kinds=("cancel_requested",))
        await pilot.press("c")
        await _settle(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")  # the keyboard starts on "keep it running"
        await pilot.pause(0.3)
        assert not store.read(prod, kinds=("cancel_requested",))
        await pilot.press("c")
        await _settle(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await _settle(pilot, lambda: bool(store.read(prod, kinds=("cancel_requested",))))
        app.show_run(staging)  # outside production, c cancels at once
        await pilot.pause(0.2)
        await pilot.press("c")
        await _settle(pilot, lambda: bool(store.read(staging, kinds=("cancel_requested",))))
        assert not isinstance(app.screen, ConfirmDialog)


async def test_a_production_gate_names_the_staging_run_that_let_the_version_in(
    console_app, tmp_path: Path
) -> None:
    from console.ui.dialogs.decision import DecisionDialog

    store = seed.estate(tmp_path / "store.db")
    prod, staged = "20261117-120000-prod", "20261117-090000-aaaa"
    met = {"environment": "staging", "run": staged, "same": {"version": "4.2.0"}}
    seed.launch(
        store,
        prod,
        seed.T0 + 7210,
        env="prod",
        promotion={"prod": {**met, "succeeded_at": seed.T0 + 30}},
    )
    seed.waiting(store, prod, seed.T0 + 7220)
    app = console_app(operator="carol")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: prod in app.runs and app.ready)
        await pilot.press("3")
        gates = app.query_one("#gate-list", DataTable)
        await _settle(pilot, lambda: gates.row_count == 2)
        keys = [str(r.key.value) for r in gates.ordered_rows]
        gates.move_cursor(row=next(i for i, k in enumerate(keys) if k.startswith(prod)))
        detail = app.query_one("#gate-detail")
        said = f"promoted, prod: staging run {staged} succeeded first (version=4.2.0, 2026-11-"
        await _settle(pilot, lambda: said in str(detail.render()))
        await pilot.press("a")
        await _settle(pilot, lambda: isinstance(app.screen, DecisionDialog))
        shown = " ".join(str(w.render()) for w in app.screen.query(".detail"))
        assert f"Promoted: prod: staging run {staged} succeeded first" in shown


@pytest.mark.parametrize(
    ("operator", "why"),
    [
        ("bob", "bob launched this run and so cannot approve its gates in staging"),
        ("mallory", "mallory is not an operator in the inventory's [operators] table"),
    ],
)
async def test_the_approve_form_opens_only_for_someone_who_may_decide(
    console_app, tmp_path: Path, operator: str, why: str
) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app(operator=operator)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one(ConsoleHeader).pending == 1 and app.ready)
        await pilot.press("3")
        await _settle(pilot, lambda: app.focused is not None and app.focused.id == "gate-list")
        await pilot.press("a")
        await _settle(pilot, lambda: bool(app._notifications))
        assert not isinstance(app.screen, DecisionDialog)
        said = " ".join(n.message for n in app._notifications)
        assert why in said and "run 20261117-110000-cccc, gate 'change board'" in said


async def test_the_gates_pane_keeps_decided_gates_below_the_open_ones(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    run = "20261117-110000-cccc"
    app = console_app(operator="carol")
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: app.query_one(ConsoleHeader).pending == 1 and app.ready)
        await pilot.press("3")
        history = app.query_one("#gate-history", DataTable)
        await _settle(pilot, lambda: app.focused is not None and app.focused.id == "gate-list")
        assert history.row_count == 0 and not app.query_one("#gate-empty").display
        store.append(
            [
                ev.GateDecided(
                    run_id=run,
                    at=seed.T0 + 7250,
                    stage="approval",
                    step="change board",
                    decision="approve",
                    actor="dmitri",
                    reason="fits the window",
                    ticket="CHG0001234",
                    plan_digest="ab12" * 16,
                ),
                ev.GateClosed(
                    run_id=run,
                    at=seed.T0 + 7251,
                    stage="approval",
                    step="change board",
                    outcome="approved",
                ),
            ]
        )
        await _settle(pilot, lambda: history.row_count == 1)
        row = [str(c) for c in history.get_row_at(0)]
        assert row[0] == run and row[3] == "change board" and row[4] == "✓ approved"
        assert row[5] == "dmitri (approve)" and row[7] == "CHG0001234 fits the window"
        assert row[8] == format_duration(49.0)  # opened at +7202, closed at +7251
        assert app.query_one("#gate-list", DataTable).row_count == 0
        assert app.query_one("#gate-empty").display  # says so rather than going blank
        await pilot.press("tab", "a")  # the history is not a place to approve from
        await pilot.pause(0.2)
        assert not isinstance(app.screen, DecisionDialog)


async def test_at_80_by_24_the_essentials_stay_in_view(console_app, tmp_path: Path) -> None:
    """The pending approvals and the clock, the footer's ? and q, the launch form's buttons,
    and the host column of a matrix scrolled right."""
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, lambda: app.query_one(ConsoleHeader).pending == 1 and app.ready)
        header = app.query_one(ConsoleHeader).render_line(0).text  # what fits on screen
        clock = time.strftime("%H:%M:%S", time.localtime(app.clock()))
        assert "⏸ 1 pending approval" in header and header.rstrip().endswith(clock)
        keys = {
            b.binding.key for b in app.default_screen.active_bindings.values() if b.binding.show
        }
        assert {"question_mark", "q"} <= keys
        await pilot.press("l")
        await _settle(pilot, lambda: isinstance(app.screen, LaunchDialog))
        await pilot.pause(0.3)
        for button in app.screen.query("Button"):
            assert button.region.bottom <= 23 and button.region.right <= 80, button.id
        await pilot.press("escape")
        app.show_run("20261117-110000-cccc")
        matrix = app.query_one(RunMatrix)
        await _settle(pilot, lambda: matrix.row_count == 2)
        matrix.focus()
        for _ in range(8):
            await pilot.press("l")
        await pilot.pause(0.3)
        assert matrix.scroll_x > 0  # it did scroll right
        assert "ehr-web-stg-01" in matrix.render_line(1).text


async def test_audit_records_read_in_words_and_open_whole(console_app, tmp_path: Path) -> None:
    from console.ui.dialogs.record import RecordDialog

    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: app.ready)
        await pilot.press("4")
        records = app.query_one("#audit-list", DataTable)
        await _settle(pilot, lambda: records.row_count > 5 and app.focused is records)
        words = [str(records.get_row_at(i)[5]) for i in range(records.row_count)]
        assert "launched deploy-ehr-web with version=4.2.0 on 2 hosts in staging" in words
        assert not any("{" in w or "=[" in w for w in words)  # words, not data
        records.move_cursor(row=0)
        await pilot.press("enter")
        await _settle(pilot, lambda: isinstance(app.screen, RecordDialog))
        shown = str(app.screen.query_one("#record").render())
        assert "action   run_launched" in shown and "hash     " in shown
        assert '"version": "4.2.0"' in shown  # nested values laid out, every field there
        await pilot.press("escape")
        await _settle(pilot, lambda: not isinstance(app.screen, RecordDialog))


async def test_filters_take_fields_on_runs_gates_and_audit_and_esc_clears_them(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app(operator="carol")
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.query_one("#runs", DataTable)
        pipelines = app.query_one("#pipelines", DataTable)
        await _settle(pilot, lambda: runs.row_count == 3 and app.ready)
        await pilot.press("slash", *"status:failed")
        assert [r.key.value for r in runs.ordered_rows] == ["20261117-100000-bbbb"]
        await pilot.press(*["backspace"] * 13, *"env:staging op:bob pipeline:deploy-*")
        assert {r.key.value for r in runs.ordered_rows} == {
            "20261117-090000-aaaa",
            "20261117-110000-cccc",
        }
        assert [r.key.value for r in pipelines.ordered_rows] == ["deploy-ehr-web"]
        await pilot.press("enter", "escape")  # Esc from the list, not the box, clears it too
        assert runs.row_count == 3 and not app.query_one("#filter", Input).display
        await pilot.press("3")
        gates = app.query_one("#gate-list", DataTable)
        await _settle(pilot, lambda: gates.row_count == 1)
        await pilot.press("slash", *"op:alice")
        await _settle(pilot, lambda: gates.row_count == 0)
        assert app.query_one("#gate-empty").display
        await pilot.press("enter", "escape")
        await _settle(pilot, lambda: gates.row_count == 1)
        assert app.query_one(TabbedContent).active == "gates"  # Esc cleared; it did not leave
        await pilot.press("4")
        records = app.query_one("#audit-list", DataTable)
        await _settle(pilot, lambda: records.row_count == 6)
        await pilot.press("slash", *"op:bob action:run_launched")
        await _settle(pilot, lambda: records.row_count == 2)
        await pilot.press("enter", "escape")
        await _settle(pilot, lambda: records.row_count == 6)


async def test_the_launch_form_says_nothing_is_wrong_before_anything_is_typed(
    console_app, tmp_path: Path
) -> None:
    from textual.widgets import Button, Label

    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: app.ready)
        await pilot.press("l")
        await _settle(pilot, lambda: isinstance(app.screen, LaunchDialog))
        await pilot.pause(0.2)
        version = app.screen.query_one("#param-version", Input)
        error = app.screen.query_one("#error", Label)
        assert version.placeholder == "e.g. 4.2.0"  # an example, not the pattern
        assert str(error.render()) == "" and not version.has_class("-invalid")
        await pilot.press(*"4.2")
        assert "does not match" in str(error.render())  # typed: now it says
        await pilot.press("backspace", "backspace", "backspace")
        app.screen.query_one("#launch", Button).press()
        await pilot.pause(0.2)
        assert isinstance(app.screen, LaunchDialog) and "version" in str(error.render())


async def test_a_launch_goes_into_the_environment_the_operator_chooses(
    console_app, tmp_path: Path
) -> None:
    """deploy-ehr-web's targets are in dev, staging and prod: nothing is planned until one is
    chosen, and all three only when chosen as such (with prod's typed confirmation)."""
    from textual.widgets import Button, Label, RadioSet

    spawned: list[str] = []
    seed.staged(tmp_path / "store.db", "4.2.0", time.time() - 3600)  # what prod requires
    app = console_app(spawned=spawned)
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: app.ready)
        app.launch("deploy-ehr-web")
        await _settle(pilot, lambda: isinstance(app.screen, LaunchDialog))
        dialog = app.screen
        await pilot.press(*"4.2.0")
        await pilot.pause()
        assert dialog.plan is None and str(dialog.query_one("#preview").render()) == ""
        dialog.query_one("#launch", Button).press()
        await pilot.pause(0.2)
        error = str(dialog.query_one("#error", Label).render())
        assert "Choose the environment to launch into: dev, staging and prod." in error
        assert isinstance(app.screen, LaunchDialog) and not spawned
        choices = dialog.query_one("#environment", RadioSet)
        assert [str(b.label) for b in choices.query("RadioButton")] == [
            "dev",
            "staging",
            "prod",
            "all of them",
        ]
        choices.focus()
        await pilot.press("down", "enter")  # staging
        await _settle(pilot, lambda: dialog.plan is not None)
        assert dialog.plan.hosts == ["ehr-web-stg-01", "ehr-web-stg-02"]
        assert not dialog.query_one("#confirm").display  # staging needs no typed name
        await pilot.press("down", "down", "enter")  # all of them
        await _settle(pilot, lambda: dialog.plan is not None and len(dialog.plan.hosts) > 2)
        assert dialog.plan.environments() == ["dev", "staging", "prod"]
        assert "type 'prod' to confirm" in str(dialog.query_one("#confirm-label").render())
        dialog.query_one("#confirm", Input).value = "prod"
        dialog.query_one("#launch", Button).press()
        await _settle(pilot, lambda: bool(spawned))
        launched = SQLiteStore(tmp_path / "store.db").read(spawned[0])[0].event
        assert isinstance(launched, ev.RunLaunched)
        assert launched.environments == ["dev", "staging", "prod"]


async def test_the_launch_form_says_whether_prod_takes_the_version_typed(
    console_app, tmp_path: Path
) -> None:
    """Prod takes only a version that succeeded in staging in the last 14 days: the form says
    so as the version is typed, and does not launch one that did not."""
    from textual.widgets import Button, Label

    spawned: list[str] = []
    seed.staged(tmp_path / "store.db", "4.2.0", time.time() - 2 * 86400)
    seed.staged(tmp_path / "store.db", "4.1.0", time.time() - 20 * 86400, "20261110-090000-old1")
    app = console_app(spawned=spawned)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("enter", *"4.2.1", "tab", "tab", *"ehr-web-01")
        dialog = app.screen
        assert isinstance(dialog, LaunchDialog)
        promotion = dialog.query_one("#promotion")
        await _settle(pilot, lambda: "✗" in str(promotion.render()))
        assert (
            "deploy-ehr-web version=4.2.1 has not succeeded in staging in the last 14 days, "
            "and prod takes only what did; launch it into staging first"
        ) in str(promotion.render())
        dialog.query_one("#confirm", Input).value = "prod"
        dialog.query_one("#launch", Button).press()
        await pilot.pause(0.3)
        assert "has not succeeded in staging" in str(dialog.query_one("#error", Label).render())
        assert isinstance(app.screen, LaunchDialog) and not spawned
        version = dialog.query_one("#param-version", Input)
        version.value = "4.1.0"  # succeeded in staging, but twenty days ago
        await _settle(pilot, lambda: "version=4.1.0 has not" in str(promotion.render()))
        version.value = "4.2.0"
        await _settle(pilot, lambda: "✓" in str(promotion.render()))
        said = str(promotion.render())
        assert "prod takes deploy-ehr-web version=4.2.0: it succeeded in staging 2 days ago" in said
        assert "(run 20261130-090000-stg1)" in said
        dialog.query_one("#launch", Button).press()
        await _settle(pilot, lambda: bool(spawned))
        launched = SQLiteStore(tmp_path / "store.db").read(spawned[0])[0].event
        assert isinstance(launched, ev.RunLaunched)
        assert launched.promotion["prod"]["run"] == "20261130-090000-stg1"


async def test_a_yes_or_no_param_is_a_switch(console_app, tmp_path: Path) -> None:
    from textual.widgets import Switch

    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: app.ready)
        app.launch("migrate-ehr-db")
        await _settle(pilot, lambda: isinstance(app.screen, LaunchDialog))
        dialog = app.screen
        switch = dialog.query_one("#param-dry_run", Switch)
        assert switch.value is False  # its default
        assert (
            dialog.query_one("#param-migration", Input).placeholder == "a whole number from 1 to …"
        )
        await pilot.press(*"7")
        await pilot.click("#env-0")  # staging, of staging and prod
        await pilot.click("#param-dry_run")
        await _settle(
            pilot, lambda: dialog.plan is not None and dialog.plan.params.get("dry_run") is True
        )
        assert dialog.plan.params["migration"] == 7


async def test_the_host_view_shows_a_host_and_opens_any_of_its_steps_output(
    console_app, tmp_path: Path
) -> None:
    """Enter on a matrix row opens the host: where it is, how it is reached, and each step's
    last result on it across runs; Enter on one of those opens that run on the step's output."""
    from console.ui.screens.host import HostScreen
    from console.ui.widgets.logs import LogPane

    store = seed.estate(tmp_path / "store.db")
    newest = "20261117-120000-dddd"
    seed.launch(store, newest, seed.T0 + 7250)
    seed.step(store, newest, seed.T0 + 7251, "ehr-web-stg-02", "failed", b"use 99%\n")
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: app.ready and newest in app.runs)
        app.show_run("20261117-090000-aaaa")
        matrix = app.query_one(RunMatrix)
        await _settle(pilot, lambda: matrix.row_count == 2)
        matrix.focus()
        await pilot.press("j", "enter")  # the second host's row
        await _settle(pilot, lambda: isinstance(app.screen, HostScreen))
        screen = app.screen
        assert str(screen.query_one("#host-title").render()) == "Host ehr-web-stg-02 · staging"
        shown = screen.query_one("#host-details")
        details = [shown.render_line(y).text.rstrip() for y in range(shown.size.height)]
        assert "address     deploy@10.30.1.12:22" in details
        assert "groups      ehr-web, ehr, staging" in details
        assert any("service=ehr-web port=8443" in line for line in details)  # the group's
        assert any(line.startswith("host key    none on record") for line in details)
        history = screen.query_one("#host-history", DataTable)
        rows = [[str(c) for c in history.get_row_at(i)] for i in range(history.row_count)]
        # the failed check of the newest run that ran it on this host, not the older ok ones
        assert [r[1:5] for r in rows] == [
            ["✗ failed (exit 1)", "preflight › disk space", newest, "deploy-ehr-web"]
        ]
        await pilot.press("enter")
        await _settle(pilot, lambda: app.open_run == newest)
        await _settle(pilot, lambda: matrix.cursor_coordinate.row == 1)
        assert not isinstance(app.screen, HostScreen)
        key = matrix.coordinate_to_cell_key(matrix.cursor_coordinate)
        assert (key.row_key.value, key.column_key.value) == (
            "ehr-web-stg-02",
            "preflight\x1fdisk space",
        )
        view = app.query_one(LogPane).lines
        await _settle(pilot, lambda: any("use 99%" in line for line in view.lines))


async def test_the_palette_opens_a_host_and_a_typo_is_said(console_app, tmp_path: Path) -> None:
    from console.ui.screens.host import HostScreen

    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.ready)
        await _palette(pilot, app, "host ehr-db-01")
        await _settle(pilot, lambda: isinstance(app.screen, HostScreen))
        assert "No step has run on this host in the 3 newest runs" in str(
            app.screen.query_one("#host-caption").render()
        )
        await pilot.press("escape")
        await _settle(pilot, lambda: not isinstance(app.screen, HostScreen))
        app.show_host("ehr-web-stg-1")
        await _settle(
            pilot,
            lambda: any(
                "no host 'ehr-web-stg-1' in the inventory" in str(n.message)
                and "did you mean 'ehr-web-stg-01'?" in str(n.message)
                for n in app._notifications
            ),
        )


async def test_the_console_says_once_when_others_may_write_its_store_file(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db")
    for path in tmp_path.glob("store.db*"):
        path.chmod(0o666)
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        said = "decisions in it are only as trustworthy as every account that can write the file"
        await _settle(pilot, lambda: any(said in str(n.message) for n in app._notifications))
        assert sum(said in str(n.message) for n in app._notifications) == 1
