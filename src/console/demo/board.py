"""The demo's simulated change board: named approvers who approve each gate a moment after
it opens, through the same decisions as anyone else."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

from console.demo.estate import DEMO_APPROVERS
from console.errors import UnknownRun
from console.ops.decide import DecisionRequest, record_decision
from console.ops.runs import read_state
from console.store import open_store

if TYPE_CHECKING:
    from console.model.inventory import Inventory

REASON = "approved by the demo's simulated change board"
TICKET = "CHG0000001"


async def approve_gates(where: Path, inventory: Inventory, run_id: str) -> None:
    """Approve each of the run's gates a moment after it opens, until the run ends."""
    decided: set[tuple[str, str]] = set()
    with open_store(where) as store:
        while True:
            await asyncio.sleep(0.5)
            try:
                state = await asyncio.to_thread(read_state, store, run_id)
            except UnknownRun:
                continue  # not recorded yet: its files are still being bound
            for gate in state.open_gates():
                key = (gate.stage, gate.step)
                if key in decided or gate.opened_at is None or time.time() - gate.opened_at < 1.5:
                    continue
                for approver in DEMO_APPROVERS[: gate.approvals_required]:
                    request = DecisionRequest(run_id, "approve", approver, None, REASON, TICKET)
                    await asyncio.to_thread(record_decision, store, inventory, request)
                decided.add(key)
                print(
                    f"demo: gate '{gate.step}' approved by the simulated change board", flush=True
                )
            if state.is_final:
                return
