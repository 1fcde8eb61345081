"""Launching a run, the one way the command line, the console and the demo start one: plan
it, bind the files it reads, record it, then hand it to a runner (detached) or run it here."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from console import events as ev
from console.errors import LaunchRefused
from console.ops import governance
from console.ops.config import note_config
from console.ops.promotion import promotions
from console.ops.runner import Display, Spawner, run_here, spawn_runner
from console.paths import StoreAddress
from console.store import Store, open_store

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.model.base import Scalar
    from console.model.config import Config


def plan(
    config: Config,
    pipeline: str,
    params: Mapping[str, Scalar],
    operator: str,
    limit: str | None = None,
    environments: list[str] | None = None,
) -> RunPlan:
    """A launch checked and resolved (params, targets, environments, who may launch), or
    refused in words."""
    from console.engine.plan import plan_run

    return plan_run(config, pipeline, params, operator, limit, environments=environments)


def environments(config: Config, pipeline: str) -> list[str]:
    """The environments a pipeline's targets are in: what a launch chooses among."""
    from console.engine.plan import target_environments
    from console.model.resolve import select

    inventory, chosen = config.inventory, config.pipelines[pipeline].pipeline
    return target_environments(inventory, chosen, select(inventory, chosen.targets))


def record(store: Store, planned: RunPlan) -> ev.RunLaunched:
    """Record a planned run with the files it reads bound by content (and the configuration it
    came from, when that is new to the trail); refused in words when a file cannot be bound."""
    from console.engine.plan import bound, launch_event

    refused = governance.refusal(store, planned.config.inventory, planned.environments())
    if refused:
        raise LaunchRefused(refused)
    now = time.time()
    promoted = promotions(store, planned, now)  # before any file is bound or host touched
    planned = bound(planned)
    note_config(store, planned.config, planned.operator)
    launched = dataclasses.replace(launch_event(planned, now), promotion=promoted)
    assert planned.files is not None
    store.create_run(launched, planned.pipeline_file.source.text, planned.files.contents)
    return launched


def launch(
    where: StoreAddress, planned: RunPlan, accept_new: bool = False, spawn: Spawner = spawn_runner
) -> str:
    """Record a run and start its runner in a process of its own; its id once the runner has
    taken it on."""
    with open_store(where) as store:
        record(store, planned)
    spawn(planned.run_id, where, accept_new)
    return planned.run_id


async def launch_here(
    where: StoreAddress, planned: RunPlan, accept_new: bool = False, display: Display | None = None
) -> str:
    """Record a run and execute it in this process; its final status."""
    with open_store(where) as store:
        launched = record(store, planned)
    return await run_here(planned, where, accept_new, [launched], display)
