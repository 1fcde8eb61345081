"""`opsconsole audit verify|head|export|signers`: the audit trail for auditors."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from console.audit import NAMESPACE, AuditRecord, Entry, canonical, clock_jumps, utc, verify
from console.cli import load, store_for
from console.errors import ConsoleError, UsageError
from console.events import GateDecided
from console.files import write_whole
from console.identity import current_operator
from console.signing import allowed_signers
from console.signing import verify as verify_signature
from console.store import Store


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen action."""
    action = {
        "verify": _verify,
        "head": _head,
        "export": _export,
        "signers": _signers,
        "evidence": _evidence,
    }
    return action[args.audit_action](args)


def _verify(args: argparse.Namespace) -> int:
    store = store_for(args)
    try:
        records = store.audit_records()
        unrecorded = _decisions_without_records(store, records)
    finally:
        store.close()
    verdict = verify(records, args.head)
    if not verdict.intact:
        print(
            f"audit trail broken at record {verdict.broken_at}: {verdict.problem}", file=sys.stderr
        )
        return 1
    for event in unrecorded:
        print(
            f"run {event.run_id}: {event.actor}'s {event.decision} of gate '{event.step}' at "
            f"{utc(event.at)} has no audit record: it was written around opsconsole",
            file=sys.stderr,
        )
    unsigned = _unsigned_in_signed_gates(records)
    for r in unsigned:
        print(
            f"record {r.seq}: {r.actor}'s {DECISIONS[r.action]} of gate "
            f"{r.subject} is not signed, though that gate's policy wants signatures: it did not "
            "count, and it was not written by opsconsole",
            file=sys.stderr,
        )
    signed = [r for r in records if r.details.get("signature")]
    keys = _operator_keys(args) if signed else {}
    if keys is None:
        print(f"{len(signed)} signed decisions not checked: no inventory to take the keys from")
    for r in signed if keys is not None else []:
        problem = _signature_problem(r, keys or {})
        if problem:
            print(f"audit trail broken at record {r.seq}: {problem}", file=sys.stderr)
            return 1
    if unsigned or unrecorded:
        return 1
    checked = f", {len(signed)} signatures valid" if signed and keys is not None else ""
    print(f"audit trail intact: {verdict.count} records{checked}, head {verdict.head}")
    for seq, back in clock_jumps(records):
        print(
            f"note: record {seq} is stamped {back:.0f} s before the record ahead of it: the "
            "clock was set back there (the records' order is their numbers, which is intact)"
        )
    return 0


def _operator_keys(args: argparse.Namespace) -> dict[str, str] | None:
    """Each operator's public key from the inventory, or None when there is no inventory."""
    try:
        config = load(args)
    except ConsoleError:
        return None
    return {
        n: op.ssh_public_key for n, op in config.inventory.operators.items() if op.ssh_public_key
    }


def _unsigned_in_signed_gates(records: list[AuditRecord]) -> list[AuditRecord]:
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


DECISIONS = {"gate_approved": "approval", "gate_rejected": "rejection"}


def _decisions_without_records(store: Store, records: list[AuditRecord]) -> list[GateDecided]:
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


def _signature_problem(record: AuditRecord, keys: dict[str, str]) -> str | None:
    """Why a signed decision's signature does not stand for this very record, or None."""
    key = keys.get(record.actor)
    if key is None:
        return (
            f"{record.actor}'s decision is signed but the inventory has no key for {record.actor}"
        )
    text = str(record.details.get("signed_document", ""))
    differs = _document_differs(record, text)
    if differs:
        return (
            f"the signature on {record.actor}'s decision was made for another record "
            f"(its signed document names {differs}): it was copied here"
        )
    if not verify_signature(text.encode(), str(record.details["signature"]), record.actor, key):
        return f"the signature of {record.actor}'s decision does not verify with their key"
    return None


def _document_differs(record: AuditRecord, text: str) -> str | None:
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
        "decision": record.action.removeprefix("gate_").removesuffix("d"),
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


def _head(args: argparse.Namespace) -> int:
    store = store_for(args)
    try:
        seq, digest = store.audit_head()
    finally:
        store.close()
    print(f"{seq} {digest}")
    return 0


