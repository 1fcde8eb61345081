"""The fold: a run's state computed from its events, shared by every reader.

`fold(events)` is the only way state is made. `apply` mutates the state it is given for
speed (a run can have millions of events) but does no I/O and reads nothing else, so
the same events always give the same state: live, replayed, or after a crash.

Output events change nothing but `last_event_at`, so that a replay can fold a run of a
million output lines from its few thousand other events (see `replay.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from console import events as ev

RUN_STATUSES = ev.RUN_STATUSES
STEP_STATUSES = ev.STEP_STATUSES
FINAL_RUN: frozenset[ev.RunStatus] = frozenset(get_args(ev.FinalStatus))
GATE_CELL: dict[ev.GateOutcome, ev.StepStatus] = {"approved": "ok", "cancelled": "cancelled"}
"""A closed gate's cell: a cancel cut it off, it did not fail."""
GATE_HOST = "*"
"""A gate belongs to the whole run; its cell uses this in place of a host name."""


@dataclass
class Cell:
    """One step on one host."""

    stage: str
    step: str
    host: str
    status: ev.StepStatus = "pending"
    exit_code: int | None = None
    signal: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    message: str = ""
    file: str = ""
    digest: str = ""
    """A transfer's local file and the SHA-256 of what it moved."""


@dataclass
class Gate:
    """A gate: its message, the decisions recorded so far and how it closed."""

    stage: str
    step: str
    message: str = ""
    approvals_required: int = 1
    opened_at: float | None = None
    expires_at: float | None = None
    decisions: list[ev.GateDecided] = field(default_factory=list)
    outcome: ev.GateOutcome | None = None
    closed_at: float | None = None
    plan_digest: str = ""
    digest_parts: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    voided: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    """The results of the gate's latest round of checks (none: it has none, or none ran yet)."""
    has_checks: bool = False
    checks_passed: bool | None = None
    checks_at: float | None = None
    checks_asked: str = ""
    """Who asked for a round of checks that has not been run yet."""

    @property
    def failing(self) -> list[dict[str, Any]]:
        """The checks of the latest round that did not pass."""
        return [r for r in self.checks if not r.get("ok")]

    def binds(self, decision: ev.GateDecided) -> bool:
        """A decision counts only for the plan its approver was shown."""
        return not self.plan_digest or decision.plan_digest == self.plan_digest

    @property
    def approvers(self) -> list[str]:
        """Distinct people who approved this plan, in order, leaving out what the record alone
        shows cannot count: an unsigned decision where the policy wants signatures (the policy
        module judges the rest, with the inventory)."""
        seen: list[str] = []
        signed = bool(self.policy.get("signed_approvals"))
        for d in self.decisions:
            if d.decision != "approve" or d.actor in seen or not self.binds(d):
                continue
            if signed and not d.signature:
                continue
            seen.append(d.actor)
        return seen


@dataclass
class Stage:
    """A stage's progress."""

    name: str
    strategy: str
    steps: list[ev.StepPlan]
    status: ev.StageStatus = "pending"
    started_at: float | None = None
    finished_at: float | None = None
    failed_hosts: list[str] = field(default_factory=list)
    rollback_hosts: list[str] = field(default_factory=list)


@dataclass
class RunState:
    """Everything a view needs to show a run."""

    id: str = ""
    pipeline: str = ""
    status: ev.RunStatus = "queued"
    operator: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    launched: ev.RunLaunched | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    message: str = ""
    runner_pid: int | None = None
    runner_node: str = ""
    stages: list[Stage] = field(default_factory=list)
    cells: dict[tuple[str, str, str], Cell] = field(default_factory=dict)
    gates: dict[tuple[str, str], Gate] = field(default_factory=dict)
    cancel_requested_by: str | None = None
    last_event_at: float | None = None
    interrupted: ev.RunInterrupted | None = None
    resumed_by: list[str] = field(default_factory=list)
    followers: list[tuple[str, str]] = field(default_factory=list)
    """The runs launched when this one succeeded: (pipeline, run id)."""
    chain_stopped: list[tuple[str, str]] = field(default_factory=list)
    """What was to follow this run and was not launched: (pipeline, why)."""
    as_of: float | None = None
    """The moment a reader read this state as of (now, or `show --at`'s moment); None: as of
    its last event. Not from events: it only lets a live run's clock run to that moment."""

    @classmethod
    def empty(cls) -> RunState:
        """The state before any event."""
        return cls()

    @property
    def is_final(self) -> bool:
        """The run has ended and nothing more will change it (but an interrupted run may resume)."""
        return self.status in FINAL_RUN

    def stage(self, name: str) -> Stage | None:
        """A stage by name."""
        return next((s for s in self.stages if s.name == name), None)

    def open_gates(self) -> list[Gate]:
        """Gates waiting for decisions."""
        return [g for g in self.gates.values() if g.outcome is None]


