"""Gates and cancel requests: the engine waits on decisions other processes record in the store."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from console import events as ev
from console.model.pipeline import Stage
from console.state import apply
from console.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from console.engine.runner import Engine


class GateWatcher:
    """Reads decisions and cancel requests for one run from the store as they arrive."""

    def __init__(self, engine: Engine, reader: SQLiteStore) -> None:
        self._engine = engine
        self._reader = reader
        self._seen = 0

    async def _poll(self) -> list[ev.Event]:
        """New decisions and cancel requests written by any process since the last look."""
        run_id = self._engine.plan.run_id
        kinds = (ev.GateDecided.kind, ev.CancelRequested.kind)
        found = await asyncio.to_thread(self._reader.read, run_id, self._seen, kinds)
        if found:
            self._seen = found[-1].id
        return [f.event for f in found]

    async def watch_cancel(self, cancelled: asyncio.Event, interval: float) -> None:
        """Set `cancelled` when another process asks this run to stop."""
        while not cancelled.is_set():
            for event in await self._poll():
                self._absorb(event, cancelled)
            await asyncio.sleep(interval)

    def _absorb(self, event: ev.Event, cancelled: asyncio.Event) -> None:
        state = self._engine.state
        if isinstance(event, ev.CancelRequested):
            apply(state, event)
            cancelled.set()
        elif isinstance(event, ev.GateDecided):
            apply(state, event)

    async def wait(self, stage: Stage, cancelled: asyncio.Event) -> str:
        """Open the stage's gate and wait until it is approved, rejected, expired or cancelled."""
        engine, step = self._engine, stage.steps[0]
        required, timeout = self._policy()
        expires = time.time() + timeout if timeout else None
        message = step.gate or ""
        from console.model.templates import render

        message = render(message, engine.plan.params, None)
        engine.emit(
            ev.GateOpened(
                run_id=engine.plan.run_id,
                at=time.time(),
                stage=stage.name,
                step=step.name,
                message=message,
                approvals_required=required,
                expires_at=expires,
            )
        )
        outcome = await self._outcome(stage.name, step.name, expires, cancelled)
        engine.emit(
            ev.GateClosed(
                run_id=engine.plan.run_id,
                at=time.time(),
                stage=stage.name,
                step=step.name,
                outcome=outcome,
            )
        )
        return outcome

    def _policy(self) -> tuple[int, float | None]:
        inventory = self._engine.plan.config.inventory
        policies = [
            inventory.environments[e]
            for e in self._engine.plan.environments()
            if e in inventory.environments
        ]
        required = max((p.approvals for p in policies), default=1)
        timeouts = [p.gate_timeout for p in policies if p.gate_timeout]
        return required, min(timeouts) if timeouts else None

    async def _outcome(
        self, stage: str, step: str, expires: float | None, cancelled: asyncio.Event
    ) -> str:
        gate = self._engine.state.gates[(stage, step)]
        while True:
            if cancelled.is_set():
                return "cancelled"
            if any(d.decision == "reject" for d in gate.decisions):
                return "rejected"
            if len(gate.approvers) >= gate.approvals_required:
                return "approved"
            if expires is not None and time.time() >= expires:
                return "expired"
            await asyncio.sleep(0.1)
