"""Launching a run, the one way the command line, the console and the demo start one: plan
it, bind the files it reads, record it, then hand it to a runner (detached) or run it here."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from console import events as ev
from console.errors import LaunchRefused
from console.model.templates import render
from console.ops import governance
from console.ops.chain import follow_on
from console.ops.config import note_config
from console.ops.promotion import promotions
from console.ops.runner import Display, Spawner, run_here, spawn_runner
from console.paths import StoreAddress
from console.store import Store, open_store

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.model.base import Scalar
    from console.model.config import Config
    from console.model.pipeline import Follower


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


def record(store: Store, planned: RunPlan, follows: str | None = None) -> ev.RunLaunched:
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
    launched = dataclasses.replace(launch_event(planned, now), promotion=promoted, follows=follows)
    assert planned.files is not None
    store.create_run(launched, planned.pipeline_file.source.text, planned.files.contents)
    return launched


def launch(
    where: StoreAddress,
    planned: RunPlan,
    accept_new: bool = False,
    spawn: Spawner = spawn_runner,
    follows: str | None = None,
) -> str:
    """Record a run (launched by the success of `follows`, when given) and start its runner
    in a process of its own; its id once the runner has taken it on."""
    with open_store(where) as store:
        record(store, planned, follows)
    spawn(planned.run_id, where, accept_new)
    return planned.run_id


async def launch_here(
    where: StoreAddress, planned: RunPlan, accept_new: bool = False, display: Display | None = None
) -> str:
    """Record a run and execute it in this process, then what follows it; its final status."""
    with open_store(where) as store:
        launched = record(store, planned)
    after = functools.partial(follow, where)
    return await run_here(planned, where, accept_new, [launched], display, after)


def follow(where: StoreAddress, plan: RunPlan, status: str) -> None:
    """What follows a run that ended: its followers launched (detached) if it succeeded."""
    follow_on(where, plan, status, functools.partial(_launch_follower, where))


def _launch_follower(where: StoreAddress, plan: RunPlan, follower: Follower) -> str:
    """Plan and launch one follower as the run's operator, its params from the run's."""
    params = {k: render(v, plan.params, None) for k, v in follower.params.items()}
    limit = render(follower.limit, plan.params, None) if follower.limit else None
    spanned = environments(plan.config, follower.pipeline)
    chosen = follower.environments or [e for e in plan.environments() if e in spanned] or None
    planned = plan_of(plan.config, follower.pipeline, params, plan.operator, limit, chosen)
    return launch(where, planned, follows=plan.run_id)


def runner_main(store: StoreAddress, ref: str, accept_new: bool) -> str:
    """Execute, in this (detached) process, a run that a launch, a resume or the console
    created; its final status. A run that cannot be planned again ends failed, in words."""
    from console.engine.plan import plan_as_launched
    from console.errors import ConsoleError, explain
    from console.ops.runner import as_batch, fail
    from console.ops.runs import kept_scripts

    as_batch()
    with open_store(store) as reader:
        run_id = reader.resolve_run(ref)
        existing = [e.event for e in reader.read(run_id, exclude=(ev.Output.kind,))]
        if any(isinstance(e, ev.RunFinished) for e in existing):
            return "ended"  # it ended before this runner got to it (cancelled while queued)
        launched = existing[0]
        assert isinstance(launched, ev.RunLaunched)
        try:
            kept = kept_scripts(reader, launched)
            plan = plan_as_launched(launched, reader.blob(launched.pipeline_digest), kept)
        except ConsoleError as exc:  # the run must not wait for a runner that is not coming
            fail(store, run_id, explain(exc))
        differs = governance.refusal(reader, plan.config.inventory, plan.environments())
        if differs:  # the inventory changed since the launch, away from the published policy
            fail(store, run_id, differs)
    after = functools.partial(follow, store)
    return asyncio.run(run_here(plan, store, accept_new, existing, None, after))


plan_of = plan
"""`plan` under a name that a function with a `plan` argument can call."""