def fold(events: Iterable[ev.Event], state: RunState | None = None) -> RunState:
    """Apply events in order to a state (a new one by default) and return it."""
    state = state or RunState.empty()
    for event in events:
        apply(state, event)
    return state


def apply(state: RunState, event: ev.Event) -> RunState:
    """Apply one event to the state."""
    state.last_event_at = event.at
    handler = _HANDLERS.get(type(event))
    if handler:
        handler(state, event)
    return state


def _launched(s: RunState, e: ev.RunLaunched) -> None:
    s.id, s.pipeline, s.operator, s.launched = e.run_id, e.pipeline, e.operator, e
    s.params, s.targets, s.environments = dict(e.params), list(e.targets), list(e.environments)
    s.created_at, s.status = e.at, "queued"
    for plan in e.stages:
        s.stages.append(Stage(plan.name, plan.strategy, list(plan.steps)))
        for step in plan.steps:
            hosts = [GATE_HOST] if step.kind == "gate" else step.hosts
            for host in hosts:
                s.cells[(plan.name, step.name, host)] = Cell(plan.name, step.name, host)


def _started(s: RunState, e: ev.RunStarted) -> None:
    s.runner_pid, s.runner_node = e.pid, e.node
    s.status = "waiting" if s.open_gates() else "running"  # a resumed run may start at its gate
    s.started_at = s.started_at or e.at


def _stage_started(s: RunState, e: ev.StageStarted) -> None:
    stage = s.stage(e.stage)
    if stage:
        stage.status, stage.started_at = "running", e.at


def _stage_finished(s: RunState, e: ev.StageFinished) -> None:
    stage = s.stage(e.stage)
    if stage:
        stage.status, stage.finished_at, stage.failed_hosts = e.status, e.at, list(e.failed_hosts)


def _cell(s: RunState, stage: str, step: str, host: str) -> Cell:
    key = (stage, step, host)
    if key not in s.cells:
        s.cells[key] = Cell(stage, step, host)
    return s.cells[key]


def _step_started(s: RunState, e: ev.StepStarted) -> None:
    cell = _cell(s, e.stage, e.step, e.host)
    cell.status, cell.attempts, cell.exit_code, cell.message = "running", e.attempt, None, ""
    cell.started_at = cell.started_at or e.at


def _step_finished(s: RunState, e: ev.StepFinished) -> None:
    cell = _cell(s, e.stage, e.step, e.host)
    cell.status, cell.exit_code, cell.signal = e.status, e.exit_code, e.signal
    cell.finished_at, cell.message, cell.attempts = e.at, e.message, max(cell.attempts, e.attempt)
    cell.file, cell.digest = e.file, e.digest


def _gate_opened(s: RunState, e: ev.GateOpened) -> None:
    gate = s.gates.setdefault((e.stage, e.step), Gate(e.stage, e.step))
    gate.message, gate.approvals_required = e.message, e.approvals_required
    gate.opened_at, gate.expires_at, gate.outcome, gate.decisions = e.at, e.expires_at, None, []
    gate.checks, gate.checks_passed, gate.checks_at = [], None, None  # a new plan: checked anew
    gate.has_checks = e.checks > 0
    gate.plan_digest, gate.digest_parts, gate.policy = (
        e.plan_digest,
        dict(e.digest_parts),
        dict(e.policy),
    )
    cell = _cell(s, e.stage, e.step, GATE_HOST)
    cell.status, cell.started_at = "waiting", e.at
    s.status = "waiting"


def _gate_decided(s: RunState, e: ev.GateDecided) -> None:
    gate = s.gates.get((e.stage, e.step))
    if gate and gate.outcome is None:
        gate.decisions.append(e)


