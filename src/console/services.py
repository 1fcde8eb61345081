"""What the CLI and the TUI both do with the store: read run state, record decisions, cancel."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn

from console import events as ev
from console.audit import Entry, decision_document
from console.durations import parse_duration
from console.errors import StoreError, UsageError
from console.policy import Ballot, Policy, judge, may_launch, tally
from console.signing import SigningError, sign
from console.state import Cell, Gate, RunState, fold
from console.store.base import Store

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.model.inventory import Inventory
    from console.model.load import Config

NON_OUTPUT = (ev.Output.kind,)


def run_state(store: Store, ref: str) -> RunState:
    """Fold a run's events (without output bytes, which no state needs) into its state, and
    record the run as interrupted the first time its runner is found gone."""
    run_id = store.resolve_run(ref)
    state = fold(e.event for e in store.read(run_id, exclude=NON_OUTPUT))
    if observe_liveness(state).status == "interrupted" and state.interrupted is None:
        note_interrupted(store, state)
    return state


def note_interrupted(store: Store, state: RunState) -> None:
    """Record that a run's runner is gone, naming the steps it was running (their outcome is
    unknown)."""
    unknown = [step_label(c) for c in state.cells.values() if c.status == "running"]
    event = ev.RunInterrupted(
        run_id=state.id,
        at=time.time(),
        pid=state.runner_pid or 0,
        node=state.runner_node,
        unknown=unknown,
    )
    store.append([event])
    fold([event], state)


def state_at(store: Store, ref: str, moment: str) -> RunState:
    """A run's state as it was at a moment: an ISO 8601 time (UTC unless it says otherwise)
    or `+DURATION` from the run's launch, such as `+90s` or `+2m30s`."""
    run_id = store.resolve_run(ref)
    events = [e.event for e in store.read(run_id, exclude=NON_OUTPUT)]
    if not events:
        raise UsageError(f"run {run_id} has no events")
    cutoff = _cutoff(moment, events[0].at)
    return fold(e for e in events if e.at < cutoff)


def _cutoff(moment: str, launched_at: float) -> float:
    """The epoch seconds before which an event happened by the moment a `--at` value names.

    A fraction covers its last digit: `09:00:05.123` takes in every event of that millisecond, so
    a time that `show` printed shows what had happened by then, that moment included.
    """
    if moment.startswith("+"):
        try:
            return launched_at + parse_duration(moment[1:]) + 1e-6
        except ValueError as exc:
            raise UsageError(f"--at '{moment}': {exc}") from None
    try:
        when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at '{moment}' is neither an ISO 8601 time such as 2026-11-28T09:00:05Z "
            "nor a time from the launch such as +90s"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() + _last_digit(moment)


def _last_digit(moment: str) -> float:
    """How long the last fractional digit of an ISO 8601 time lasts: 0.001 s for milliseconds;
    a time in whole seconds or minutes is the moment itself."""
    found = re.search(r"T\d{2}:?\d{2}:?\d{2}[.,](\d+)", moment)
    return 10.0 ** -len(found.group(1)) if found else 1e-6


def observe_liveness(state: RunState) -> RunState:
    """Mark a run `interrupted` when its runner process on this machine is gone."""
    if runner_gone(state):
        state.status = "interrupted"
    return state


def runner_gone(state: RunState) -> bool:
    """Whether a run that should have a runner on this machine has lost it."""
    if state.status not in ("running", "waiting") or state.runner_pid is None:
        return False
    return state.runner_node == socket.gethostname() and not _alive(state.runner_pid)


def step_label(cell: Cell) -> str:
    """`host stage › step`: one step on one host, as people read it."""
    return f"{cell.host} {cell.stage} › {cell.step}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def refuse(
    store: Store, actor: str, action: str, subject: str, why: str, **details: object
) -> NoReturn:
    """Raise the sentence that refuses `actor` an action, having recorded who tried what and
    why it was refused (when this account may write the store at all)."""
    entry = Entry(time.time(), actor, f"{action}_refused", subject, {"why": why, **details})
    with contextlib.suppress(StoreError):
        store.audit([entry])
    raise UsageError(why)


LAUNCH_RIGHTS = {"cancel": "cancel", "rerun": "re-run", "resume": "resume"}
"""Actions on a run that only someone who may launch it may take, and their verbs."""


def authorize(store: Store, inventory: Inventory, actor: str, action: str, state: RunState) -> None:
    """Refuse, in words and on the audit trail, an account that may not launch into the run's
    environments: re-running, resuming and cancelling are launch rights."""
    why = may_launch(inventory, state.environments, actor)
    if why:
        verb = LAUNCH_RIGHTS[action]
        refuse(store, actor, action, state.id, f"{actor} may not {verb} run {state.id}: {why}")


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


