"""Reading runs: a run's state folded from its events, now or at a moment, as this machine
observes it; and the one write a reader may mean, recording that a run's runner is gone."""

from __future__ import annotations

import copy
import os
import re
import socket
import time
from collections.abc import Callable

from console import events as ev
from console.durations import parse_duration, utc_moment
from console.errors import UsageError
from console.paths import StoreAddress
from console.state import Cell, RunState, fold
from console.store import Store

NON_OUTPUT = (ev.Output.kind,)
"""What no state needs: a run's output is read in windows by the views that show it."""


def read_state(store: Store, ref: str) -> RunState:
    """A run's state as its events and this machine say: a run whose runner here is gone is
    shown interrupted (its running steps unknown) without anything being written."""
    state = stored_state(store, ref)
    state = observed(state, _alive_by_store(store, state))
    state.as_of = time.time()
    return state


def stored_state(store: Store, ref: str) -> RunState:
    """A run's state as its stored events alone say."""
    run_id = store.resolve_run(ref)
    return fold(e.event for e in store.read(run_id, exclude=NON_OUTPUT))


def _alive_by_store(store: Store, state: RunState) -> bool | None:
    """Whether a live run's runner lives, as the store knows (a team store: from any
    machine); None when the store cannot tell or the run has no runner to ask about."""
    if state.status not in ("running", "waiting") or state.runner_pid is None:
        return None
    return store.runner_alive(state.id)


def observed(state: RunState, alive: bool | None = None) -> RunState:
    """The state with what is seen folded in: a runner found gone interrupts the run (a
    copy; the stored events are not touched). `alive` is the store's word, when it has one."""
    lost = lost_runner(state, alive)
    if lost is None:
        return state
    return fold([lost], copy.deepcopy(state))


def record_lost_runner(
    store: Store, ref: str, recorded: Callable[[StoreAddress, str], None] | None = None
) -> RunState:
    """Record that a run's runner is gone, once, naming the steps it was running (their
    outcome is unknown), then call `recorded` (who tells of it); the run's state after it."""
    state = stored_state(store, ref)
    lost = lost_runner(state, _alive_by_store(store, state))
    if lost is not None:
        store.append([lost])
        fold([lost], state)
        if recorded is not None:
            recorded(store.location, state.id)
    return state


def lost_runner(state: RunState, alive: bool | None = None) -> ev.RunInterrupted | None:
    """The interruption to record when the run's runner is gone, else None."""
    if not runner_gone(state, alive) or state.interrupted is not None:
        return None
    return ev.RunInterrupted(
        run_id=state.id,
        at=time.time(),
        pid=state.runner_pid or 0,
        node=state.runner_node,
        unknown=[step_label(c) for c in state.cells.values() if c.status == "running"],
    )


def runner_gone(state: RunState, alive: bool | None = None) -> bool:
    """Whether a run that should have a runner has lost it: as the store says (`alive`, from
    a team store, on any machine), else by looking for its process on this machine."""
    if state.status not in ("running", "waiting") or state.runner_pid is None:
        return False
    if alive is not None:
        return not alive
    return state.runner_node == socket.gethostname() and not _alive(state.runner_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def step_label(cell: Cell) -> str:
    """`host stage › step`: one step on one host, as people read it."""
    return f"{cell.host} {cell.stage} › {cell.step}"


def state_at(store: Store, ref: str, moment: str) -> RunState:
    """A run's state as it was at a moment: an ISO 8601 time (UTC unless it says otherwise)
    or `+DURATION` from the run's launch, such as `+90s` or `+2m30s`."""
    run_id = store.resolve_run(ref)
    events = [e.event for e in store.read(run_id, exclude=NON_OUTPUT)]
    if not events:
        raise UsageError(f"run {run_id} has no events")
    cutoff = _cutoff(moment, events[0].at)
    state = fold(e for e in events if e.at < cutoff)
    state.as_of = min(cutoff, time.time())
    return state


def _cutoff(moment: str, launched_at: float) -> float:
    """The epoch seconds before which an event happened by the moment a `--at` value names.

    A fraction covers its last digit: `09:00:05.123` takes in every event of that millisecond, so
    a time that `show` printed shows what had happened by then, that moment included.
    """
    if moment.startswith("+"):
        try:
            return launched_at + parse_duration(moment[1:]) + 1e-6
        except ValueError as exc:
            raise UsageError(f"--at '{moment}': {exc}") from None
    try:
        when = utc_moment(moment)
    except ValueError:
        raise UsageError(
            f"--at '{moment}' is neither an ISO 8601 time such as 2026-11-28T09:00:05Z "
            "nor a time from the launch such as +90s"
        ) from None
    return when + _last_digit(moment)


def _last_digit(moment: str) -> float:
    """How long the last fractional digit of an ISO 8601 time lasts: 0.001 s for milliseconds;
    a time in whole seconds or minutes is the moment itself."""
    found = re.search(r"T\d{2}:?\d{2}:?\d{2}[.,](\d+)", moment)
    return 10.0 ** -len(found.group(1)) if found else 1e-6


def kept_scripts(store: Store, launched: ev.RunLaunched) -> set[str]:
    """The digests of a run's scripts whose bytes the store keeps (all, for runs it launched)."""
    return {d for d in launched.scripts.values() if store.file(d) is not None}
