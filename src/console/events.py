"""The event vocabulary: everything that happens in a run, as small frozen records.

A run's state is a fold over these (see `state.py`); the store keeps them append-only.
`VERSION` is stored with each event so that later readers can upgrade old shapes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

VERSION = 1

RunStatus = Literal[
    "queued",
    "running",
    "waiting",
    "succeeded",
    "failed",
    "cancelled",
    "rejected",
    "expired",
    "interrupted",
]
FinalStatus = Literal["succeeded", "failed", "cancelled", "rejected", "expired"]
"""How a run ends (`RunFinished`); an interrupted run is not final: it may resume."""
StepStatus = Literal[
    "pending",
    "running",
    "waiting",
    "ok",
    "failed",
    "unreachable",
    "skipped",
    "timed_out",
    "unknown",
    "cancelled",
]
"""`waiting`: a gate's cell while it waits for decisions. `unknown`: the runner stopped while
the step ran, so it may or may not have run. `cancelled`: a gate a cancel cut off."""
GateOutcome = Literal["approved", "rejected", "expired", "cancelled", "voided"]
"""How a gate closed; `voided`: the plan changed under it and could not be taken up."""
StageStatus = Literal[
    "pending", "running", "ok", "failed", "cancelled", "rejected", "expired", "voided"
]
"""A gate's stage ends with its gate's outcome (`ok` when approved)."""
Decision = Literal["approve", "reject"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
STEP_STATUSES: tuple[StepStatus, ...] = get_args(StepStatus)
DECISIONS: tuple[Decision, ...] = get_args(Decision)


def as_decision(word: str) -> Decision:
    """A decision named by a key binding or a command, checked against the vocabulary."""
    for decision in DECISIONS:
        if word == decision:
            return decision
    raise ValueError(f"not a decision: {word!r}")


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened in a run at a moment."""

    kind: ClassVar[str] = "event"
    run_id: str
    at: float

    def payload(self) -> dict[str, Any]:
        """The fields other than run_id and at, as JSON-ready data."""
        data = dataclasses.asdict(self)
        del data["run_id"], data["at"]
        return data


@dataclass(frozen=True, kw_only=True)
class StepPlan:
    """One step of the plan recorded at launch: its name, kind and the hosts it runs on."""

    name: str
    kind: str
    hosts: list[str]


