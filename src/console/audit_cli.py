"""`opsconsole audit verify|head|export|signers`: the audit trail for auditors."""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from console.audit import AuditRecord, Entry, canonical, clock_jumps, verify
from console.cli import load, open_store
from console.errors import ConsoleError, UsageError
from console.files import write_whole
from console.identity import current_operator
from console.signing import allowed_signers
from console.signing import verify as verify_signature


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
    store = open_store(args)
    try:
        records = store.audit_records()
    finally:
        store.close()
    verdict = verify(records, args.head)
    if not verdict.intact:
        print(
            f"audit trail broken at record {verdict.broken_at}: {verdict.problem}", file=sys.stderr
        )
        return 1
    signed = [r for r in records if r.details.get("signature")]
    if signed:
        keys = _operator_keys(args)
        if keys is None:
            print(f"{len(signed)} signed decisions not checked: no inventory to take the keys from")
        for r in signed if keys is not None else []:
            problem = _signature_problem(r, keys or {})
            if problem:
                print(f"audit trail broken at record {r.seq}: {problem}", file=sys.stderr)
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


def _signature_problem(record: AuditRecord, keys: dict[str, str]) -> str | None:
    key = keys.get(record.actor)
    if key is None:
        return (
            f"{record.actor}'s decision is signed but the inventory has no key for {record.actor}"
        )
    document = str(record.details.get("signed_document", "")).encode()
    if not verify_signature(document, str(record.details["signature"]), record.actor, key):
        return f"the signature of {record.actor}'s decision does not verify with their key"
    return None


def _head(args: argparse.Namespace) -> int:
    store = open_store(args)
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
    store = open_store(args)
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
    store = open_store(args)
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
