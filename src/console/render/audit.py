"""The audit trail as auditors take it away: JSON lines or CSV, each ending with the chain's
head."""

from __future__ import annotations

import csv
import io

from console.audit import AuditRecord, canonical


def row(record: AuditRecord) -> dict[str, object]:
    """A record's fields, as they are hashed."""
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


def jsonl(records: list[AuditRecord], head_seq: int, head: str) -> str:
    """One canonical JSON object per record, then the chain's head."""
    lines = [canonical(row(r)).decode() for r in records]
    lines.append(canonical({"chain_head": head, "seq": head_seq}).decode())
    return "\n".join(lines) + "\n"


def to_csv(records: list[AuditRecord], head_seq: int, head: str) -> str:
    """A CSV table of the records (details as canonical JSON), then the chain's head."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "at", "actor", "action", "subject", "details", "prev", "hash"])
    for r in records:
        fields = row(r)
        fields["details"] = canonical(r.details).decode()
        writer.writerow(fields.values())
    writer.writerow([head_seq, "", "", "chain_head", "", "", "", head])
    return out.getvalue()
