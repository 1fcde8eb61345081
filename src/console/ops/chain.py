"""One pipeline after another: when a run succeeds, its runner launches what its pipeline
says follows (`then`), each a run of its own by the same operator, linked to it; a run that
does not succeed stops the chain, and its events say so."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from console import events as ev
from console.errors import ConsoleError, explain
from console.paths import StoreAddress
from console.store import open_store

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.model.pipeline import Follower


def follow_on(
    where: StoreAddress, plan: RunPlan, status: str, start: Callable[[RunPlan, Follower], str]
) -> None:
    """Launch (with `start`, which gives the new run's id) what follows a run that succeeded;
    record why nothing follows one that did not."""
    followers = plan.pipeline.then
    if not followers:
        return
    events: list[ev.Event] = []
    for follower in followers:
        if status != "succeeded":
            why = f"run {plan.run_id} ended {status}, so what follows it was not launched"
            events.append(_refused(plan, follower.pipeline, why))
            continue
        try:
            run_id = start(plan, follower)
        except ConsoleError as exc:
            events.append(_refused(plan, follower.pipeline, explain(exc)))
            continue
        events.append(
            ev.FollowerLaunched(
                run_id=plan.run_id, at=time.time(), follower=run_id, pipeline=follower.pipeline
            )
        )
    with open_store(where) as store:
        store.append(events)


def _refused(plan: RunPlan, pipeline: str, why: str) -> ev.FollowerRefused:
    return ev.FollowerRefused(run_id=plan.run_id, at=time.time(), pipeline=pipeline, reason=why)