def _gate_checked(s: RunState, e: ev.GateChecked) -> None:
    gate = s.gates.get((e.stage, e.step))
    if gate:
        gate.checks, gate.checks_passed, gate.checks_at = list(e.results), e.passed, e.at
        gate.checks_asked = ""


def _checks_requested(s: RunState, e: ev.ChecksRequested) -> None:
    gate = s.gates.get((e.stage, e.step))
    if gate and gate.outcome is None:
        gate.checks_asked = e.actor


def _gate_voided(s: RunState, e: ev.GateVoided) -> None:
    gate = s.gates.get((e.stage, e.step))
    if gate and gate.outcome is None:
        gate.voided.append(e.reason)
        gate.decisions = []


def _gate_closed(s: RunState, e: ev.GateClosed) -> None:
    gate = s.gates.setdefault((e.stage, e.step), Gate(e.stage, e.step))
    gate.outcome, gate.closed_at = e.outcome, e.at
    cell = _cell(s, e.stage, e.step, GATE_HOST)
    cell.status = GATE_CELL.get(e.outcome, "failed")  # rejected, expired, voided: it failed
    cell.finished_at, cell.message = e.at, e.outcome
    if s.status == "waiting" and not s.open_gates():
        s.status = "running"


def _rollback(s: RunState, e: ev.RollbackStarted) -> None:
    stage = s.stage(e.stage)
    if stage:
        stage.rollback_hosts = list(e.hosts)


def _cancel(s: RunState, e: ev.CancelRequested) -> None:
    s.cancel_requested_by = s.cancel_requested_by or e.actor


def _cancel_refused(s: RunState, e: ev.CancelRefused) -> None:
    if s.cancel_requested_by == e.actor:
        s.cancel_requested_by = None


def _interrupted(s: RunState, e: ev.RunInterrupted) -> None:
    s.status, s.interrupted = "interrupted", e
    for cell in s.cells.values():
        if cell.status == "running":
            cell.status, cell.message = (
                "unknown",
                "the runner stopped while it ran: it may have run",
            )


def _resumed(s: RunState, e: ev.RunResumed) -> None:
    s.status, s.interrupted, s.runner_pid = "queued", None, None
    s.resumed_by.append(e.actor)


def _finished(s: RunState, e: ev.RunFinished) -> None:
    s.status, s.finished_at, s.message = e.status, e.at, e.message
    for cell in s.cells.values():
        if cell.status in ("pending", "waiting"):
            cell.status = "skipped"
        elif cell.status == "running":
            cell.status, cell.finished_at = "failed", e.at


def _follower(s: RunState, e: ev.FollowerLaunched) -> None:
    s.followers.append((e.pipeline, e.follower))


def _follower_refused(s: RunState, e: ev.FollowerRefused) -> None:
    s.chain_stopped.append((e.pipeline, e.reason))


_HANDLERS: dict[type[ev.Event], Any] = {
    ev.RunLaunched: _launched,
    ev.RunStarted: _started,
    ev.StageStarted: _stage_started,
    ev.StageFinished: _stage_finished,
    ev.StepStarted: _step_started,
    ev.StepFinished: _step_finished,
    ev.GateOpened: _gate_opened,
    ev.GateDecided: _gate_decided,
    ev.GateClosed: _gate_closed,
    ev.GateVoided: _gate_voided,
    ev.GateChecked: _gate_checked,
    ev.ChecksRequested: _checks_requested,
    ev.RollbackStarted: _rollback,
    ev.CancelRequested: _cancel,
    ev.CancelRefused: _cancel_refused,
    ev.RunInterrupted: _interrupted,
    ev.RunResumed: _resumed,
    ev.RunFinished: _finished,
    ev.FollowerLaunched: _follower,
    ev.FollowerRefused: _follower_refused,
}


def step_rows(state: RunState) -> list[dict[str, Any]]:
    """The per-(stage, step, host) rows that `show --json` prints, in plan order."""
    rows = []
    for cell in state.cells.values():
        status = "pending" if cell.status == "waiting" else cell.status
        rows.append(
            {
                "stage": cell.stage,
                "step": cell.step,
                "host": cell.host,
                "status": status,
                "exit_code": cell.exit_code,
                "started_at": cell.started_at,
                "finished_at": cell.finished_at,
                "attempts": cell.attempts,
                "message": cell.message,
                "file": cell.file,
                "digest": cell.digest,
            }
        )
    return rows