def _moment(text: str | None, option: str) -> str | None:
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
    records: Iterable[AuditRecord], args: argparse.Namespace, run_id: str | None
) -> list[AuditRecord]:
    """The records the export's filters keep."""
    since, until = _moment(args.since, "--since"), _moment(args.until, "--until")
    kept = []
    for r in records:
        if (since and r.at < since) or (until and r.at >= until):
            continue
        if run_id and r.subject != run_id and not r.subject.startswith(run_id + "/"):
            continue
        if args.actor and r.actor != args.actor:
            continue
        kept.append(r)
    return kept


def _export(args: argparse.Namespace) -> int:
    store = store_for(args)
    try:
        run_id = store.resolve_run(args.run) if args.run else None
        records = store.audit_records()
        head_seq, head = store.audit_head()
        chosen = select(records, args, run_id)
        text = (
            _jsonl(chosen, head_seq, head)
            if args.format == "jsonl"
            else _csv(chosen, head_seq, head)
        )
        if args.out:
            write_whole(Path(args.out), [text])
        else:
            sys.stdout.write(text)
        filters = {
            k: getattr(args, k) for k in ("since", "until", "run", "actor") if getattr(args, k)
        }
        details = {"format": args.format, "filters": filters, "records": len(chosen), "head": head}
        store.audit(
            [Entry(time.time(), current_operator(), "audit_exported", args.out or "-", details)]
        )
    finally:
        store.close()
    if args.out:
        print(f"exported {len(chosen)} audit records to {args.out}; chain head {head_seq} {head}")
    return 0


def _row(record: AuditRecord) -> dict[str, object]:
    return {
        "seq": record.seq,
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "subject": record.subject,
        "details": record.details,
        "prev": record.prev,
        "hash": record.hash,
    }


def _jsonl(records: list[AuditRecord], head_seq: int, head: str) -> str:
    lines = [canonical(_row(r)).decode() for r in records]
    lines.append(canonical({"chain_head": head, "seq": head_seq}).decode())
    return "\n".join(lines) + "\n"


def _csv(records: list[AuditRecord], head_seq: int, head: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "at", "actor", "action", "subject", "details", "prev", "hash"])
    for r in records:
        row = _row(r)
        row["details"] = canonical(r.details).decode()
        writer.writerow(row.values())
    writer.writerow([head_seq, "", "", "chain_head", "", "", "", head])
    return out.getvalue()


def _signers(args: argparse.Namespace) -> int:
    keys = _operator_keys(args)
    if keys is None:
        load(args)  # raises the configuration's own problem, in words
    text = allowed_signers(keys or {})
    if args.out:
        write_whole(Path(args.out), [text])
        print(f"wrote {len(keys or {})} signer(s) to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _evidence(args: argparse.Namespace) -> int:
    from console import __version__
    from console.evidence import write_pack

    if bool(args.run) == bool(args.since):
        raise UsageError("name one run, or give --since DATE for every run since then")
    keys = _operator_keys(args) or {}
    store = store_for(args)
    try:
        if args.run:
            runs = [store.resolve_run(args.run)]
        else:
            since = datetime.fromisoformat(
                str(_moment(args.since, "--since")).replace("Z", "+00:00")
            )
            runs = [r.id for r in reversed(store.runs()) if r.created_at >= since.timestamp()]
            if not runs:
                raise UsageError(f"no run was created since {args.since}")
        now = time.time()
        header = {
            "version": __version__,
            "at": datetime.fromtimestamp(now, UTC).isoformat(),
            "actor": current_operator(),
        }
        files = write_pack(store, runs, Path(args.out), keys, header)
        details = {
            "format": "evidence",
            "runs": runs,
            "files": len(files),
            "head": store.audit_head()[1],
        }
        store.audit(
            [
                Entry(
                    now,
                    current_operator(),
                    "audit_exported",
                    str(Path(args.out).resolve()),
                    details,
                )
            ]
        )
    finally:
        store.close()
    print(f"wrote an evidence pack of {len(runs)} run(s), {len(files)} files, to {args.out}")
    print(f"check it with: cd {args.out} && sha256sum -c MANIFEST.sha256")
    return 0
