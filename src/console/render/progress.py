"""How a headless `run` shows progress: a rich bar per stage on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

from console import events as ev
from console.durations import format_duration
from console.render.runtext import STATUS_MARK, STEP_FAILED
from console.sanitize import printable
from console.state import GATE_HOST, RunState

if TYPE_CHECKING:
    from rich.console import Console


def _gate_hint(state: RunState, event: ev.GateOpened) -> str:
    where = f"⏸ waiting at gate '{printable(event.step)}': {printable(event.message)} — "
    if not event.approvals_required:
        return where + "no approvals are needed here: its checks decide it"
    checks = f" once its {event.checks} check(s) pass" if event.checks else ""
    return (
        where + f"needs {event.approvals_required} approval(s){checks}; "
        f"run `opsconsole approve {state.id}` (or `reject`) from another terminal"
    )


def _checked(event: ev.GateChecked) -> str:
    """A round of a gate's checks, in a line: passed, or what failed where."""
    if event.passed:
        return f"✓ gate '{printable(event.step)}': {len(event.results)} check(s) passed"
    failed = "; ".join(
        f"{printable(str(r.get('check')))} on {r.get('where')}: {printable(str(r.get('detail')))}"
        for r in event.results
        if not r.get("ok")
    )
    return f"✗ gate '{printable(event.step)}': checks failed ({failed}); `opsconsole recheck {event.run_id}` runs them again"


class PlainProgress:
    """One line per finished step, gate and stage, for logs and pipes."""

    def __init__(self, state: RunState, out: TextIO | None = None) -> None:
        self.state, self.out = state, out or sys.stdout

    def __call__(self, event: ev.Event) -> None:
        line = self._line(event)
        if line:
            print(line, file=self.out, flush=True)

    def _line(self, event: ev.Event) -> str | None:
        if isinstance(event, ev.StepFinished):
            mark = STATUS_MARK.get(event.status, "?")
            extra = (
                f" — {printable(event.message)}" if event.message and event.status != "ok" else ""
            )
            took = f" ({format_duration(event.duration)})" if event.duration is not None else ""
            return f"{mark} {printable(event.stage)} / {printable(event.step)} @ {event.host}: {event.status}{took}{extra}"
        if isinstance(event, ev.StageStarted):
            return f"── stage {printable(event.stage)}"
        if isinstance(event, ev.GateOpened):
            return _gate_hint(self.state, event)
        if isinstance(event, ev.GateChecked):
            return _checked(event)
        if isinstance(event, ev.GateClosed):
            return f"gate '{printable(event.step)}' {event.outcome}"
        if isinstance(event, ev.RollbackStarted):
            return f"↶ rolling back stage {printable(event.stage)} on {len(event.hosts)} host(s)"
        if isinstance(event, ev.RunFinished):
            text = f" — {printable(event.message)}" if event.message else ""
            return f"run {event.run_id} {event.status}{text}"
        return None


class RichProgress:
    """A bar per stage with hosts done and failed, and failures printed above the bars."""

    def __init__(self, state: RunState, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.state = state
        self.console = console or Console(highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: ev.Event) -> None:
        from rich.text import Text

        if isinstance(event, ev.StageStarted):
            total = sum(1 for c in self.state.cells.values() if c.stage == event.stage)
            label = Text(printable(event.stage)[:24].ljust(24)).plain
            self.tasks[event.stage] = self.progress.add_task(label, total=total or 1, detail="")
        elif isinstance(event, ev.StepFinished | ev.GateClosed):
            self._update(event.stage)
            if isinstance(event, ev.StepFinished) and event.status not in ("ok", "skipped"):
                self.console.print(Text(PlainProgress(self.state)._line(event) or ""))
        elif isinstance(event, ev.GateOpened):
            self.console.print(Text(_gate_hint(self.state, event)))
        elif isinstance(event, ev.GateChecked):
            self.console.print(Text(_checked(event)))
        elif isinstance(event, ev.RunFinished | ev.RollbackStarted):
            self.console.print(Text(PlainProgress(self.state)._line(event) or ""))

    def _update(self, stage: str) -> None:
        task = self.tasks.get(stage)
        if task is None:
            return
        cells = [c for c in self.state.cells.values() if c.stage == stage]
        done = [c for c in cells if c.status not in ("pending", "running", "waiting")]
        bad = [c for c in cells if c.status in STEP_FAILED]
        hosts = {c.host for c in cells if c.host != GATE_HOST}
        failed_hosts = {c.host for c in bad}
        detail = f"{len(hosts)} hosts, {len(failed_hosts)} failed" if hosts else ""
        self.progress.update(task, completed=len(done), detail=detail)
