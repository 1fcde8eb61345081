"""Telling people a run was cut off: its runner is gone, so whoever records the interruption
starts a process of its own that sends the `run_interrupted` notifications (the recorder, a
console or a command, does not wait on them), each try an event of the run."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading

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


def spawn_teller(where: StoreAddress, run_id: str) -> None:
    """Start the process that tells of a run's interruption, detached from this one; where no
    process may be started (the interpreter is not this account's to run), a thread here."""
    try:
        subprocess.Popen(
            [sys.executable, "-m", "console", "_tell_interrupted", run_id, "--store", str(where)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        threading.Thread(target=_tell_here, args=(where, run_id), daemon=True).start()


def _tell_here(where: StoreAddress, run_id: str) -> None:
    """Tell of an interruption in this process, as far as it gets before it ends; the tries it
    makes are on the run, and one it cannot make leaves nothing half-done."""
    with contextlib.suppress(Exception):  # the recording it follows has been done already
        tell_interrupted(where, run_id)
