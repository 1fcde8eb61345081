"""The audit trail: a hash chain of compliance records, derived from events and checked end to end.

Each record's hash is SHA-256 over a canonical JSON encoding of its fields, the previous
record's hash included, so that editing, deleting, inserting or moving a record breaks the
chain from that record on. Keeping the head hash somewhere else (`opsconsole audit head`)
also catches records cut off the end.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from console import events as ev

GENESIS = "0" * 64
"""The `prev` of the first record."""

NAMESPACE = "opsconsole-approval"
"""The SSHSIG namespace of signed decisions."""

DECISION_ACTIONS: dict[str, ev.Decision] = {
    "gate_approved": "approve",
    "gate_rejected": "reject",
    "gate_rejectd": "reject",
}
"""The audit action of each decision. `gate_rejectd` is how rejections were recorded before
the action had its proper name; a chain is never rewritten, so readers know both."""


def decision_action(decision: ev.Decision) -> str:
    """The audit action that records a decision."""
    return "gate_approved" if decision == "approve" else "gate_rejected"


@dataclass(frozen=True)
class AuditRecord:
    """One link of the chain, as stored."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev: str
    hash: str


@dataclass(frozen=True)
class Entry:
    """What to record, before it is numbered and chained."""

    at: float
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


def canonical(value: object) -> bytes:
    """The one JSON encoding that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def utc(at: float) -> str:
    """A timestamp as UTC ISO 8601 with microseconds."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link_hash(
    seq: int, at: str, actor: str, action: str, subject: str, details: object, prev: str
) -> str:
    """The hash a record with these fields must carry."""
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
        "prev": prev,
    }
    return hashlib.sha256(canonical(body)).hexdigest()


def chain(entry: Entry, seq: int, prev: str) -> AuditRecord:
    """Number an entry and link it after the record whose hash is `prev`."""
    at = utc(entry.at)
    digest = link_hash(seq, at, entry.actor, entry.action, entry.subject, entry.details, prev)
    return AuditRecord(
        seq, at, entry.actor, entry.action, entry.subject, entry.details, prev, digest
    )


def decision_document(decision: ev.GateDecided) -> bytes:
    """The exact bytes an approver signs: the decision record in the canonical encoding."""
    return canonical(
        {
            "namespace": NAMESPACE,
            "run_id": decision.run_id,
            "at": decision.at,
            "stage": decision.stage,
            "step": decision.step,
            "decision": decision.decision,
            "actor": decision.actor,
            "reason": decision.reason,
            "ticket": decision.ticket,
            "emergency": decision.emergency,
            "plan_digest": decision.plan_digest,
        }
    )


def entry_for(event: ev.Event, actor: str) -> Entry | None:
    """The audit entry an event calls for, or None for events of no compliance interest."""
    found = _describe(event)
    if found is None:
        return None
    action, subject, details = found
    who = getattr(event, "actor", None) or getattr(event, "operator", None) or actor
    return Entry(event.at, str(who), action, subject, details)


