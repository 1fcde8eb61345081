"""An evidence pack for auditors: runs, decisions, signatures and audit records, with SHA-256 sums.

Everything in the pack can be checked without this program: `sha256sum -c MANIFEST.sha256`,
and each signed decision with `ssh-keygen -Y verify` against the pack's allowed_signers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from console import events as ev
from console.audit import AuditRecord, canonical
from console.errors import UsageError
from console.ops.runs import read_state
from console.policy import judge_gate
from console.render.show import run_json
from console.sanitize import Sanitizer
from console.signing import allowed_signers
from console.store import Store

README = """Evidence pack written by opsconsole {version} at {at} (UTC) by {actor}.

runs/RUN/state.json      each run as it ended: params, targets, stages, per-host results, gates
runs/RUN/events.jsonl    the run's recorded events (output excepted), in order
runs/RUN/output/HOST.txt each host's output, with control sequences removed
runs/RUN/pipeline.toml   the pipeline's text as it ran
approvals.json           every gate decision: who, when, reason, ticket, the plan digest it binds to
transfers.json           every file a run moved: from where, size, SHA-256, each destination's result
decisions/SEQ.json(.sig) each signed decision: the exact signed bytes and its SSH signature
audit.jsonl              the audit records concerning these runs, ending with the chain head
allowed_signers          the operators' public keys from the inventory
MANIFEST.sha256          the SHA-256 of every file above

Check the files:      sha256sum -c MANIFEST.sha256
Check a signature:    ssh-keygen -Y verify -f allowed_signers -I OPERATOR -n opsconsole-approval \\
                        -s decisions/SEQ.json.sig < decisions/SEQ.json
Check the chain head against the store later: opsconsole audit verify --head HASH
"""


def write_pack(
    store: Store, run_ids: list[str], out: Path, keys: dict[str, str], header: dict[str, str]
) -> list[str]:
    """Write the pack into `out` (which must not exist yet) and return its files, relative."""
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; give --out a new folder for the evidence pack")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".evidence-", dir=out.parent))
    try:
        _fill(store, run_ids, staging, keys, header)
        files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
        manifest = "".join(f"{_sha256(staging / f)}  {f}\n" for f in files)
        (staging / "MANIFEST.sha256").write_text(manifest)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)  # the pack appears whole or not at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [*files, "MANIFEST.sha256"]


def _fill(
    store: Store,
    run_ids: list[str],
    folder: Path,
    keys: dict[str, str],
    header: dict[str, str],
) -> None:
    (folder / "README.txt").write_text(README.format(**header))
    (folder / "allowed_signers").write_text(allowed_signers(keys))
    approvals: list[dict[str, Any]] = []
    for run_id in run_ids:
        approvals.extend(_run(store, run_id, folder / "runs" / run_id))
    (folder / "approvals.json").write_text(json.dumps(approvals, indent=2, sort_keys=True) + "\n")
    moved = [_transfer(s.event) for r in run_ids for s in store.read(r, kinds=(_MOVED,))]
    (folder / "transfers.json").write_text(json.dumps(moved, indent=2, sort_keys=True) + "\n")
    records = [r for r in store.audit_records() if _concerns(r, run_ids)]
    _audit(records, store.audit_head(), folder)


_MOVED = ev.FileTransferred.kind


def _transfer(event: ev.Event) -> dict[str, Any]:
    """One file a run moved, as the manifest lists it (never its content)."""
    assert isinstance(event, ev.FileTransferred)
    keep = ("stage", "step", "source", "size", "sha256", "destinations")
    return {"run_id": event.run_id, "at": event.at} | {k: getattr(event, k) for k in keep}


def _run(store: Store, run_id: str, folder: Path) -> list[dict[str, Any]]:
    """One run's files; returns its decisions for approvals.json."""
    (folder / "output").mkdir(parents=True)
    state = read_state(store, run_id)
    (folder / "state.json").write_text(json.dumps(run_json(state), indent=2, sort_keys=True) + "\n")
    if state.launched is not None:
        (folder / "pipeline.toml").write_text(store.blob(state.launched.pipeline_digest) or "")
    with (folder / "events.jsonl").open("w") as events:
        for stored in store.read(run_id, exclude=(ev.Output.kind,)):
            event = stored.event
            row = {"id": stored.id, "kind": event.kind, "run_id": event.run_id, "at": event.at}
            events.write(canonical(row | {"data": _jsonable(event.payload())}).decode() + "\n")
    _outputs(store, run_id, folder / "output")
    return [
        {
            "run_id": run_id,
            "gate": gate.step,
            "outcome": gate.outcome,
            "plan_digest": gate.plan_digest,
            "actor": d.actor,
            "decision": d.decision,
            "at": d.at,
            "reason": d.reason,
            "ticket": d.ticket,
            "emergency": d.emergency,
            "decision_plan_digest": d.plan_digest,
            "signed": bool(d.signature),
            "ignored": found.problem,
        }
        for gate in state.gates.values()
        for found in judge_gate(gate, state.operator, None)
        for d in [found.decision]
    ]


def _outputs(store: Store, run_id: str, folder: Path) -> None:
    """Each host's output as plain text, read in windows so a long run never sits in memory."""
    cleaners: dict[tuple[str, str, str], Sanitizer] = {}
    after = 0
    while batch := store.read(run_id, after, kinds=(ev.Output.kind,), limit=5000):
        after = batch[-1].id
        by_host: dict[str, list[str]] = {}
        for stored in batch:
            out = stored.event
            assert isinstance(out, ev.Output)
            text = cleaners.setdefault((out.host, out.step, out.stream), Sanitizer(False)).feed(
                out.data
            )
            mark = "!" if out.stream == "stderr" else "|"
            by_host.setdefault(out.host, []).extend(
                f"{out.step} {mark} {line}\n" for line in text.splitlines()
            )
        for host, lines in by_host.items():
            with (folder / f"{_safe(host)}.txt").open("a") as handle:
                handle.writelines(lines)


def _audit(records: list[AuditRecord], head: tuple[int, str], folder: Path) -> None:
    decisions = folder / "decisions"
    decisions.mkdir()
    with (folder / "audit.jsonl").open("w") as out:
        for r in records:
            row = {"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action}
            row |= {"subject": r.subject, "details": r.details, "prev": r.prev, "hash": r.hash}
            out.write(canonical(row).decode() + "\n")
            if r.details.get("signature"):
                (decisions / f"{r.seq}.json").write_bytes(
                    str(r.details["signed_document"]).encode()
                )
                (decisions / f"{r.seq}.json.sig").write_text(str(r.details["signature"]))
        out.write(canonical({"chain_head": head[1], "seq": head[0]}).decode() + "\n")


def _concerns(record: AuditRecord, run_ids: list[str]) -> bool:
    return any(record.subject == r or record.subject.startswith(r + "/") for r in run_ids)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _safe(name: str) -> str:
    """A host name as a file name (inventory names are already plain; this only guards)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
