"""The demo's simulated change board: named approvers who each approve a gate a moment after
it opens (one after another, so a newcomer sees the approvals arrive), through the same
decisions as anyone else."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.demo.estate import DEMO_APPROVERS
from console.errors import ConsoleError
from console.events import Decision
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


@dataclass(frozen=True)
class Board:
    """How the simulated board decides: what, why, how soon, and whether it says so."""

    decision: Decision = "approve"
    reason: str = REASON
    first: float = FIRST
    apart: float = APART
    say: bool = True
    poll: float = 0.25


async def approve_gates(
    where: StoreAddress, inventory: Inventory, run_id: str | None = None, say: bool = True
) -> None:
    """Approve every open gate (of one run, or of every run in the store) as it comes due,
    until that run ends (or for as long as the demo lasts)."""
    await decide_gates(where, inventory, run_id, Board(say=say))


async def decide_gates(
    where: StoreAddress, inventory: Inventory, run_id: str | None, board: Board
) -> None:
    """Decide every open gate (of one run, or of every run in the store) as the board says,
    until that run ends (or for as long as the demo lasts)."""
    done: set[tuple[str, str, str, str]] = set()
    with open_store(where) as store:
        while True:
            await asyncio.sleep(board.poll)
            states = await asyncio.to_thread(_open_runs, store, run_id)
            for state in states:
                for gate in state.open_gates():
                    await _decide_due(store, inventory, state, gate, done, board)
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


async def _decide_due(
    store: Store,
    inventory: Inventory,
    state: RunState,
    gate: Gate,
    done: set[tuple[str, str, str, str]],
    board: Board,
) -> None:
    """Record each board member's decision on a gate once its moment has come (a rejection
    needs one member only)."""
    if gate.opened_at is None or not gate.approvals_required:
        return  # a gate that needs no approvals is its checks' to decide
    if board.decision == "approve" and gate.has_checks and not gate.checks_passed:
        return  # approval waits for the gate's checks, for the board as for anyone
    deciding = gate.approvals_required if board.decision == "approve" else 1
    for n, approver in enumerate(DEMO_APPROVERS[:deciding]):
        key = (state.id, gate.stage, gate.step, approver)
        if key in done or time.time() < gate.opened_at + board.first + n * board.apart:
            continue
        done.add(key)
        request = DecisionRequest(
            state.id, board.decision, approver, gate.step, board.reason, TICKET
        )
        verb = "approve" if board.decision == "approve" else "reject"
        try:
            await asyncio.to_thread(record_decision, store, inventory, request)
        except ConsoleError as exc:  # the demo's board is refused like anyone else
            if board.say:
                print(f"demo: {approver} could not {verb}: {exc}", flush=True)
            continue
        if board.say:
            print(
                f"demo: {approver} {verb}d gate '{gate.step}' (simulated change board)",
                flush=True,
            )
