"""`opsconsole audit verify|head|export|signers|evidence`: the audit trail for auditors."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from console.cli.options import RUN_HELP, common_options
from console.errors import UsageError
from console.settings import Settings


def configure(p: argparse.ArgumentParser) -> None:
    """The audit subcommands."""
    sub = p.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    check = sub.add_parser(
        "verify", help="recompute the hash chain; exit 1 at the first bad record"
    )
    check.add_argument(
        "--head", metavar="HASH", help="a head kept earlier, which must be in the chain"
    )
    sub.add_parser("head", help="print the newest record's number and hash, to keep elsewhere")
    export = sub.add_parser("export", help="write records for auditors, ending with the chain head")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--since", metavar="DATE", help="from this UTC date or time (ISO 8601)")
    export.add_argument("--until", metavar="DATE", help="before this UTC date or time (ISO 8601)")
    export.add_argument("--run", metavar="RUN", help="only records about this run")
    export.add_argument("--actor", metavar="NAME", help="only records by this operator")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    signers = sub.add_parser(
        "signers", help="write an OpenSSH allowed_signers file from the inventory"
    )
    signers.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    evidence = sub.add_parser(
        "evidence", help="write an evidence pack for auditors into a new folder"
    )
    evidence.add_argument("run", nargs="?", help=RUN_HELP)
    evidence.add_argument(
        "--since", metavar="DATE", help="every run created from this UTC date or time on"
    )
    evidence.add_argument("--out", metavar="DIR", required=True, help="a new folder for the pack")
    for child in (check, export, signers, evidence, sub.choices["head"]):
        common_options(child, suppress=True)


def audit(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch to the chosen action."""
    action = {
        "verify": verify,
        "head": head,
        "export": export,
        "signers": signers,
        "evidence": evidence,
    }
    return action[args.audit_action](args, settings)


def verify(args: argparse.Namespace, settings: Settings) -> int:
    """Check the chain and everything it must agree with; exit 1 on any finding."""
    from console.audit import utc
    from console.ops.audit import DECISIONS, check_trail, operator_keys
    from console.ops.config import operators
    from console.store import open_store

    with open_store(settings.store) as store:
        found = check_trail(store, operator_keys(operators(settings)), args.head)
    verdict = found.verdict
    if not verdict.intact:
        say = f"audit trail broken at record {verdict.broken_at}: {verdict.problem}"
        print(say, file=sys.stderr)
        return 1
    for event in found.unrecorded:
        print(
            f"run {event.run_id}: {event.actor}'s {event.decision} of gate '{event.step}' at "
            f"{utc(event.at)} has no audit record: it was written around opsconsole",
            file=sys.stderr,
        )
    for r in found.unsigned:
        print(
            f"record {r.seq}: {r.actor}'s {DECISIONS[r.action]} of gate {r.subject} is not "
            "signed, though that gate's policy wants signatures: it did not count, and it was "
            "not written by opsconsole",
            file=sys.stderr,
        )
    if found.signed and not found.checked:
        print(f"{found.signed} signed decisions not checked: no inventory to take the keys from")
    if found.bad_signature is not None:
        seq, problem = found.bad_signature
        print(f"audit trail broken at record {seq}: {problem}", file=sys.stderr)
    if not found.intact:
        return 1
    checked = f", {found.signed} signatures valid" if found.signed and found.checked else ""
    print(f"audit trail intact: {verdict.count} records{checked}, head {verdict.head}")
    for seq, back in found.clock:
        print(
            f"note: record {seq} is stamped {back:.0f} s before the record ahead of it: the "
            "clock was set back there (the records' order is their numbers, which is intact)"
        )
    return 0


def head(args: argparse.Namespace, settings: Settings) -> int:
    """Print the newest record's number and hash, to keep elsewhere."""
    from console.store import open_store

    with open_store(settings.store) as store:
        seq, digest = store.audit_head()
    print(f"{seq} {digest}")
    return 0


def export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the chosen records, ending with the chain's head; the export is itself a record."""
    from console.files import write_whole
    from console.ops.audit import Filters, record_export, select
    from console.render import audit as render
    from console.store import open_store

    filters = Filters(args.since, args.until, args.run, args.actor)
    with open_store(settings.store) as store:
        run_id = store.resolve_run(args.run) if args.run else None
        head_seq, head = store.audit_head()
        chosen = select(store.audit_records(), filters, run_id)
        text = (render.jsonl if args.format == "jsonl" else render.to_csv)(chosen, head_seq, head)
        if args.out:
            write_whole(Path(args.out), [text])
        else:
            sys.stdout.write(text)
        details = {"format": args.format, "filters": filters.given(), "records": len(chosen)}
        record_export(store, settings.operator, args.out or "-", details | {"head": head})
    if args.out:
        print(f"exported {len(chosen)} audit records to {args.out}; chain head {head_seq} {head}")
    return 0


def signers(args: argparse.Namespace, settings: Settings) -> int:
    """Write an OpenSSH allowed_signers file of the inventory's operators' keys."""
    from console.files import write_whole
    from console.ops.audit import operator_keys
    from console.ops.config import load
    from console.signing import allowed_signers

    keys = operator_keys(dict(load(settings).inventory.operators)) or {}
    text = allowed_signers(keys)
    if args.out:
        write_whole(Path(args.out), [text])
        print(f"wrote {len(keys)} signer(s) to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def evidence(args: argparse.Namespace, settings: Settings) -> int:
    """Write an evidence pack of one run, or of every run since a moment, into a new folder."""
    import time

    from console import __version__
    from console.ops.audit import operator_keys, record_export, runs_since
    from console.ops.config import operators
    from console.ops.evidence import write_pack
    from console.store import open_store

    if bool(args.run) == bool(args.since):
        raise UsageError("name one run, or give --since DATE for every run since then")
    keys = operator_keys(operators(settings)) or {}
    with open_store(settings.store) as store:
        runs = [store.resolve_run(args.run)] if args.run else runs_since(store, args.since)
        now = time.time()
        when = datetime.fromtimestamp(now, UTC).isoformat()
        header = {"version": __version__, "at": when, "actor": settings.operator}
        files = write_pack(store, runs, Path(args.out), keys, header)
        details = {"format": "evidence", "runs": runs, "files": len(files)}
        where = str(Path(args.out).resolve())
        record_export(store, settings.operator, where, details | {"head": store.audit_head()[1]})
    print(f"wrote an evidence pack of {len(runs)} run(s), {len(files)} files, to {args.out}")
    print(f"check it with: cd {args.out} && sha256sum -c MANIFEST.sha256")
    return 0


COMMANDS = [("audit", "verify, anchor and export the audit trail", configure, audit)]
