"""Resuming an interrupted run: what it would do, whether it may, and the record that it did."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console import events as ev
from console.errors import RunChanged, WrongState
from console.ops.interrupted import spawn_teller
from console.ops.rights import authorize
from console.ops.runs import (
    NON_OUTPUT,
    kept_scripts,
    record_lost_runner,
    step_label,
    stored_state,
)
from console.state import RunState
from console.store import Store

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.model.config import Config

LEFT = ("pending", "running", "unknown", "waiting")
"""Step statuses a resumed run runs (again)."""


def check_resumable(state: RunState) -> None:
    """Refuse, in words, to resume a run that is not interrupted."""
    if state.status == "interrupted" and state.cancel_requested_by is None:
        return
    if state.cancel_requested_by is not None and not state.is_final:
        raise WrongState(
            f"run {state.id} was being cancelled by {state.cancel_requested_by} when its runner "
            f"stopped; `opsconsole cancel {state.id}` ends it"
        )
    if state.is_final:
        raise WrongState(
            f"run {state.id} has ended ({state.status}); nothing to resume — "
            f"`opsconsole rerun {state.id}` launches it again"
        )
    where = f" (runner pid {state.runner_pid} on {state.runner_node})" if state.runner_pid else ""
    raise WrongState(f"run {state.id} is {state.status}{where}; only an interrupted run resumes")


def outline(state: RunState) -> list[str]:
    """What resuming will do: each host's first unfinished step, and the steps that run again
    although they may have run."""
    first: dict[str, str] = {}
    for cell in state.cells.values():
        if cell.status in LEFT and cell.host not in first:
            first[cell.host] = f"{cell.stage} › {cell.step}"
    lines = [f"  {host}: from {step}" for host, step in first.items()]
    again = [step_label(c) for c in state.cells.values() if c.status == "unknown"]
    if again:
        lines.append(
            "These steps were running when the runner stopped; they may have run, and run again:"
        )
        lines += [f"  {label}" for label in again]
    return lines or ["  no step is left to run: the run will be finished"]


def record_resume(store: Store, state: RunState, actor: str, seen: int) -> ev.RunResumed:
    """Record that `actor` resumes the run (the audit trail keeps it), and return the event.

    `seen` is the run's newest event id when `state` was read: if anything happened to the
    run since (someone else resumed it while this person read the outline), nothing is
    recorded and the refusal says so, so that two resumes can never start two runners.
    """
    again = [step_label(c) for c in state.cells.values() if c.status == "unknown"]
    event = ev.RunResumed(run_id=state.id, at=time.time(), actor=actor, again=again)
    try:
        store.append([event], if_newest=seen)
    except RunChanged:
        raise RunChanged(
            f"run {state.id} changed while you were deciding (resumed or cancelled by someone "
            f"else); nothing was resumed — `opsconsole show {state.id}` shows where it stands"
        ) from None
    return event


@dataclass(frozen=True)
class Resumable:
    """An interrupted run ready to go on: what it will do, and the plan it goes on with."""

    state: RunState
    plan: RunPlan
    seen: int
    """The run's newest event id when it was read: a resume by someone else since refuses ours."""

    @property
    def outline(self) -> list[str]:
        """What resuming will do, for the person to confirm."""
        return outline(self.state)


def prepare(store: Store, config: Config, actor: str, ref: str) -> Resumable:
    """Check that `actor` may resume the run and that it can go on as it was launched (its
    runner's loss recorded first, if nobody has yet); refused in words otherwise."""
    from console.engine.plan import plan_as_launched

    state = record_lost_runner(store, ref, spawn_teller)
    seen = store.newest_id(state.id)
    state = stored_state(store, state.id)  # reflects at least every event up to `seen`
    authorize(store, config.inventory, actor, "resume", state)
    check_resumable(state)
    assert state.launched is not None
    kept = store.blob(state.launched.pipeline_digest)
    plan = plan_as_launched(state.launched, kept, kept_scripts(store, state.launched))
    return Resumable(state, plan, seen)


def commit(store: Store, resumable: Resumable, actor: str) -> list[ev.Event]:
    """Record the resume and return the run's events so far, for the runner that goes on."""
    record_resume(store, resumable.state, actor, resumable.seen)
    return [e.event for e in store.read(resumable.state.id, exclude=NON_OUTPUT)]
