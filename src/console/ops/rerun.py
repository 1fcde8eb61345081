"""Running an earlier run again: its targets, the pipeline version to use, and the plan."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from console import events as ev
from console.errors import UsageError
from console.ops.rights import authorize
from console.ops.runs import read_state
from console.sanitize import printable
from console.state import RunState
from console.store.base import Store

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.model.config import Config


RETRY_STATUSES = ("failed", "unreachable", "timed_out", "unknown")


@dataclass(frozen=True)
class RerunRequest:
    """Someone's wish to run an earlier run again."""

    run: str
    operator: str
    failed_only: bool = False
    version: str | None = None
    """`stored` (the pipeline as it ran) or `current` (the file now); None refuses a change."""


class PipelineChanged(UsageError):
    """The pipeline file differs from the version a run ran: the person must choose."""

    def __init__(self, message: str, diff: str) -> None:
        super().__init__(message)
        self.diff = diff


def rerun_plan(store: Store, config: Config, request: RerunRequest) -> RunPlan:
    """Plan a run that repeats an earlier one: same pipeline, params and targets (or only the
    hosts that failed), with the pipeline as it ran or as it is now when the file changed."""
    from console.engine.plan import (
        bound,
        plan_run,
        scripts_changed,
        stored_pipeline,
        target_environments,
        with_pipeline,
    )

    state = read_state(store, request.run)
    authorize(store, config.inventory, request.operator, "rerun", state)
    launched = state.launched
    if launched is None:
        raise UsageError(f"run {state.id} has no launch record to repeat")
    hosts = rerun_hosts(state, launched, request.failed_only)
    current = config.pipelines.get(launched.pipeline)
    changed = current is None or current.source.digest != launched.pipeline_digest
    stored = changed and request.version != "current"
    if changed and request.version is None:
        text = store.blob(launched.pipeline_digest)
        diff = pipeline_diff(text, current.source.text if current else "")
        raise PipelineChanged(
            f"pipeline '{launched.pipeline}' changed since run {state.id}:\n{diff}\n"
            "run it as it ran with --stored, or as it is now with --use-current",
            diff,
        )
    kept: dict[str, bytes] = {}
    if stored:
        config = with_pipeline(
            config, stored_pipeline(config, launched, store.blob(launched.pipeline_digest))
        )
        kept = kept_bytes(store, launched)
        scripts = scripts_changed(config, launched, {launched.scripts[n] for n in kept})
        if scripts:
            raise UsageError(
                f"script(s) {', '.join(scripts)} changed since run {state.id}, and the store "
                "holds no copy of what it ran: restore them, or run it as it is now with "
                "--use-current"
            )
    elif current is None:
        raise UsageError(f"pipeline '{launched.pipeline}' is no longer in the pipelines folder")
    missing = [h for h in hosts if h not in config.inventory.hosts]
    if missing:
        raise UsageError(f"host(s) {', '.join(missing)} are no longer in the inventory")
    plan = plan_run(
        config,
        launched.pipeline,
        launched.params,
        request.operator,
        ",".join(hosts),
        None,
        state.id,
        # the re-run hosts' environments, chosen when the run was launched
        target_environments(config.inventory, config.pipelines[launched.pipeline].pipeline, hosts),
    )
    dropped = [h for h in hosts if h not in plan.hosts]
    if dropped:
        raise UsageError(
            f"host(s) {', '.join(dropped)} are no longer targets of '{launched.pipeline}'; "
            "nothing was launched"
        )
    plan = replace(plan, stored_version=stored)
    return bound(plan, kept) if stored else plan


def kept_bytes(store: Store, launched: ev.RunLaunched) -> dict[str, bytes]:
    """The bytes of a run's scripts as it ran them, by name, where the store keeps them."""
    found = {name: store.file(digest) for name, digest in launched.scripts.items()}
    return {name: data for name, data in found.items() if data is not None}


def rerun_hosts(state: RunState, launched: ev.RunLaunched, failed_only: bool) -> list[str]:
    """The targets of a re-run: all of the run's, or those whose steps did not succeed."""
    hosts = list(launched.targets)
    if failed_only:
        failed = {c.host for c in state.cells.values() if c.status in RETRY_STATUSES}
        hosts = [h for h in hosts if h in failed]
        if not hosts:
            raise UsageError(f"run {state.id} has no failed or unreachable host to run again")
    return hosts


def pipeline_diff(stored: str | None, current: str) -> str:
    """A unified diff from the pipeline as it ran to the file as it is now."""
    import difflib

    if stored is None:
        return "(the pipeline as it ran is not in the store)"
    lines = difflib.unified_diff(
        stored.splitlines(), current.splitlines(), "as it ran", "as it is now", lineterm=""
    )
    return "\n".join(printable(line) for line in lines)