@dataclass(frozen=True)
class DecisionRequest:
    """Someone's approval or rejection of a run's gate, as they asked for it."""

    run: str
    decision: str
    actor: str
    gate: str | None = None
    reason: str = ""
    ticket: str = ""
    plan_digest: str | None = None
    """The plan digest the decider was shown; None takes the gate's current one."""


def record_decision(store: Store, inventory: Inventory, request: DecisionRequest) -> ev.GateDecided:
    """Record an approval or rejection of a run's open gate, refusing (in words) what cannot count."""
    state = run_state(store, request.run)
    gate = _open_gate(state, request.gate)
    subject, tried = f"{state.id}/{gate.step}", {"decision": request.decision}
    tried |= {"reason": request.reason, "ticket": request.ticket}
    if request.plan_digest and not gate.plan_digest.startswith(request.plan_digest):
        refuse(
            store,
            request.actor,
            request.decision,
            subject,
            f"the plan of gate '{gate.step}' changed since you looked (it is now "
            f"{gate.plan_digest[:12]}, you saw {request.plan_digest[:12]}); review it again",
            **tried,
        )
    known = inventory.operators.get(request.actor)
    ballot = Ballot(
        request.actor,
        tuple(known.roles) if known else None,
        request.decision,
        request.reason.strip(),
        request.ticket.strip(),
    )
    policy = Policy.from_dict(gate.policy)
    now = time.time()
    assume_signed = replace(
        ballot, signed=True
    )  # signing comes last: no agent prompt for a refusal
    counted, _ = tally(policy, gate, state.operator, inventory.operators)
    problem, emergency = judge(policy, assume_signed, state.operator, request.actor in counted, now)
    if problem:
        why = f"{problem} (run {state.id}, gate '{gate.step}')"
        refuse(store, request.actor, request.decision, subject, why, **tried)
    event = ev.GateDecided(
        run_id=state.id,
        at=now,
        stage=gate.stage,
        step=gate.step,
        decision=request.decision,
        actor=request.actor,
        reason=ballot.reason,
        ticket=ballot.ticket,
        emergency=emergency,
        plan_digest=gate.plan_digest,
    )
    event = _signed(event, known.ssh_public_key if known else None, policy)
    store.append([event])
    return event


def _signed(event: ev.GateDecided, key: str | None, policy: Policy) -> ev.GateDecided:
    """The decision signed with the operator's key when they have one; refused unsigned if required."""
    why = f"{event.actor} has no ssh_public_key in the inventory"
    if key:
        try:
            return replace(event, signature=sign(decision_document(event), key))
        except SigningError as exc:
            why = str(exc)
    if policy.signed_approvals:
        raise UsageError(
            f"decisions in {policy.where} must be signed with the operator's SSH key, and {why}; "
            "start ssh-agent and ssh-add your key"
        )
    return event


def request_cancel(store: Store, ref: str, actor: str, inventory: Inventory) -> RunState:
    """Ask a run to stop, if `actor` may launch it; the runner sees the request within a
    fraction of a second."""
    state = run_state(store, ref)
    authorize(store, inventory, actor, "cancel", state)
    if state.is_final:
        raise UsageError(f"run {state.id} has already ended ({state.status}); nothing to cancel")
    now = time.time()
    events: list[ev.Event] = [ev.CancelRequested(run_id=state.id, at=now, actor=actor)]
    if state.status in ("interrupted", "queued"):  # no runner to see it: end the run here
        # (a runner that starts later finds the run ended and leaves it)
        when = "after its runner stopped" if state.status == "interrupted" else "before it started"
        events.append(
            ev.RunFinished(
                run_id=state.id, at=now, status="cancelled", message=f"cancelled by {actor} {when}"
            )
        )
    store.append(events)
    return state


def note_config(store: Store, config: Config, actor: str) -> None:
    """Record the configuration's files and their SHA-256 when they differ from the last record."""
    files = {str(config.source.path.resolve()): config.source.digest}
    for pf in config.pipelines.values():
        files[str(pf.source.path.resolve())] = pf.source.digest
    subject = str(config.source.path.resolve())
    last = store.last_audit("config_loaded", subject)
    if last is None or last.details.get("files") != files:
        store.audit([Entry(time.time(), actor, "config_loaded", subject, {"files": files})])


def create_run(store: Store, plan: RunPlan) -> ev.RunLaunched:
    """Record a planned run with the files it reads bound by content (and the configuration it
    came from, when that is new to the trail); refused in words when a file cannot be bound."""
    from console.engine.plan import bound, launch_event

    plan = bound(plan)
    note_config(store, plan.config, plan.operator)
    launched = launch_event(plan, time.time())
    assert plan.files is not None
    store.create_run(launched, plan.pipeline_file.source.text, plan.files.contents)
    return launched


def kept_scripts(store: Store, launched: ev.RunLaunched) -> set[str]:
    """The digests of a run's scripts whose bytes the store keeps (all, for runs it launched)."""
    return {d for d in launched.scripts.values() if store.file(d) is not None}
