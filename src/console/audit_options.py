"""The options of `opsconsole audit ACTION`, apart from the actions so that `--help` stays quick."""

from __future__ import annotations

import argparse

from console.cli import common_options


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
    evidence.add_argument("run", nargs="?", help="a run id, a unique prefix of one, or 'last'")
    evidence.add_argument(
        "--since", metavar="DATE", help="every run created from this UTC date or time on"
    )
    evidence.add_argument("--out", metavar="DIR", required=True, help="a new folder for the pack")
    for child in (check, export, signers, evidence, sub.choices["head"]):
        common_options(child, suppress=True)
