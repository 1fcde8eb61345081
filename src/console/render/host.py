"""A host as people read it: its place, route and trusted keys, and each step's last result on
it (the console's host view and `opsconsole host` say the same)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from console.durations import format_duration
from console.render.runtext import STATUS_MARK, iso, short_time
from console.render.show import align
from console.sanitize import printable

if TYPE_CHECKING:
    from console.ops.hosts import HostView
    from console.runbook import HostStep

HISTORY_COLUMNS = ("WHEN", "RESULT", "STEP", "RUN", "PIPELINE", "TOOK")


def host_fields(view: HostView) -> list[tuple[str, str]]:
    """The host's environment, address and route, groups, labels, vars and trusted keys, as
    (label, text) pairs made safe for a terminal."""
    route = f"{view.user}@{view.address}:{view.port}"
    if view.via:
        route += f" through {' → '.join(view.via)}"
    keys = "\n".join(view.keys) or (
        "none on record: connections are refused until its key is verified and recorded "
        "(--accept-new-host-keys)"
    )
    where = "trusted in" if view.keys else "looked up in"
    fields = [
        ("environment", view.environment or "none"),
        ("address", route),
        ("groups", ", ".join(view.groups) or "none"),
        ("labels", pairs(view.labels) or "none"),
        ("vars", pairs(view.vars) or "none"),
        ("host key", f"{keys}\n{where} {view.known_hosts}"),
    ]
    return [(label, "\n".join(printable(t) for t in text.split("\n"))) for label, text in fields]


def host_text(view: HostView) -> str:
    """The host's fields as aligned lines, continuation lines indented."""
    lines = [f"{'host':<11} {printable(view.name)}"]
    for label, text in host_fields(view):
        first, *rest = text.split("\n")
        lines.append(f"{label:<11} {first}")
        lines.extend(f"{'':<11} {line}" for line in rest)
    return "\n".join(lines)


def pairs(values: Mapping[str, object]) -> str:
    """`name=value` pairs, in the order given."""
    return " ".join(f"{k}={v}" for k, v in values.items())


def history_row(found: HostStep) -> tuple[str, ...]:
    """A step's last result: when, the result, stage › step, run, pipeline, how long it took;
    the result's text without its mark (the console draws the matrix's)."""
    cell = found.cell
    took = "-"
    if cell.started_at is not None and cell.finished_at is not None:
        took = format_duration(cell.finished_at - cell.started_at)
    result = cell.status.replace("_", " ")
    if cell.exit_code not in (None, 0):
        result += f" (exit {cell.exit_code})"
    return (
        short_time(found.at),
        result,
        printable(f"{cell.stage} › {cell.step}"),
        found.run.id,
        printable(found.run.pipeline),
        took,
    )


def history_text(history: list[HostStep], runs: int) -> str:
    """The history as aligned columns, with what it was read from."""
    source = f"the {runs} newest run{'s' if runs != 1 else ''}"
    if not history:
        return f"no step has run on this host in {source}"
    rows: list[tuple[str, ...]] = [HISTORY_COLUMNS]
    for found in history:
        row = history_row(found)
        mark = STATUS_MARK.get(found.cell.status, "?")
        rows.append((row[0], f"{mark} {row[1]}", *row[2:]))
    return f"each step's last result on this host, newest first, from {source}:\n" + align(rows)


def host_json(view: HostView, history: list[HostStep], runs: int) -> dict[str, object]:
    """The host and its history as `opsconsole host --json` prints them."""
    described = {k: str(v) if k == "known_hosts" else v for k, v in vars(view).items()}
    steps = [
        {
            "at": iso(h.at),
            "run": h.run.id,
            "pipeline": h.run.pipeline,
            "stage": h.cell.stage,
            "step": h.cell.step,
            "status": h.cell.status,
            "exit_code": h.cell.exit_code,
            "started_at": iso(h.cell.started_at),
            "finished_at": iso(h.cell.finished_at),
            "message": h.cell.message,
        }
        for h in history
    ]
    return {**described, "runs_read": runs, "history": steps}