def _describe(event: ev.Event) -> tuple[str, str, dict[str, Any]] | None:
    run = event.run_id
    if isinstance(event, ev.RunLaunched):
        keep = (
            "pipeline",
            "pipeline_digest",
            "pipeline_path",
            "inventory_path",
            "inventory_digest",
        )
        details = {k: getattr(event, k) for k in keep}
        details |= {"params": event.params, "targets": event.targets, "limit": event.limit}
        if event.repeats:
            details["repeats"] = event.repeats
        if event.promotion:
            details["promotion"] = event.promotion
        if event.follows:
            details["follows"] = event.follows
        details["environments"] = event.environments
        return "run_launched", run, details
    if isinstance(event, ev.GateOpened):
        details = {"message": event.message, "approvals_required": event.approvals_required}
        details |= {"plan_digest": event.plan_digest, "policy": event.policy}
        return "gate_opened", f"{run}/{event.step}", details
    if isinstance(event, ev.GateDecided):
        details = {"reason": event.reason, "ticket": event.ticket, "emergency": event.emergency}
        details |= {"plan_digest": event.plan_digest, "signed": bool(event.signature)}
        if event.automatic:
            details |= {"automatic": True, "evidence": event.evidence}
        if event.signature:
            details |= {
                "signature": event.signature,
                "signed_document": decision_document(event).decode(),
            }
        return decision_action(event.decision), f"{run}/{event.step}", details
    if isinstance(event, ev.GateChecked):
        details = {"passed": event.passed, "results": event.results, "asked_by": event.asked_by}
        return "gate_checked", f"{run}/{event.step}", details
    if isinstance(event, ev.ChecksRequested):
        return "checks_requested", f"{run}/{event.step}", {}
    if isinstance(event, ev.GateVoided):
        details = {"reason": event.reason, "old_digest": event.old_digest}
        return "approvals_voided", f"{run}/{event.step}", details | {"new_digest": event.new_digest}
    if isinstance(event, ev.GateClosed):
        return "gate_closed", f"{run}/{event.step}", {"outcome": event.outcome}
    if isinstance(event, ev.CancelRefused):
        return "cancel_refused", run, {"why": event.reason}
    if isinstance(event, ev.CancelRequested):
        return "cancel_requested", run, {}
    if isinstance(event, ev.RollbackStarted):
        return "rollback_started", run, {"stage": event.stage, "hosts": event.hosts}
    if isinstance(event, ev.RunInterrupted):
        details = {"pid": event.pid, "node": event.node, "unknown": event.unknown}
        return "run_interrupted", run, details
    if isinstance(event, ev.RunResumed):
        return "run_resumed", run, {"again": event.again}
    if isinstance(event, ev.RunFinished):
        return "run_finished", run, {"status": event.status, "message": event.message}
    if isinstance(event, ev.FollowerLaunched):
        return "follower_launched", run, {"follower": event.follower, "pipeline": event.pipeline}
    if isinstance(event, ev.FollowerRefused):
        return "follower_refused", run, {"pipeline": event.pipeline, "why": event.reason}
    if isinstance(event, ev.NoticeAttempted):
        details = {"target": event.target, "notice": event.notice, "attempt": event.attempt}
        details |= {"detail": event.detail, "final": event.final}
        return ("notice_sent" if event.sent else "notice_failed"), run, details
    if isinstance(event, ev.FileTransferred):
        details = {"stage": event.stage, "source": event.source, "size": event.size}
        details |= {"sha256": event.sha256, "destinations": event.destinations}
        return "file_transferred", f"{run}/{event.step}", details
    if isinstance(event, ev.OutputRedacted):
        details = {"stage": event.stage, "step": event.step, "counts": event.counts}
        return "output_redacted", f"{run}/{event.host}", details
    if isinstance(event, ev.HostKeyRefused):
        return "host_key_refused", event.host, {"reason": event.reason, "run_id": run}
    if isinstance(event, ev.HostKeyAccepted):
        details = {
            "fingerprint": event.fingerprint,
            "known_hosts": event.known_hosts,
            "run_id": run,
        }
        return "host_key_accepted", event.host, details
    return None


def clock_jumps(records: list[AuditRecord], tolerance: float = 1.0) -> list[tuple[int, float]]:
    """Records stamped earlier than the one before them by more than `tolerance` seconds: the
    clock was set back. The chain orders records by sequence, so it stays intact; a reader of
    the times should know. Returns (record number, seconds back)."""
    jumps = []
    previous: float | None = None
    for record in records:
        at = datetime.fromisoformat(record.at).timestamp()
        if previous is not None and previous - at > tolerance:
            jumps.append((record.seq, previous - at))
        previous = at if previous is None else max(previous, at)
    return jumps


@dataclass(frozen=True)
class Verdict:
    """What `audit verify` found: intact up to a head, or broken at a record."""

    count: int
    head: str
    broken_at: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        """True when every record checks out."""
        return self.broken_at is None


def verify(
    records: list[AuditRecord], anchor: str | None = None, prev: str = GENESIS, first: int = 1
) -> Verdict:
    """Recompute the chain and name the first record that was edited, deleted, inserted or moved.

    `prev` and `first` continue a chain already verified up to record `first - 1`.
    """
    expected = first
    for record in records:
        if record.seq != expected:
            return Verdict(
                len(records), prev, expected, f"record {expected} is missing: it was deleted"
            )
        fields = asdict(record)
        fields.pop("hash")
        if link_hash(**fields) != record.hash:
            problem = f"record {record.seq} was altered (edited or moved): its content does not match its hash"
            return Verdict(len(records), prev, record.seq, problem)
        if record.prev != prev:
            problem = (
                f"record {record.seq} does not follow record {record.seq - 1}: a record was "
                "inserted, moved or replaced here"
            )
            return Verdict(len(records), prev, record.seq, problem)
        prev, expected = record.hash, expected + 1
    if anchor and anchor not in {r.hash for r in records} and anchor != GENESIS:
        problem = (
            f"the kept head {anchor[:16]}… is not in the chain: records after it were removed "
            "or the chain was rewritten"
        )
        return Verdict(len(records), prev, expected, problem)
    return Verdict(len(records), prev)
