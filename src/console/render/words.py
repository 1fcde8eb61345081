"""Audit records in words: a one-line summary for lists, and every field, wrapped, for
reading one record whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from console.audit import AuditRecord
from console.sanitize import printable
from console.sizes import size_text


def _params(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in (d.get("params") or {}).items()) or "no params"


def _hosts(d: dict[str, Any], key: str = "targets") -> str:
    hosts = d.get(key) or []
    return f"{len(hosts)} host{'s' if len(hosts) != 1 else ''}"


def _decision(d: dict[str, Any]) -> str:
    parts = [str(d.get("reason") or "no reason given")]
    if d.get("ticket"):
        parts.append(f"ticket {d['ticket']}")
    if d.get("emergency"):
        parts.append("emergency change")
    if d.get("automatic"):
        parts.append("by its checks, automatically")
        return "; ".join(parts)
    parts.append("signed" if d.get("signed") else "not signed")
    return "; ".join(parts)


SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "run_launched": lambda d: (
        f"launched {d.get('pipeline')} with {_params(d)} on {_hosts(d)}"
        + (f" in {', '.join(d['environments'])}" if d.get("environments") else "")
        + _promoted(d)
        + (f"; follows run {d['follows']}" if d.get("follows") else "")
    ),
    "gate_opened": lambda d: (
        f"gate opened, needs {d.get('approvals_required')} approval(s): {d.get('message', '')}"
    ),
    "gate_approved": lambda d: f"approved: {_decision(d)}",
    "gate_rejected": lambda d: f"rejected: {_decision(d)}",
    "gate_rejectd": lambda d: f"rejected: {_decision(d)}",
    "gate_closed": lambda d: f"gate closed: {d.get('outcome')}",
    "gate_checked": lambda d: (
        "checks passed"
        if d.get("passed")
        else "checks failed: "
        + "; ".join(
            f"{r.get('check')} on {r.get('where')}: {r.get('detail')}"
            for r in d.get("results", [])
            if isinstance(r, dict) and not r.get("ok")
        )
    ),
    "checks_requested": lambda d: "asked for the gate's checks to run again",
    "follower_launched": lambda d: (
        f"launched {d.get('pipeline')} after it: run {d.get('follower')}"
    ),
    "notice_sent": lambda d: (
        f"told {d.get('target')} of {d.get('notice')} (try {d.get('attempt')}): {d.get('detail')}"
    ),
    "notice_failed": lambda d: (
        f"could not tell {d.get('target')} of {d.get('notice')} (try {d.get('attempt')}"
        + (", the last" if d.get("final") else "")
        + f"): {d.get('detail')}"
    ),
    "approvals_voided": lambda d: f"approvals voided: {d.get('reason')}",
    "cancel_requested": lambda d: "asked the run to cancel",
    "cancel_refused": lambda d: f"cancel refused: {d.get('why')}",
    "rollback_started": lambda d: f"rollback of {d.get('stage')} on {_hosts(d, 'hosts')}",
    "run_interrupted": lambda d: (
        f"runner {d.get('pid')} on {d.get('node')} gone; "
        f"{len(d.get('unknown') or [])} step(s) of unknown outcome"
    ),
    "run_resumed": lambda d: f"resumed; {len(d.get('again') or [])} step(s) run again",
    "run_finished": lambda d: (
        f"run {d.get('status')}" + (f": {d['message']}" if d.get("message") else "")
    ),
    "file_transferred": lambda d: _moved(d),
    "output_redacted": lambda d: (
        "masked "
        + ", ".join(f"{n} {k}" for k, n in (d.get("counts") or {}).items())
        + f" in {d.get('stage')} › {d.get('step')}"
    ),
    "host_key_refused": lambda d: f"host key refused: {d.get('reason')}",
    "host_key_accepted": lambda d: f"new host key accepted: {d.get('fingerprint')}",
}
"""How each kind of record reads; a refusal (`*_refused`) and any other kind read their
`why`, or their fields."""


def in_words(record: AuditRecord) -> str:
    """A record's details as one line a person reads, not as data."""
    details = record.details
    say = SUMMARIES.get(record.action)
    if say is not None:
        text = say(details)
    elif record.action.endswith("_refused") and details.get("why"):
        text = f"refused: {details['why']}"
    else:
        text = "; ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in sorted(details.items()))
    return printable(" ".join(text.split()))


def _promoted(details: dict[str, Any]) -> str:
    """The earlier runs a launch's promotion rules were met by, in words."""
    found = details.get("promotion")
    if not isinstance(found, dict) or not found:
        return ""
    said = [
        f"{p.get('environment')} run {p.get('run')} succeeded first"
        for p in found.values()
        if isinstance(p, dict)
    ]
    return "; " + "; ".join(said)


def _value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def whole(record: AuditRecord) -> str:
    """Every field of a record, one per line, nested values indented, for reading it whole."""
    lines = [
        f"record {record.seq}   {record.at}",
        f"actor    {record.actor}",
        f"action   {record.action}",
        f"subject  {record.subject}",
        f"in words {in_words(record)}",
        "details",
    ]
    for key, value in sorted(record.details.items()):
        shown = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)
        lines.append(f"  {key}: " + shown.replace("\n", "\n    "))
    lines += [f"prev     {record.prev}", f"hash     {record.hash}"]
    return _printable_lines(lines)


def _printable_lines(lines: list[str]) -> str:
    """The lines, each made safe to show (details come from files and from people)."""
    return "\n".join(printable(part) for line in lines for part in line.split("\n"))


def _moved(details: dict[str, Any]) -> str:
    """A transfer as one line: what went where, and how each destination ended."""
    places = details.get("destinations") or {}
    ok = [host for host, d in places.items() if d.get("result") == "ok"]
    failed = [
        f"{host} ({d.get('result')})" for host, d in places.items() if d.get("result") != "ok"
    ]
    line = (
        f"sent {details.get('source')} ({size_text(int(details.get('size') or 0))}, sha256 "
        f"{str(details.get('sha256') or '')[:16]}…) to {len(ok)} of {len(places)}"
    )
    return line + (f"; not to {', '.join(failed)}" if failed else "")
