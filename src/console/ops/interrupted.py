"""Telling people a run was cut off: its runner is gone, so whoever records the interruption
starts a process of its own that sends the `run_interrupted` notifications (the recorder, a
console or a command, does not wait on them), each try an event of the run."""

from __future__ import annotations

import asyncio

from console.paths import StoreAddress
from console.store import open_store


def tell_interrupted(where: StoreAddress, run_id: str) -> int:
    """Send the run's `run_interrupted` notifications (by its targets as its inventory says
    now), recording each try; how many targets hear of it."""
    from console.engine.notices import About, Notifier
    from console.engine.plan import plan_as_launched
    from console.ops.runs import kept_scripts, stored_state

    with open_store(where) as store:
        state = stored_state(store, run_id)  # recorded, not only seen
        launched = state.launched
        if launched is None or state.interrupted is None:
            return 0
        plan = plan_as_launched(
            launched, store.blob(launched.pipeline_digest), kept_scripts(store, launched)
        )
    about = About(
        plan.config,
        run_id,
        launched.pipeline,
        list(launched.environments),
        launched.operator,
        launched.release,
    )

    async def tell() -> int:
        with open_store(where) as store:
            notifier = Notifier(lambda: about, lambda event: store.append([event]))
            count = len(notifier.subscribed("run_interrupted"))
            notifier.tell("run_interrupted", status="interrupted")
            await notifier.drain()
        return count

    return asyncio.run(tell())
