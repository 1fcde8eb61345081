"""What the CLI and the TUI both do with the store: read run state, record decisions, cancel."""

from __future__ import annotations

import os
import socket
import time

from console import events as ev
from console.errors import UsageError
from console.state import Gate, RunState, fold
from console.store.base import Store

NON_OUTPUT = (ev.Output.kind,)


def run_state(store: Store, ref: str) -> RunState:
    """Fold a run's events (without output bytes, which no state needs) into its state."""
    run_id = store.resolve_run(ref)
    state = fold(e.event for e in store.read(run_id, exclude=NON_OUTPUT))
    return observe_liveness(state)


def observe_liveness(state: RunState) -> RunState:
    """Mark a run `interrupted` when its runner process on this machine is gone."""
    if state.is_final or state.status == "queued" or state.runner_pid is None:
        return state
    if state.runner_node == socket.gethostname() and not _alive(state.runner_pid):
        state.status = "interrupted"
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open_gate(state: RunState, gate_name: str | None) -> Gate:
    gates = state.open_gates()
    if gate_name:
        gates = [g for g in gates if gate_name in (g.step, g.stage)]
    if not gates:
        what = f" named '{gate_name}'" if gate_name else ""
        raise UsageError(
            f"run {state.id} has no gate{what} waiting for a decision (it is {state.status})"
        )
    if len(gates) > 1:
        names = ", ".join(g.step for g in gates)
        raise UsageError(
            f"run {state.id} has several open gates ({names}); choose one with --gate NAME"
        )
    return gates[0]


def record_decision(
    store: Store,
    ref: str,
    decision: str,
    actor: str,
    gate_name: str | None = None,
    reason: str = "",
    ticket: str = "",
) -> ev.GateDecided:
    """Record an approval or rejection of a run's open gate, refusing what cannot count."""
    state = run_state(store, ref)
    gate = _open_gate(state, gate_name)
    if decision == "reject" and not reason.strip():
        raise UsageError("a rejection needs a reason; pass --reason TEXT")
    if decision == "approve" and actor in gate.approvers:
        raise UsageError(
            f"{actor} has already approved gate '{gate.step}' of run {state.id}; "
            "an approver counts once"
        )
    event = ev.GateDecided(
        run_id=state.id,
        at=time.time(),
        stage=gate.stage,
        step=gate.step,
        decision=decision,
        actor=actor,
        reason=reason.strip(),
        ticket=ticket.strip(),
    )
    store.append([event])
    return event


def request_cancel(store: Store, ref: str, actor: str) -> RunState:
    """Ask a run to stop; the runner sees the request within a fraction of a second."""
    state = run_state(store, ref)
    if state.is_final:
        raise UsageError(f"run {state.id} has already ended ({state.status}); nothing to cancel")
    now = time.time()
    events: list[ev.Event] = [ev.CancelRequested(run_id=state.id, at=now, actor=actor)]
    if state.status == "interrupted":  # no runner is left to see the request: end the run here
        events.append(
            ev.RunFinished(
                run_id=state.id,
                at=now,
                status="cancelled",
                message=f"cancelled by {actor} after its runner stopped",
            )
        )
    store.append(events)
    return state
