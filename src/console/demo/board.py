"""The demo's simulated change board: named approvers who each approve a gate a moment after
it opens (one after another, so a newcomer sees the approvals arrive), through the same
decisions as anyone else."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from console.demo.estate import DEMO_APPROVERS
from console.errors import ConsoleError
from console.ops.decide import DecisionRequest, record_decision
from console.ops.runs import read_state
from console.paths import StoreAddress
from console.store import Store, open_store

if TYPE_CHECKING:
    from console.model.inventory import Inventory
    from console.state import Gate, RunState

REASON = "approved by the demo's simulated change board"
TICKET = "CHG0000001"
FIRST, APART = 2.0, 2.5
"""Seconds after a gate opens that the first approver decides, and between approvers."""


async def approve_gates(
    where: StoreAddress, inventory: Inventory, run_id: str | None = None, say: bool = True
) -> None:
    """Approve every open gate (of one run, or of every run in the store) as it comes due,
    until that run ends (or for as long as the demo lasts)."""
    done: set[tuple[str, str, str, str]] = set()
    with open_store(where) as store:
        while True:
            await asyncio.sleep(0.25)
            states = await asyncio.to_thread(_open_runs, store, run_id)
            for state in states:
                for gate in state.open_gates():
                    await _approve_due(store, inventory, state, gate, done, say)
            if run_id is not None and states and states[0].is_final:
                return


def _open_runs(store: Store, run_id: str | None) -> list[RunState]:
    """The runs to watch: the one named (once it is recorded), or every run not yet ended."""
    if run_id is not None:
        try:
            return [read_state(store, run_id)]
        except ConsoleError:
            return []  # not recorded yet: its files are still being bound
    return [s for r in store.runs(limit=50) if not (s := read_state(store, r.id)).is_final]


async def _approve_due(
    store: Store,
    inventory: Inventory,
    state: RunState,
    gate: Gate,
    done: set[tuple[str, str, str, str]],
    say: bool,
) -> None:
    """Record each board member's approval of a gate once its moment has come."""
    if gate.opened_at is None:
        return
    for n, approver in enumerate(DEMO_APPROVERS[: gate.approvals_required]):
        key = (state.id, gate.stage, gate.step, approver)
        if key in done or time.time() < gate.opened_at + FIRST + n * APART:
            continue
        done.add(key)
        request = DecisionRequest(state.id, "approve", approver, gate.step, REASON, TICKET)
        try:
            await asyncio.to_thread(record_decision, store, inventory, request)
        except ConsoleError as exc:  # the demo's board is refused like anyone else
            if say:
                print(f"demo: {approver} could not approve: {exc}", flush=True)
            continue
        if say:
            print(
                f"demo: {approver} approved gate '{gate.step}' (simulated change board)", flush=True
            )
