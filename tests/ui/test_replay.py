"""Replay and re-run in the console, driven with Pilot on a real store."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from console import events as ev
from console.engine.plan import plan_run, with_pipeline
from console.model.load import load_config, pipeline_from_text
from console.ops.launch import record as create_run
from console.store.sqlite import SQLiteStore
from console.ui.dialogs.rerun import RerunDialog
from console.ui.screens.replay import ReplayScreen
from console.ui.widgets.logview import LogView
from console.ui.widgets.matrix import RunMatrix
from console.ui.widgets.stages import StageStrip
from tests.ui import seed
from tests.ui.conftest import ROOT
from tests.ui.test_console import SIZE, _settle

FAILED_RUN = "20261117-100000-bbbb"
WAITING = "20261117-110000-cccc"


def _cells(matrix: RunMatrix) -> list[list[str]]:
    return [[str(c) for c in matrix.get_row_at(i)] for i in range(matrix.row_count)]


def _strip(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(StageStrip).render())


async def _replay(app, pilot, run_id: str = FAILED_RUN) -> ReplayScreen:  # type: ignore[no-untyped-def]
    await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
    app.show_run(run_id)
    await _settle(
        pilot, lambda: app.mounted(RunMatrix) is not None and app.query_one(RunMatrix).row_count
    )
    await pilot.press("p")
    await _settle(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen.timeline)
    screen = app.screen
    assert isinstance(screen, ReplayScreen)
    return screen


def _logs(screen: ReplayScreen) -> str:
    return "\n".join(str(line) for line in screen.query_one(LogView).lines)


async def test_replayed_to_the_end_the_panes_show_what_the_live_view_showed(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
        app.show_run(FAILED_RUN)
        await _settle(
            pilot,
            lambda: app.mounted(RunMatrix) is not None and app.query_one(RunMatrix).row_count == 2,
        )
        live_cells, live_strip = _cells(app.query_one(RunMatrix)), _strip(app)
        assert "failed" in str(live_cells)
        await pilot.press("p")
        await _settle(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        await pilot.press("G")
        await _settle(pilot, lambda: _cells(screen.query_one(RunMatrix)) == live_cells)
        assert _strip(app) == live_strip
        assert app.runs[FAILED_RUN] == screen.timeline.state(screen.cursor)  # type: ignore[union-attr]
        await _settle(pilot, lambda: "use 97%" in _logs(screen))


async def test_each_key_moves_the_cursor_as_it_says(console_app, tmp_path: Path) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _replay(app, pilot)
        timeline = screen.timeline
        assert timeline is not None and screen.playing
        await pilot.press("space")
        assert not screen.playing
        await pilot.press("g")
        assert screen.cursor == timeline.first
        check = ("preflight", "disk space", "ehr-web-stg-01")
        assert timeline.state(screen.cursor).cells[check].status == "pending"
        await pilot.press("right_square_bracket")
        assert timeline.state(screen.cursor).cells[check].status == "running"
        started = screen.cursor
        await pilot.press("full_stop")  # the output chunk, then the step's end
        assert screen.cursor == timeline.next_event(started)
        await pilot.press("comma")
        assert screen.cursor == started
        await pilot.press("f")
        assert timeline.state(screen.cursor).cells[check].status == "failed"
        await pilot.press("left_square_bracket")
        assert screen.cursor == started
        await pilot.press("G")
        assert screen.cursor == timeline.last
        assert "+10s of 10s" in str(screen.query_one("TimelineBar").render())
        await pilot.press("plus", "plus")
        assert screen.speed == 4.0
        await pilot.press("minus")
        assert screen.speed == 2.0
        await pilot.press("plus", "plus", "plus", "g", "space")  # as fast as it draws
        assert screen.speed == float("inf")
        await _settle(pilot, lambda: screen.cursor == timeline.last and not screen.playing)
        await pilot.press("1")  # the console's keys rest under the replay
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("q")
        assert not isinstance(app.screen, ReplayScreen)


async def test_the_output_pane_shows_what_had_been_printed_by_the_cursor(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    seed.output(store, FAILED_RUN, "ehr-web-stg-01", [b"after the end\n"], at=seed.T0 + 3605)
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _replay(app, pilot)
        await pilot.press("space", "g")
        await _settle(
            pilot, lambda: "as it stood" in str(screen.query_one("LogPane").border_subtitle)
        )
        assert "use 97%" not in _logs(screen)
        await pilot.press("f")
        await _settle(pilot, lambda: "use 97%" in _logs(screen))
        assert "after the end" not in _logs(screen)
        await pilot.press("G")
        await _settle(pilot, lambda: "after the end" in _logs(screen))


def _sample_run(store: SQLiteStore, edited: bool) -> str:
    """A failed deploy-ehr-web run launched from the sample (or from an older text of it)."""
    config = load_config(ROOT / "sample_inventory.toml")
    if edited:
        pf = config.pipelines["deploy-ehr-web"]
        older = pf.source.text.replace("one host at a time", "a host at a time")
        config = with_pipeline(config, pipeline_from_text(pf.source.path, older))
    plan = plan_run(
        config, "deploy-ehr-web", {"version": "4.2.0"}, "alice", "ehr-web-stg-01,ehr-web-stg-02"
    )
    create_run(store, plan)
    run, at = plan.run_id, seed.T0 + 9000
    store.append(
        [
            ev.StepStarted(
                run_id=run, at=at, stage="preflight", step="disk space", host="ehr-web-stg-02"
            ),
            ev.StepFinished(
                run_id=run,
                at=at + 1,
                stage="preflight",
                step="disk space",
                host="ehr-web-stg-02",
                status="failed",
            ),
            ev.RunFinished(run_id=run, at=at + 2, status="failed"),
        ]
    )
    return run


async def _rerun(app, pilot, run_id: str, key: str) -> RerunDialog:  # type: ignore[no-untyped-def]
    await _settle(pilot, lambda: run_id in app.runs and app.ready)
    app.show_run(run_id)
    await _settle(
        pilot, lambda: app.open_run == run_id and app.query_one("TabbedContent").active == "run"
    )
    await pilot.press(key)
    await _settle(pilot, lambda: isinstance(app.screen, RerunDialog))
    return app.screen


async def test_f_re_runs_the_failed_hosts_after_confirming(console_app, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    run = _sample_run(store, edited=False)
    spawned: list[str] = []
    app = console_app(spawned=spawned)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _rerun(app, pilot, run, "F")
        assert dialog.preview.hosts == ["ehr-web-stg-02"] and dialog.preview.diff is None
        await pilot.press("enter")
        await _settle(pilot, lambda: len(spawned) == 1)
    again = [r.id for r in store.runs() if r.id != run]
    assert again == spawned
    launched = store.read(spawned[0], limit=1)[0].event
    assert isinstance(launched, ev.RunLaunched)
    assert launched.repeats == run and launched.targets == ["ehr-web-stg-02"]


async def test_r_on_a_changed_pipeline_shows_the_diff_and_runs_the_chosen_version(
    console_app, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    run = _sample_run(store, edited=True)
    spawned: list[str] = []
    app = console_app(spawned=spawned)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _rerun(app, pilot, run, "R")
        assert dialog.preview.diff is not None
        assert "-description" in dialog.preview.diff and "+description" in dialog.preview.diff
        await pilot.press("s")
        await _settle(pilot, lambda: len(spawned) == 1)
        dialog = await _rerun(app, pilot, run, "R")
        await pilot.press("c")
        await _settle(pilot, lambda: len(spawned) == 2)
        await _rerun(app, pilot, run, "R")
        await pilot.press("escape")
        await pilot.pause(0.2)
    assert len(spawned) == 2
    first, second = (store.read(r, limit=1)[0].event for r in spawned)
    assert isinstance(first, ev.RunLaunched) and isinstance(second, ev.RunLaunched)
    original = store.read(run, limit=1)[0].event
    assert isinstance(original, ev.RunLaunched)
    assert first.stored_version and first.pipeline_digest == original.pipeline_digest
    assert not second.stored_version and second.pipeline_digest != original.pipeline_digest


async def test_the_replay_command_plays_a_run_alone_and_q_leaves(tmp_path: Path) -> None:
    from console.ui.screens.replay import ReplayApp

    seed.estate(tmp_path / "store.db").close()
    app = ReplayApp(tmp_path / "store.db", FAILED_RUN, float("inf"))
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen) and screen.speed == float("inf")
        await _settle(pilot, lambda: not screen.playing and screen.cursor == screen.timeline.last)  # type: ignore[union-attr]
        await pilot.press("q")
        await pilot.pause(0.1)
    assert app.return_code == 0


def test_the_replay_command_names_a_run_it_cannot_find(tmp_path: Path, capsys) -> None:
    from console.cli import main

    seed.estate(tmp_path / "store.db").close()
    assert main(["replay", "nosuchrun", "--store", str(tmp_path / "store.db")]) == 2
    err = capsys.readouterr().err
    assert "nosuchrun" in err and "Traceback" not in err


async def test_the_console_records_a_run_whose_runner_died_as_interrupted(
    console_app, tmp_path: Path
) -> None:
    import socket
    import subprocess

    store = seed.estate(tmp_path / "store.db")
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer runs
    store.append(
        [ev.RunStarted(run_id=WAITING, at=seed.T0 + 7203, pid=gone.pid, node=socket.gethostname())]
    )
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(
            pilot,
            lambda: WAITING in app.runs and app.runs[WAITING].interrupted is not None,
            timeout=10,
        )
        assert app.runs[WAITING].status == "interrupted"
    kinds = [s.event.kind for s in SQLiteStore(tmp_path / "store.db").read(WAITING)]
    assert kinds.count("run_interrupted") == 1


async def test_the_replay_of_a_chain_moves_from_run_to_run(console_app, tmp_path: Path) -> None:
    """n and N move to the next and previous run of a chain; played to its end, a run's
    replay goes on into the run its success launched."""
    store = seed.estate(tmp_path / "store.db")
    first, second = "20261117-130000-ch01", "20261117-131000-ch02"
    seed.launch(store, first, seed.T0 + 14400)
    store.append(
        [
            ev.RunFinished(run_id=first, at=seed.T0 + 14402, status="succeeded"),
            ev.FollowerLaunched(
                run_id=first, at=seed.T0 + 14403, follower=second, pipeline="deploy-ehr-web"
            ),
        ]
    )
    seed.launch(store, second, seed.T0 + 14404, follows=first)
    store.append([ev.RunFinished(run_id=second, at=seed.T0 + 14406, status="succeeded")])
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot, lambda: app.ready and first in app.runs)
        app.show_run(first)
        await _settle(pilot, lambda: app.mounted(RunMatrix) is not None)
        await pilot.press("p")
        await _settle(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen.timeline)
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await pilot.press("n")
        await _settle(pilot, lambda: screen.run_id == second)
        assert second in str(screen.query_one("#replay-title").render())
        await pilot.press("N")
        await _settle(pilot, lambda: screen.run_id == first)
        await pilot.press("g")
        for _ in range(5):
            await pilot.press("plus")  # as fast as it draws
        await pilot.press("space")
        await _settle(pilot, lambda: screen.run_id == second)  # played on into the next run
