"""The audit trail for auditors: the chain checked end to end with everything it must agree
with (signatures against their records, decisions against their events), records chosen for
an export, and each export itself recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.audit import (
    DECISION_ACTIONS,
    NAMESPACE,
    AuditRecord,
    Entry,
    Verdict,
    canonical,
    clock_jumps,
    utc,
    verify,
)
from console.errors import UsageError
from console.events import GateDecided
from console.signing import verify as verify_signature
from console.store import Store

if TYPE_CHECKING:
    from console.model.inventory import Operator

DECISIONS = {
    action: "approval" if decision == "approve" else "rejection"
    for action, decision in DECISION_ACTIONS.items()
}
"""Audit actions of decisions, and the word for each."""


@dataclass(frozen=True)
class Filters:
    """What an export keeps: a time window (ISO 8601, UTC), a run, an actor."""

    since: str | None = None
    until: str | None = None
    run: str | None = None
    actor: str | None = None

    def given(self) -> dict[str, str]:
        """The filters set, for the export's own record."""
        return {k: v for k, v in vars(self).items() if v}


@dataclass(frozen=True)
class TrailCheck:
    """What checking the trail found: the chain's verdict and every disagreement."""

    verdict: Verdict
    unrecorded: list[GateDecided] = field(default_factory=list)
    """Decision events no audit record stands for."""
    unsigned: list[AuditRecord] = field(default_factory=list)
    """Unsigned decisions on gates whose policy wants signatures."""
    bad_signature: tuple[int, str] | None = None
    """The first signed decision whose signature does not stand for its record, and why."""
    signed: int = 0
    checked: bool = False
    """Whether the signatures were checked (an inventory gave the keys)."""
    clock: list[tuple[int, float]] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """Whether the trail holds with nothing to report against it."""
        found = self.unrecorded or self.unsigned or self.bad_signature
        return self.verdict.intact and not found


def check_trail(store: Store, keys: dict[str, str] | None, head: str | None = None) -> TrailCheck:
    """Recompute the chain, then check it against the events and the signers' keys (None:
    no inventory to take them from, and signatures are left unchecked)."""
    records = store.audit_records()
    verdict = verify(records, head)
    if not verdict.intact:
        return TrailCheck(verdict)
    signed = [r for r in records if r.details.get("signature")]
    bad = None
    for r in signed if keys is not None else []:
        problem = signature_problem(r, keys or {})
        if problem:
            bad = (r.seq, problem)
            break
    return TrailCheck(
        verdict,
        decisions_without_records(store, records),
        unsigned_in_signed_gates(records),
        bad,
        len(signed),
        keys is not None,
        clock_jumps(records),
    )


def operator_keys(operators: dict[str, Operator] | None) -> dict[str, str] | None:
    """Each operator's public key, or None when there is no inventory to take them from."""
    if operators is None:
        return None
    return {n: op.ssh_public_key for n, op in operators.items() if op.ssh_public_key}


def record_export(store: Store, actor: str, where: str, details: dict[str, object]) -> None:
    """Keep on the trail that records left it, where to and what."""
    store.audit([Entry(time.time(), actor, "audit_exported", where, details)])


def runs_since(store: Store, since: str) -> list[str]:
    """Every run created from a moment on, oldest first."""
    start = datetime.fromisoformat(str(moment(since, "--since")).replace("Z", "+00:00"))
    runs = [r.id for r in reversed(store.runs()) if r.created_at >= start.timestamp()]
    if not runs:
        raise UsageError(f"no run was created since {since}")
    return runs


def unsigned_in_signed_gates(records: list[AuditRecord]) -> list[AuditRecord]:
    """Decisions recorded without a signature on a gate whose policy, as recorded when it
    opened, wants every decision signed."""
    signed_gates: dict[str, bool] = {}
    found = []
    for r in records:
        if r.action == "gate_opened":
            policy = r.details.get("policy") or {}
            signed_gates[r.subject] = bool(policy.get("signed_approvals"))
        elif r.action in DECISIONS and signed_gates.get(r.subject) and not r.details.get("signed"):
            found.append(r)
    return found


def decisions_without_records(store: Store, records: list[AuditRecord]) -> list[GateDecided]:
    """Decision events that no audit record stands for (opsconsole writes both at once)."""
    recorded = {(r.subject, r.actor, r.at) for r in records if r.action in DECISIONS}
    found: list[GateDecided] = []
    after = 0
    while batch := store.read_all(after, exclude=("output",), limit=10_000):
        after = batch[-1].id
        for stored in batch:
            event = stored.event
            if isinstance(event, GateDecided):
                key = (f"{event.run_id}/{event.step}", event.actor, utc(event.at))
                if key not in recorded:
                    found.append(event)
    return found


def signature_problem(record: AuditRecord, keys: dict[str, str]) -> str | None:
    """Why a signed decision's signature does not stand for this very record, or None."""
    key = keys.get(record.actor)
    if key is None:
        return (
            f"{record.actor}'s decision is signed but the inventory has no key for {record.actor}"
        )
    text = str(record.details.get("signed_document", ""))
    differs = document_differs(record, text)
    if differs:
        return (
            f"the signature on {record.actor}'s decision was made for another record "
            f"(its signed document names {differs}): it was copied here"
        )
    if not verify_signature(text.encode(), str(record.details["signature"]), record.actor, key):
        return f"the signature of {record.actor}'s decision does not verify with their key"
    return None


def document_differs(record: AuditRecord, text: str) -> str | None:
    """What in a decision's signed document disagrees with the record that carries it."""
    try:
        doc = json.loads(text)
    except ValueError:
        return "nothing readable"
    if not isinstance(doc, dict) or canonical(doc).decode() != text:
        return "nothing in the canonical form"
    run, _, step = record.subject.partition("/")
    ours = {
        "namespace": NAMESPACE,
        "run_id": run,
        "step": step,
        "decision": DECISION_ACTIONS.get(record.action),
        "actor": record.actor,
        "reason": record.details.get("reason"),
        "ticket": record.details.get("ticket"),
        "emergency": record.details.get("emergency"),
        "plan_digest": record.details.get("plan_digest"),
    }
    wrong = [
        f"{k} {doc.get(k)!r} where the record has {v!r}" for k, v in ours.items() if doc.get(k) != v
    ]
    if not isinstance(doc.get("at"), int | float) or utc(float(doc["at"])) != record.at:
        wrong.append(f"the time {doc.get('at')!r} where the record has {record.at}")
    return ", ".join(wrong) or None


def moment(text: str | None, option: str) -> str | None:
    """An ISO date or time as the audit trail's UTC timestamp text, for comparing."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option} '{text}' is not an ISO 8601 date such as 2026-11-28 or 2026-11-28T09:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def select(
    records: Iterable[AuditRecord], filters: Filters, run_id: str | None
) -> list[AuditRecord]:
    """The records the export's filters keep."""
    since, until = moment(filters.since, "--since"), moment(filters.until, "--until")
    kept = []
    for r in records:
        if (since and r.at < since) or (until and r.at >= until):
            continue
        if run_id and r.subject != run_id and not r.subject.startswith(run_id + "/"):
            continue
        if filters.actor and r.actor != filters.actor:
            continue
        kept.append(r)
    return kept
