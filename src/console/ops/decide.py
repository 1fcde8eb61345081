"""Deciding a gate: an approval or rejection judged by the gate's policy, signed when the
approver has a key, and refused in words (and on the audit trail) when it cannot count."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from console import events as ev
from console.audit import decision_document
from console.errors import GateRefused, WrongState
from console.ops import governance
from console.ops.rights import refuse
from console.ops.runs import read_state
from console.policy import (
    Ballot,
    Policy,
    checks_problem,
    judge,
    may_launch,
    must_be_signed,
    standing,
    tally,
)
from console.signing import SigningError, sign
from console.state import Gate, RunState
from console.store import Store

if TYPE_CHECKING:
    from console.model.inventory import Inventory


def _open_gate(state: RunState, gate_name: str | None) -> Gate:
    gates = state.open_gates()
    if gate_name:
        gates = [g for g in gates if gate_name in (g.step, g.stage)]
    if not gates:
        what = f" named '{gate_name}'" if gate_name else ""
        raise WrongState(
            f"run {state.id} has no gate{what} waiting for a decision (it is {state.status})"
        )
    if len(gates) > 1:
        names = ", ".join(g.step for g in gates)
        raise WrongState(
            f"run {state.id} has several open gates ({names}); choose one with --gate NAME"
        )
    return gates[0]


@dataclass(frozen=True)
class DecisionRequest:
    """Someone's approval or rejection of a run's gate, as they asked for it."""

    run: str
    decision: ev.Decision
    actor: str
    gate: str | None = None
    reason: str = ""
    ticket: str = ""
    plan_digest: str | None = None
    """The plan digest the decider was shown; None takes the gate's current one."""


def may_decide(
    inventory: Inventory, state: RunState, gate: Gate, actor: str, decision: ev.Decision
) -> str | None:
    """Why `actor` may not make this decision on this gate at all (their role, their own run, a
    freeze, approved already), before they write a reason; None when they may."""
    policy, roles, approved = _who(inventory, state, gate, actor)
    problem = standing(
        policy, Ballot(actor, roles, decision), state.operator, approved, time.time()
    ) or checks_problem(gate, decision)
    return f"{problem} (run {state.id}, gate '{gate.step}')" if problem else None


def _who(
    inventory: Inventory, state: RunState, gate: Gate, actor: str
) -> tuple[Policy, tuple[str, ...] | None, bool]:
    """The gate's recorded policy, the actor's roles (None: not an operator), and whether an
    approval of theirs already counts."""
    known = inventory.operators.get(actor)
    policy = Policy.from_dict(gate.policy)
    counted, _ = tally(policy, gate, state.operator, inventory.operators)
    return policy, tuple(known.roles) if known else None, actor in counted


def record_decision(store: Store, inventory: Inventory, request: DecisionRequest) -> ev.GateDecided:
    """Record an approval or rejection of a run's open gate, refusing (in words) what cannot count."""
    state = read_state(store, request.run)
    gate = _open_gate(state, request.gate)
    subject = f"{state.id}/{gate.step}"
    tried: dict[str, str] = {"decision": request.decision}
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
    differs = governance.refusal(store, inventory, state.environments)
    if differs:
        refuse(store, request.actor, request.decision, subject, differs, **tried)
    policy, roles, approved = _who(inventory, state, gate, request.actor)
    ballot = Ballot(
        request.actor, roles, request.decision, request.reason.strip(), request.ticket.strip()
    )
    now = time.time()
    assume_signed = replace(ballot, signed=True)  # signing comes last: no prompt for a refusal
    problem, emergency = judge(policy, assume_signed, state.operator, approved, now)
    problem = problem or checks_problem(gate, request.decision)
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
    known = inventory.operators.get(request.actor)
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
        raise GateRefused(must_be_signed(policy.where, why))
    return event


def request_checks(
    store: Store, inventory: Inventory, run: str, gate: str | None, actor: str
) -> str:
    """Ask a gate's runner to run its checks again (anyone who may launch into the run's
    environments or decide its gates may); refused in words, and on the trail, otherwise."""
    state = read_state(store, run)
    found = _open_gate(state, gate)
    subject = f"{state.id}/{found.step}"
    if not found.has_checks:
        raise WrongState(f"gate '{found.step}' of run {state.id} has no checks to run again")
    policy, roles, _ = _who(inventory, state, found, actor)
    launch = may_launch(inventory, state.environments, actor)
    decide = standing(policy, Ballot(actor, roles, "reject"), state.operator, False, time.time())
    if launch and decide:
        refuse(
            store,
            actor,
            "recheck",
            subject,
            f"{actor} may neither launch nor decide here: {decide}",
        )
    store.append(
        [
            ev.ChecksRequested(
                run_id=state.id, at=time.time(), stage=found.stage, step=found.step, actor=actor
            )
        ]
    )
    return f"asked the runner of run {state.id} to run the checks of gate '{found.step}' again"
