"""The delivery measures as JSON, CSV and a table for a terminal."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from console.delivery.measures import Durations, Group, Measures, Period
from console.durations import format_duration


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def group_json(group: Group) -> dict[str, Any]:
    """One group's measures, JSON-ready."""
    return {
        "environment": group.environment,
        "pipeline": group.pipeline,
        "deployments": len(group.deployments),
        "per_day": round(group.per_day, 4),
        "failed": len(group.failed),
        "change_failure_rate": _rate(group.change_failure_rate),
        "recovery_s": group.recovery.as_dict() | {"unrecovered": len(group.unrecovered)},
        "lead_time_s": group.lead_time.as_dict(),
        "gate_wait_s": group.gate_wait.as_dict()
        | {"rejected": group.gates_rejected, "expired": group.gates_expired},
        "waited_on": {who: d.as_dict() for who, d in group.waited_on.items()},
        "rework_rate": _rate(group.rework_rate),
        "bands": group.bands,
        "failed_runs": [r.run_id for r in group.failed],
    }


def as_json(found: Measures) -> dict[str, Any]:
    """The whole document `metrics --json` prints."""
    return {
        "since": _iso(found.period.since),
        "until": _iso(found.period.until),
        "groups": [group_json(g) for g in found.groups],
        "weeks": [
            {"week": _week(period), "since": _iso(period.since)} | _week_row(group)
            for period, groups in found.weeks
            for group in groups
        ],
    }


def _week(period: Period) -> str:
    year, week, _ = datetime.fromtimestamp(period.since, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _week_row(group: Group) -> dict[str, Any]:
    return {
        "environment": group.environment,
        "deployments": len(group.deployments),
        "failed": len(group.failed),
        "change_failure_rate": _rate(group.change_failure_rate),
        "recovery_median_s": group.recovery.median,
        "lead_time_median_s": group.lead_time.median,
        "gate_wait_median_s": group.gate_wait.median,
    }


CSV_COLUMNS = [
    "environment",
    "pipeline",
    "deployments",
    "per_day",
    "failed",
    "change_failure_rate",
    "recovery_median_s",
    "recovery_p90_s",
    "unrecovered",
    "lead_time_median_s",
    "lead_time_p90_s",
    "gate_wait_median_s",
    "gate_wait_p90_s",
    "gates_rejected",
    "gates_expired",
    "rework_rate",
]


def as_csv(found: Measures) -> str:
    """One row per group, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in found.groups:
        writer.writerow(
            [
                g.environment,
                g.pipeline or "",
                len(g.deployments),
                round(g.per_day, 4),
                len(g.failed),
                _blank(_rate(g.change_failure_rate)),
                _blank(g.recovery.median),
                _blank(g.recovery.p90),
                len(g.unrecovered),
                _blank(g.lead_time.median),
                _blank(g.lead_time.p90),
                _blank(g.gate_wait.median),
                _blank(g.gate_wait.p90),
                g.gates_rejected,
                g.gates_expired,
                _blank(_rate(g.rework_rate)),
            ]
        )
    return out.getvalue()


def _blank(value: object) -> object:
    return "" if value is None else value


def human(seconds: float) -> str:
    """A duration for people: 12s, 3m05s, 5h10m, 3.5d."""
    return f"{seconds / 86400:.1f}d" if seconds >= 2 * 86400 else format_duration(seconds)


def _span(d: Durations) -> str:
    if d.median is None or d.p90 is None:
        return "–"
    return f"{human(d.median)} (p90 {human(d.p90)})"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def table(found: Measures) -> str:
    """The measures for a terminal: one block per environment, its pipelines beneath it."""
    lines = [f"delivery from {_iso(found.period.since)} to {_iso(found.period.until)}", ""]
    head = [
        "",
        "deploys",
        "per day",
        "failed",
        "recovery (median)",
        "lead time",
        "gate wait",
        "rework",
    ]
    rows = [head]
    for g in found.groups:
        name = g.environment if g.pipeline is None else f"  {g.pipeline}"
        rows.append(
            [
                name,
                str(len(g.deployments)),
                f"{g.per_day:.2f}",
                f"{len(g.failed)} · {_percent(g.change_failure_rate)}",
                _span(g.recovery) + (f" · {len(g.unrecovered)} open" if g.unrecovered else ""),
                _span(g.lead_time),
                _span(g.gate_wait),
                _percent(g.rework_rate),
            ]
        )
        if g.pipeline is None:
            rows.append(["  band", *_bands(g)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _bands(g: Group) -> list[str]:
    b = g.bands
    return [
        "",
        b.get("deployment_frequency") or "–",
        b.get("change_failure_rate") or "–",
        b.get("recovery") or "–",
        b.get("lead_time") or "–",
        "",
        "",
    ]


def weeks_table(found: Measures) -> str:
    """Each environment week by week."""
    rows = [["week", "environment", "deploys", "failed", "recovery", "lead time", "gate wait"]]
    for period, groups in found.weeks:
        for g in groups:
            rows.append(
                [
                    _week(period),
                    g.environment,
                    str(len(g.deployments)),
                    f"{len(g.failed)} · {_percent(g.change_failure_rate)}",
                    "–" if g.recovery.median is None else human(g.recovery.median),
                    "–" if g.lead_time.median is None else human(g.lead_time.median),
                    "–" if g.gate_wait.median is None else human(g.gate_wait.median),
                ]
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
