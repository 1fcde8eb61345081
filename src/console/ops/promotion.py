"""Promotion: a launch into an environment that requires a release to have succeeded in an
earlier one is allowed only when the store shows such a run (the rule is in `policy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console import events as ev
from console.durations import ago
from console.errors import LaunchRefused
from console.paths import StoreAddress
from console.policy import Earlier, promotes, promotion_refusal, promotion_rules
from console.store import Store, open_store

if TYPE_CHECKING:
    from console.engine.plan import RunPlan
    from console.model.inventory import Inventory, Promotion


def promotions(store: Store, planned: RunPlan, now: float) -> dict[str, dict[str, Any]]:
    """Per environment of the launch held by a promotion rule, the earlier run that meets it;
    refused in words when one has none."""
    found: dict[str, dict[str, Any]] = {}
    for env, rule, earlier in _checked(store, planned.config.inventory, planned, now):
        if earlier is None:
            refusal = promotion_refusal(env, rule, planned.pipeline.name, planned.params)
            raise LaunchRefused(refusal)
        found[env] = promotion_record(rule, earlier, planned.params)
    return found


def standing(where: StoreAddress, planned: RunPlan, now: float) -> list[tuple[bool, str]]:
    """Each promotion rule holding a planned launch, whether the store shows a run that meets
    it, in words (what the launch form shows as the person types)."""
    with open_store(where) as store:
        checked = _checked(store, planned.config.inventory, planned, now)
    said: list[tuple[bool, str]] = []
    for env, rule, earlier in checked:
        if earlier is None:
            said.append(
                (False, promotion_refusal(env, rule, planned.pipeline.name, planned.params))
            )
            continue
        what = " ".join(f"{k}={planned.params.get(k)}" for k in rule.same)
        when = ago(now - earlier.ended_at) if earlier.ended_at else "at a time not known"
        said.append(
            (
                True,
                f"{env} takes {planned.pipeline.name} {what}".rstrip()
                + f": it succeeded in {rule.environment} {when} (run {earlier.run_id})",
            )
        )
    return said


def promotion_record(rule: Promotion, earlier: Earlier, params: dict[str, Any]) -> dict[str, Any]:
    """What a launch records of the run that met its rule."""
    return {
        "environment": rule.environment,
        "run": earlier.run_id,
        "same": {k: params.get(k) for k in rule.same},
        "succeeded_at": earlier.ended_at,
    }


def _checked(
    store: Store, inventory: Inventory, planned: RunPlan, now: float
) -> list[tuple[str, Promotion, Earlier | None]]:
    """Each rule holding the launch, with the newest earlier run that meets it (or None)."""
    rules = promotion_rules(inventory, planned.environments(), set(planned.pipeline.params))
    return [
        (env, rule, meeting(store, rule, planned.pipeline.name, planned.params, now))
        for env, rule in rules
    ]


def meeting(
    store: Store, rule: Promotion, pipeline: str, params: dict[str, Any], now: float
) -> Earlier | None:
    """The newest run in the store that meets the rule for a launch of this pipeline with
    these params (None when there is none)."""
    since = now - rule.within if rule.within else None
    for summary in store.runs(since=since):
        if summary.pipeline != pipeline:
            continue
        earlier = _earlier(store, summary.id)
        if earlier is not None and promotes(rule, pipeline, params, earlier, now):
            return earlier
    return None


def _earlier(store: Store, run_id: str) -> Earlier | None:
    """A run as a promotion rule sees it: its launch and how it finished."""
    events = [s.event for s in store.read(run_id, kinds=(ev.RunLaunched.kind, ev.RunFinished.kind))]
    launched = next((e for e in events if isinstance(e, ev.RunLaunched)), None)
    finished = next((e for e in reversed(events) if isinstance(e, ev.RunFinished)), None)
    if launched is None or finished is None:
        return None
    return Earlier(
        run_id,
        launched.pipeline,
        tuple(launched.environments),
        dict(launched.params),
        finished.status,
        finished.at,
    )