@dataclass(frozen=True, kw_only=True)
class StagePlan:
    """One stage of the plan recorded at launch."""

    name: str
    strategy: str
    steps: list[StepPlan]
    on_failure: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class RunLaunched(Event):
    """A run was created: what will run, where, with what, and by whom."""

    kind: ClassVar[str] = "run_launched"
    pipeline: str
    pipeline_digest: str
    pipeline_path: str
    inventory_path: str
    inventory_digest: str
    params: dict[str, Any]
    targets: list[str]
    environments: list[str]
    operator: str
    stages: list[StagePlan]
    limit: str | None = None
    repeats: str | None = None
    """The run this one repeats (`rerun`), if any."""
    scripts: dict[str, str] = field(default_factory=dict)
    """The SHA-256 of each script file the pipeline runs, as they were at launch (the store
    keeps their bytes under it: what runs)."""
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each local file an upload sends, as rendered: its seal at launch (SHA-256, size, inode
    and change times), or the download of this run that writes it."""
    stored_version: bool = False
    """The pipeline ran as the store kept it from an earlier run, not as its file is now."""
    host_environments: dict[str, str] = field(default_factory=dict)
    """Each target's environment, as the inventory put it at launch."""
    release: str | None = None
    """What the run releases: the value of the param its pipeline names (`release =`)."""
    follows: str | None = None
    """The run whose success launched this one (a pipeline's `then`)."""
    promotion: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per environment whose promotion rule held the launch, the earlier run that met it: its
    environment, id, the params' values it shared and when it succeeded."""


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A runner process took the run and began executing it."""

    kind: ClassVar[str] = "run_started"
    pid: int
    node: str


@dataclass(frozen=True, kw_only=True)
class StageStarted(Event):
    """A stage began."""

    kind: ClassVar[str] = "stage_started"
    stage: str


@dataclass(frozen=True, kw_only=True)
class StageFinished(Event):
    """A stage ended ok, failed (too many host failures) or was cut short."""

    kind: ClassVar[str] = "stage_finished"
    stage: str
    status: StageStatus
    failed_hosts: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    """A step began on a host (attempt counts from 1)."""

    kind: ClassVar[str] = "step_started"
    stage: str
    step: str
    host: str
    attempt: int = 1


@dataclass(frozen=True, kw_only=True)
class Output(Event):
    """Bytes a step wrote on stdout or stderr: whole lines, or a partial line flushed."""

    kind: ClassVar[str] = "output"
    stage: str
    step: str
    host: str
    stream: str
    data: bytes


@dataclass(frozen=True, kw_only=True)
class StepFinished(Event):
    """A step ended on a host: ok, failed, unreachable, timed_out or skipped."""

    kind: ClassVar[str] = "step_finished"
    stage: str
    step: str
    host: str
    status: StepStatus
    exit_code: int | None = None
    signal: str | None = None
    duration: float | None = None
    message: str = ""
    attempt: int = 1
    file: str = ""
    """A transfer's local file, as rendered (relative to the inventory's folder)."""
    digest: str = ""
    """The SHA-256 of what a transfer moved, checked on both ends."""


@dataclass(frozen=True, kw_only=True)
class FileTransferred(Event):
    """One read of a file sent to its destinations: where from, how large, its SHA-256 and how
    each destination ended (never a byte of what it holds)."""

    kind: ClassVar[str] = "file_transferred"
    stage: str
    step: str
    source: str
    """`host:path` for a file on a host, `bastion:path` for one here."""
    size: int
    sha256: str
    """What the source and the runner agreed the file is; empty when it was never read."""
    destinations: dict[str, dict[str, Any]]
    """Per host (`bastion` for a download): `path`, `result` ("ok" or why not) and
    `resumed_from` (bytes a part already held, verified)."""


@dataclass(frozen=True, kw_only=True)
class OutputRedacted(Event):
    """The inventory's patient-data patterns masked this many matches in a step's output."""

    kind: ClassVar[str] = "output_redacted"
    stage: str
    step: str
    host: str
    counts: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class GateOpened(Event):
    """The run stopped at a gate and waits for decisions."""

    kind: ClassVar[str] = "gate_opened"
    stage: str
    step: str
    message: str
    approvals_required: int
    expires_at: float | None = None
    plan_digest: str = ""
    digest_parts: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    checks: int = 0
    """How many checks the gate runs (on each host, or on the bastion) before it can pass."""


@dataclass(frozen=True, kw_only=True)
class GateDecided(Event):
    """A person approved or rejected a gate (recorded by whichever process they used)."""

    kind: ClassVar[str] = "gate_decided"
    stage: str
    step: str
    decision: Decision
    actor: str
    reason: str = ""
    ticket: str = ""
    emergency: bool = False
    plan_digest: str = ""
    signature: str = ""
    automatic: bool = False
    """Decided by the gate's checks (an environment needing no approvals), not a person."""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """For an automatic decision: each check's result it was made on."""


@dataclass(frozen=True, kw_only=True)
class GateChecked(Event):
    """A gate ran its checks: each one's result (the check, where it ran, whether it passed
    and why not), and whether they all passed."""

    kind: ClassVar[str] = "gate_checked"
    stage: str
    step: str
    results: list[dict[str, Any]]
    passed: bool
    asked_by: str = ""
    """Who asked for this round (empty: the gate's first, when it opened)."""


@dataclass(frozen=True, kw_only=True)
class ChecksRequested(Event):
    """Someone asked a gate's runner to run its checks again."""

    kind: ClassVar[str] = "checks_requested"
    stage: str
    step: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class GateVoided(Event):
    """What an approval was bound to changed before the gated steps began: the gate asks again."""

    kind: ClassVar[str] = "gate_voided"
    stage: str
    step: str
    reason: str
    old_digest: str
    new_digest: str


@dataclass(frozen=True, kw_only=True)
class HostKeyAccepted(Event):
    """A host's key was unknown and recorded because the operator chose to accept new keys."""

    kind: ClassVar[str] = "host_key_accepted"
    host: str
    fingerprint: str
    known_hosts: str


@dataclass(frozen=True, kw_only=True)
class HostKeyRefused(Event):
    """A host's key was unknown or differed from the one on record, so nothing ran there."""

    kind: ClassVar[str] = "host_key_refused"
    host: str
    reason: str
    """The sentence the operator saw: the host, its address and the fingerprints."""


@dataclass(frozen=True, kw_only=True)
class GateClosed(Event):
    """The engine saw enough decisions: the gate is approved, rejected or expired."""

    kind: ClassVar[str] = "gate_closed"
    stage: str
    step: str
    outcome: GateOutcome


@dataclass(frozen=True, kw_only=True)
class RollbackStarted(Event):
    """A failed stage's on_failure steps began on the hosts it touched."""

    kind: ClassVar[str] = "rollback_started"
    stage: str
    hosts: list[str]


@dataclass(frozen=True, kw_only=True)
class CancelRequested(Event):
    """Someone asked the run to stop."""

    kind: ClassVar[str] = "cancel_requested"
    actor: str


@dataclass(frozen=True, kw_only=True)
class CancelRefused(Event):
    """The runner did not honour a cancel request: its author may not launch the run."""

    kind: ClassVar[str] = "cancel_refused"
    actor: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RunInterrupted(Event):
    """The run's runner process was found gone before the run ended (killed, or the machine
    restarted); steps it was running may or may not have run."""

    kind: ClassVar[str] = "run_interrupted"
    pid: int
    node: str
    unknown: list[str] = field(default_factory=list)
    """`host stage › step` of each step that was running when the runner stopped."""


@dataclass(frozen=True, kw_only=True)
class RunResumed(Event):
    """Someone confirmed that an interrupted run goes on from the steps it had not finished."""

    kind: ClassVar[str] = "run_resumed"
    actor: str
    again: list[str] = field(default_factory=list)
    """Steps whose outcome is unknown and which run again (`host stage › step`)."""


@dataclass(frozen=True, kw_only=True)
class NoticeAttempted(Event):
    """The runner tried to tell a notification target about the run: which target, what
    about, which try, and whether it got through (never what the message said beyond that)."""

    kind: ClassVar[str] = "notice_attempted"
    target: str
    notice: str
    attempt: int
    sent: bool
    detail: str = ""
    final: bool = True
    """No more tries follow this one (it got through, or the last try failed)."""


@dataclass(frozen=True, kw_only=True)
class FollowerLaunched(Event):
    """The run succeeded and its runner launched what follows it: a run of its own."""

    kind: ClassVar[str] = "follower_launched"
    follower: str
    pipeline: str


@dataclass(frozen=True, kw_only=True)
class FollowerRefused(Event):
    """What follows the run was not launched: the run did not succeed, or the launch was
    refused (the reason says which)."""

    kind: ClassVar[str] = "follower_refused"
    pipeline: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    """The run ended with its final status."""

    kind: ClassVar[str] = "run_finished"
    status: FinalStatus
    message: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunLaunched,
        RunStarted,
        StageStarted,
        StageFinished,
        StepStarted,
        Output,
        StepFinished,
        OutputRedacted,
        FileTransferred,
        GateOpened,
        GateDecided,
        GateChecked,
        ChecksRequested,
        GateClosed,
        GateVoided,
        HostKeyAccepted,
        HostKeyRefused,
        RollbackStarted,
        CancelRequested,
        CancelRefused,
        RunInterrupted,
        RunResumed,
        NoticeAttempted,
        FollowerLaunched,
        FollowerRefused,
        RunFinished,
    )
}


def from_payload(kind: str, run_id: str, at: float, data: dict[str, Any]) -> Event:
    """Rebuild an event from its stored kind and payload."""
    cls = EVENT_TYPES[kind]
    if cls is RunLaunched:
        data = dict(data)
        data["stages"] = [
            StagePlan(**{**s, "steps": [StepPlan(**p) for p in s["steps"]]}) for s in data["stages"]
        ]
    return cls(run_id=run_id, at=at, **data)
