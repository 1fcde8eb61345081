"""Plain-text and JSON renderings of run state for the headless commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from console.durations import format_duration
from console.policy import Policy
from console.runtext import STATUS_MARK, duration, iso, short_time
from console.sanitize import printable
from console.state import Gate, RunState, step_rows


def run_json(state: RunState) -> dict[str, Any]:
    """The document `show --json` prints."""
    return {
        "id": state.id,
        "pipeline": state.pipeline,
        "status": state.status,
        "operator": state.operator,
        "params": state.params,
        "targets": state.targets,
        "environments": state.environments,
        "created_at": iso(state.created_at),
        "started_at": iso(state.started_at),
        "finished_at": iso(state.finished_at),
        "message": state.message,
        "steps": [
            {**row, "started_at": iso(row["started_at"]), "finished_at": iso(row["finished_at"])}
            for row in step_rows(state)
        ],
        "gates": [
            {
                "stage": g.stage,
                "step": g.step,
                "message": g.message,
                "outcome": g.outcome,
                "approvals_required": g.approvals_required,
                "plan_digest": g.plan_digest,
                "digest_parts": g.digest_parts,
                "policy": g.policy,
                "voided": g.voided,
                "decisions": [
                    {
                        "actor": d.actor,
                        "decision": d.decision,
                        "reason": d.reason,
                        "ticket": d.ticket,
                        "emergency": d.emergency,
                        "plan_digest": d.plan_digest,
                        "at": iso(d.at),
                    }
                    for d in g.decisions
                ],
            }
            for g in state.gates.values()
        ],
    }


def runs_table(states: list[RunState]) -> str:
    """The `runs` listing as aligned columns."""
    header = ("RUN", "PIPELINE", "STATUS", "OPERATOR", "STARTED", "DURATION")
    rows = [header] + [
        (
            s.id,
            printable(s.pipeline),
            f"{STATUS_MARK.get(s.status, '?')} {s.status}",
            s.operator,
            short_time(s.started_at or s.created_at),
            format_duration(duration(s)),
        )
        for s in states
    ]
    return _align(rows)


def show_text(state: RunState) -> str:
    """The `show` page: the run's summary, then one line per step and host."""
    lines = [
        f"run       {state.id}",
        f"pipeline  {printable(state.pipeline)}",
        f"status    {STATUS_MARK.get(state.status, '?')} {state.status}"
        + (f" — {printable(state.message)}" if state.message else ""),
        f"operator  {state.operator}",
        f"params    {', '.join(f'{k}={v}' for k, v in state.params.items()) or '-'}",
        f"started   {short_time(state.started_at)}   duration {format_duration(duration(state))}",
        "",
    ]
    rows = [("STAGE", "STEP", "HOST", "STATUS", "EXIT", "TIME", "")]
    for row in step_rows(state):
        took = (
            row["finished_at"] - row["started_at"]
            if row["finished_at"] and row["started_at"]
            else None
        )
        rows.append(
            (
                printable(row["stage"]),
                printable(row["step"]),
                row["host"],
                f"{STATUS_MARK.get(row['status'], '?')} {row['status']}",
                "" if row["exit_code"] is None else str(row["exit_code"]),
                format_duration(took),
                printable(row["message"])[:100],
            )
        )
    for gate in state.gates.values():
        lines.extend(_gate_lines(gate))
    return "\n".join(lines + ([""] if state.gates else []) + [_align(rows)])


def _gate_lines(gate: Gate) -> list[str]:
    """A gate for people: where it stands, its policy, the plan approvals bind to, decisions."""
    lines = [
        f"gate '{printable(gate.step)}': {gate.outcome or 'waiting'}, "
        f"{len(gate.approvers)}/{gate.approvals_required} approvals"
    ]
    if gate.policy:
        lines.append(f"  policy: {printable(Policy.from_dict(gate.policy).describe())}")
    if gate.plan_digest:
        parts = gate.digest_parts
        lines.append(f"  plan {gate.plan_digest} (approve with --digest {gate.plan_digest[:12]}):")
        lines.append(f"    pipeline {parts.get('pipeline', '-')}")
        lines.extend(f"    script {printable(k)} {v}" for k, v in parts.get("scripts", {}).items())
        lines.extend(f"    upload {printable(k)} {v}" for k, v in parts.get("uploads", {}).items())
        params = ", ".join(f"{k}={v}" for k, v in parts.get("params", {}).items()) or "none"
        lines.append(f"    params {printable(params)}")
        for host, address in parts.get("targets", {}).items():
            keys = ", ".join(parts.get("host_keys", {}).get(host, [])) or "no known key"
            lines.append(f"    target {host} {address} {keys}")
    lines.extend(f"  voided: {printable(reason)}" for reason in gate.voided)
    lines.extend(
        f"  {d.decision} by {d.actor}"
        + (" (emergency)" if d.emergency else "")
        + (f": {printable(d.reason)}" if d.reason else "")
        for d in gate.decisions
    )
    return lines


def _align(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
