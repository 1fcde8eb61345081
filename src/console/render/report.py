"""A run's report for change records, in Markdown or HTML: what ran, where, who approved, how it ended.

Both formats render the same sections; every value from a pipeline, the params or a host is
untrusted text, escaped for the format it lands in.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.durations import format_duration
from console.policy import judge_gate
from console.render.runtext import STATUS_MARK, duration, iso
from console.sanitize import printable
from console.state import GATE_HOST, RunState

if TYPE_CHECKING:
    from console.model.inventory import Operator

_WORST = (
    "failed",
    "unreachable",
    "timed_out",
    "unknown",
    "running",
    "pending",
    "waiting",
    "cancelled",
    "skipped",
    "ok",
)


@dataclass(frozen=True)
class Section:
    """A titled table."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


def facts(state: RunState) -> list[tuple[str, str]]:
    """The run at a glance: outcome, who, when, what with."""
    from console.render.show import chain_said, promotion_said

    outcome = f"{STATUS_MARK.get(state.status, '?')} {state.status}"
    return [
        ("Outcome", f"{outcome} — {state.message}" if state.message else outcome),
        ("Pipeline", state.pipeline),
        ("Launched by", state.operator),
        ("Environments", ", ".join(state.environments) or "-"),
        ("Params", ", ".join(f"{k}={v}" for k, v in state.params.items()) or "none"),
        *(("Promoted", said) for said in promotion_said(state)),  # the run that let it in
        *((line.split()[0].capitalize(), line.split(None, 1)[1]) for line in chain_said(state)),
        ("Targets", f"{len(state.targets)} hosts: {', '.join(state.targets)}"),
        ("Created", iso(state.created_at) or "-"),
        ("Finished", iso(state.finished_at) or "-"),
        ("Duration", format_duration(duration(state))),
    ]


def sections(state: RunState, operators: dict[str, Operator] | None = None) -> list[Section]:
    """The timeline of stages, each host's result, and the approvals."""
    stages = [
        (
            s.name,
            s.strategy,
            s.status,
            iso(s.started_at) or "-",
            format_duration(s.finished_at - s.started_at)
            if s.started_at and s.finished_at
            else "-",
            ", ".join(s.failed_hosts) or "-",
        )
        for s in state.stages
    ]
    approvals = [
        (
            f"{g.stage} / {g.step}",
            g.outcome or "open",
            j.decision.actor,
            j.decision.decision
            + (" (emergency)" if j.decision.emergency else "")
            + (f" — ignored: {j.problem}" if j.problem else ""),
            j.decision.reason or "-",
            j.decision.ticket or "-",
            iso(j.decision.at) or "-",
            j.decision.plan_digest[:12] or "-",
        )
        for g in state.gates.values()
        for j in judge_gate(g, state.operator, operators)
    ]
    return [
        Section(
            "Timeline",
            ("stage", "strategy", "status", "started", "took", "failed hosts"),
            stages,
        ),
        Section("Hosts", ("host", "result", "at step", "message"), _host_rows(state)),
        Section(
            "Approvals",
            ("gate", "outcome", "by", "decision", "reason", "ticket", "at", "plan"),
            approvals,
        ),
    ]


def _host_rows(state: RunState) -> list[tuple[str, str, str, str]]:
    """Each target's worst step: where it failed, or ok."""
    rows = []
    for host in state.targets:
        cells = [c for c in state.cells.values() if c.host == host and c.host != GATE_HOST]
        if not cells:
            rows.append((host, "-", "-", "-"))
            continue
        worst = min(cells, key=lambda c: _WORST.index(c.status) if c.status in _WORST else 0)
        step = "-" if worst.status == "ok" else f"{worst.stage} / {worst.step}"
        rows.append((host, worst.status, step, worst.message or "-"))
    return rows


def markdown(state: RunState, operators: dict[str, Operator] | None = None) -> str:
    """The report as Markdown; decisions judged with the inventory's operators when to hand."""
    out = [f"# Run {_md(state.id)}: {_md(state.pipeline)}", ""]
    out += [f"- **{name}:** {_md(value)}" for name, value in facts(state)]
    for section in sections(state, operators):
        out += ["", f"## {section.title}", ""]
        if not section.rows:
            out.append("None.")
            continue
        out.append("| " + " | ".join(section.headers) + " |")
        out.append("|" + "---|" * len(section.headers))
        out += ["| " + " | ".join(_md(v) for v in row) + " |" for row in section.rows]
    return "\n".join(out) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def _md(text: str) -> str:
    """Untrusted text as literal Markdown: one line, no markup, no HTML."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text).replace("\n", " "))


def to_html(state: RunState, operators: dict[str, Operator] | None = None) -> str:
    """The report as a self-contained HTML page (no scripts, no outside resources)."""
    esc = _html
    title = f"Run {esc(state.id)}: {esc(state.pipeline)}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title>",
        "<style>body{font-family:sans-serif;margin:2em;color:#111}"
        "table{border-collapse:collapse;margin-bottom:1.5em}"
        "th,td{border:1px solid #999;padding:.25em .6em;text-align:left}"
        "th{background:#eee}dt{font-weight:bold}</style></head><body>",
        f"<h1>{title}</h1>",
        "<dl>",
        *(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts(state)),
        "</dl>",
    ]
    for section in sections(state, operators):
        parts.append(f"<h2>{esc(section.title)}</h2>")
        if not section.rows:
            parts.append("<p>None.</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in section.headers))
        for row in section.rows:
            parts.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html(text: str) -> str:
    return html.escape(printable(text), quote=True)
