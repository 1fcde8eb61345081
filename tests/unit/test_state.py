"""The fold: the same events always give the same state, whichever reader folds them."""

from __future__ import annotations

from console import events as ev
from console.state import GATE_HOST, fold, step_rows

PLAN = [
    ev.StagePlan(
        name="pre",
        strategy="parallel",
        steps=[ev.StepPlan(name="disk", kind="check", hosts=["a", "b"])],
    ),
    ev.StagePlan(
        name="gate",
        strategy="parallel",
        steps=[ev.StepPlan(name="cb", kind="gate", hosts=["a", "b"])],
    ),
    ev.StagePlan(
        name="roll",
        strategy="rolling",
        steps=[ev.StepPlan(name="sw", kind="run", hosts=["a", "b"])],
    ),
]


def _launched() -> ev.RunLaunched:
    return ev.RunLaunched(
        run_id="r",
        at=1.0,
        pipeline="p",
        pipeline_digest="d",
        pipeline_path="x",
        inventory_path="i",
        inventory_digest="e",
        params={"v": "1"},
        targets=["a", "b"],
        environments=["prod"],
        operator="alice",
        stages=PLAN,
    )


def _events() -> list[ev.Event]:
    return [
        _launched(),
        ev.RunStarted(run_id="r", at=2.0, pid=1, node="n"),
        ev.StepStarted(run_id="r", at=3.0, stage="pre", step="disk", host="a"),
        ev.Output(
            run_id="r", at=3.1, stage="pre", step="disk", host="a", stream="stdout", data=b"ok\n"
        ),
        ev.StepFinished(
            run_id="r", at=3.5, stage="pre", step="disk", host="a", status="ok", exit_code=0
        ),
        ev.StepStarted(run_id="r", at=3.0, stage="pre", step="disk", host="b"),
        ev.StepFinished(
            run_id="r",
            at=3.6,
            stage="pre",
            step="disk",
            host="b",
            status="failed",
            exit_code=1,
            attempt=1,
        ),
        ev.StepStarted(run_id="r", at=3.7, stage="pre", step="disk", host="b", attempt=2),
        ev.StepFinished(
            run_id="r",
            at=3.9,
            stage="pre",
            step="disk",
            host="b",
            status="ok",
            exit_code=0,
            attempt=2,
        ),
        ev.GateOpened(
            run_id="r", at=4.0, stage="gate", step="cb", message="go?", approvals_required=2
        ),
    ]


def test_launch_lays_out_every_cell_pending() -> None:
    state = fold([_launched()])
    assert state.status == "queued"
    assert {c.status for c in state.cells.values()} == {"pending"}
    assert ("gate", "cb", GATE_HOST) in state.cells and len(state.cells) == 5


def test_steps_and_retries_fold_into_cells_and_output_only_moves_the_clock() -> None:
    events = _events()
    state = fold(events)
    without_output = fold(e for e in events if not isinstance(e, ev.Output))
    assert state.status == "waiting"
    assert without_output == state  # output is not the last event here, so even the clock agrees
    a, b = state.cells[("pre", "disk", "a")], state.cells[("pre", "disk", "b")]
    assert (a.status, a.attempts) == ("ok", 1)
    assert (b.status, b.attempts, b.started_at, b.finished_at) == ("ok", 2, 3.0, 3.9)


def test_gate_counts_distinct_approvers_and_closes() -> None:
    events = _events() + [
        ev.GateDecided(
            run_id="r", at=5.0, stage="gate", step="cb", decision="approve", actor="bob"
        ),
        ev.GateDecided(
            run_id="r", at=5.1, stage="gate", step="cb", decision="approve", actor="bob"
        ),
        ev.GateDecided(
            run_id="r", at=5.2, stage="gate", step="cb", decision="approve", actor="carol"
        ),
        ev.GateClosed(run_id="r", at=5.3, stage="gate", step="cb", outcome="approved"),
    ]
    state = fold(events)
    assert state.gates[("gate", "cb")].approvers == ["bob", "carol"]
    assert state.status == "running"
    assert state.cells[("gate", "cb", GATE_HOST)].status == "ok"


def test_finish_skips_what_never_ran() -> None:
    state = fold(_events() + [ev.RunFinished(run_id="r", at=9.0, status="rejected", message="no")])
    assert state.status == "rejected" and state.is_final
    rows = {(r["step"], r["host"]): r["status"] for r in step_rows(state)}
    assert rows[("sw", "a")] == rows[("cb", GATE_HOST)] == "skipped"


def test_folding_in_pieces_equals_folding_at_once() -> None:
    events = _events()
    whole = fold(events)
    pieces = fold(events[5:], fold(events[:5]))
    assert whole == pieces


def _ran(run_id: str, at: float, status: ev.StepStatus, host: str = "a") -> list[ev.Event]:
    launched = _launched()
    return [
        ev.RunLaunched(**{**vars(launched), "run_id": run_id, "at": at}),
        ev.StepStarted(run_id=run_id, at=at + 1, stage="pre", step="disk", host=host),
        ev.StepFinished(
            run_id=run_id, at=at + 2, stage="pre", step="disk", host=host, status=status
        ),
        ev.RunFinished(run_id=run_id, at=at + 3, status="failed"),
    ]


def test_a_hosts_history_keeps_each_steps_last_result_and_leaves_out_what_never_ran() -> None:
    from console.runbook import host_history

    older = fold(_ran("r1", 10.0, "ok"))
    newer = fold(_ran("r2", 20.0, "failed"))
    elsewhere = fold(_ran("r3", 30.0, "ok", host="b"))  # a's cells never began in r3
    found = host_history([newer, elsewhere, older], "a")
    assert [(h.run.id, h.cell.stage, h.cell.step, h.cell.status) for h in found] == [
        ("r2", "pre", "disk", "failed")
    ]
    assert found[0].at == 22.0
    assert [h.run.id for h in host_history([older, newer, elsewhere], "b")] == ["r3"]
    assert host_history([elsewhere], "a") == []  # skipped and pending cells are not results
