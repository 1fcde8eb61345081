"""Cancelling a run: a request its runner honours within a fraction of a second, or, when no
runner is there to see it, the run's end."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from console import events as ev
from console.errors import WrongState
from console.ops.rights import authorize
from console.ops.runs import read_state
from console.state import RunState
from console.store import Store

if TYPE_CHECKING:
    from console.model.inventory import Inventory


def request_cancel(store: Store, ref: str, actor: str, inventory: Inventory) -> RunState:
    """Ask a run to stop, if `actor` may launch it; the runner sees the request within a
    fraction of a second."""
    state = read_state(store, ref)
    authorize(store, inventory, actor, "cancel", state)
    if state.is_final:
        raise WrongState(f"run {state.id} has already ended ({state.status}); nothing to cancel")
    now = time.time()
    events: list[ev.Event] = [ev.CancelRequested(run_id=state.id, at=now, actor=actor)]
    if state.status in ("interrupted", "queued"):  # no runner to see it: end the run here
        # (a runner that starts later finds the run ended and leaves it)
        when = "after its runner stopped" if state.status == "interrupted" else "before it started"
        events.append(
            ev.RunFinished(
                run_id=state.id, at=now, status="cancelled", message=f"cancelled by {actor} {when}"
            )
        )
    store.append(events)
    return state
