"""Plain-text and JSON renderings of run state for the headless commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from console.durations import format_duration
from console.policy import Judged, Policy, counted, judge_gate
from console.render.runtext import STATUS_MARK, duration, iso, short_time
from console.sanitize import printable
from console.state import Gate, RunState, step_rows

if TYPE_CHECKING:
    from console.model.inventory import Operator


def run_json(state: RunState, operators: dict[str, Operator] | None = None) -> dict[str, Any]:
    """The document `show --json` prints; decisions judged with the inventory's operators
    when they are to hand."""
    return {
        "id": state.id,
        "pipeline": state.pipeline,
        "status": state.status,
        "operator": state.operator,
        "params": state.params,
        "targets": state.targets,
        "environments": state.environments,
        "promotion": state.launched.promotion if state.launched else {},
        "follows": state.launched.follows if state.launched else None,
        "followers": [{"pipeline": p, "run": r} for p, r in state.followers],
        "chain_stopped": [{"pipeline": p, "why": why} for p, why in state.chain_stopped],
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
                        "actor": j.decision.actor,
                        "decision": j.decision.decision,
                        "reason": j.decision.reason,
                        "ticket": j.decision.ticket,
                        "emergency": j.decision.emergency,
                        "plan_digest": j.decision.plan_digest,
                        "at": iso(j.decision.at),
                        "signed": bool(j.decision.signature),
                        "counts": j.problem is None,
                        "ignored": j.problem,
                    }
                    for j in judge_gate(g, state.operator, operators)
                ],
            }
            for g in state.gates.values()
        ],
    }


def chain_said(state: RunState) -> list[str]:
    """The run before this one in its chain, and what followed it (or why nothing did)."""
    lines = (
        [f"follows   run {state.launched.follows}"]
        if state.launched and state.launched.follows
        else []
    )
    lines += [f"then      {printable(p)}: run {r}" for p, r in state.followers]
    lines += [
        f"then      {printable(p)}: not launched — {printable(why)}"
        for p, why in state.chain_stopped
    ]
    return lines


def promotion_said(state: RunState) -> list[str]:
    """For each environment a promotion rule held the run to, the earlier run that met it."""
    found = state.launched.promotion if state.launched else {}
    return [
        f"{env}: {met.get('environment')} run {met.get('run')} succeeded first ("
        + ", ".join(f"{k}={printable(str(v))}" for k, v in dict(met.get("same") or {}).items())
        + f"{', ' if met.get('same') else ''}{short_time(met.get('succeeded_at'))})"
        for env, met in found.items()
    ]


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
    return align(rows)


def show_text(state: RunState, operators: dict[str, Operator] | None = None) -> str:
    """The `show` page: the run's summary, then one line per step and host."""
    lines = [
        f"run       {state.id}",
        f"pipeline  {printable(state.pipeline)}",
        f"status    {STATUS_MARK.get(state.status, '?')} {state.status}"
        + (f" — {printable(state.message)}" if state.message else ""),
        f"operator  {state.operator}",
        f"params    {', '.join(f'{k}={v}' for k, v in state.params.items()) or '-'}",
        *(f"promoted  {said}" for said in promotion_said(state)),
        *chain_said(state),
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
        lines.extend(_gate_lines(gate, judge_gate(gate, state.operator, operators)))
    return "\n".join(lines + ([""] if state.gates else []) + [align(rows)])


def _gate_lines(gate: Gate, found: list[Judged]) -> list[str]:
    """A gate for people: where it stands, its policy, the plan approvals bind to, decisions
    (each that does not count saying why)."""
    lines = [
        f"gate '{printable(gate.step)}': {gate.outcome or 'waiting'}, "
        f"{len(counted(found))}/{gate.approvals_required} approvals"
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
            known = parts.get("host_keys", {}).get(host, [])
            keys = ", ".join(dict.fromkeys(known)) or "no known key"  # a key known twice, once
            lines.append(f"    target {host} {address} {keys}")
    lines.extend(f"  voided: {printable(reason)}" for reason in gate.voided)
    lines.extend(
        f"  {j.decision.decision} by {j.decision.actor}"
        + (" (emergency)" if j.decision.emergency else "")
        + (f": {printable(j.decision.reason)}" if j.decision.reason else "")
        + (f" — ignored: {printable(j.problem)}" if j.problem else "")
        for j in found
    )
    return lines


def align(rows: Sequence[Sequence[str]]) -> str:
    """Rows of text as columns two spaces apart."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
