"""Gates and cancel requests: the engine waits on decisions other processes record in the store."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from console import events as ev
from console.engine.digest import Current, changes, current_parts, digest_of, digest_parts
from console.model.pipeline import Stage
from console.model.templates import render
from console.policy import Policy, for_store, gate_policy, may_launch, tally
from console.state import Gate, apply
from console.store import Store

if TYPE_CHECKING:
    from console.engine.runner import Engine

AUTOMATIC = "opsconsole"
"""Who an automatic gate's decision names: no person, the console on its checks' word."""
EXPIRING_BEFORE = 15 * 60.0
"""How long before a gate expires its approvers are told (a quarter of a shorter timeout)."""
RECHECK_SECONDS = 5.0
"""How often a waiting gate re-reads what its approvals are bound to, so approvers see changes."""


class GateWatcher:
    """Reads decisions and cancel requests for one run from the store as they arrive."""

    def __init__(self, engine: Engine, reader: Store) -> None:
        self._engine = engine
        self._reader = reader
        self._seen = 0
        self._hosts: list[str] = []
        self.verdict = ""

    async def _poll(self) -> list[ev.Event]:
        """New decisions and cancel requests written by any process since the last look."""
        run_id = self._engine.plan.run_id
        kinds = (ev.GateDecided.kind, ev.CancelRequested.kind, ev.ChecksRequested.kind)
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
            why = self._may_not_cancel(event.actor)
            if why:  # written around `opsconsole cancel`, which refuses it: not honoured
                self._engine.emit(
                    ev.CancelRefused(
                        run_id=event.run_id, at=time.time(), actor=event.actor, reason=why
                    )
                )
                return
            apply(state, event)
            cancelled.set()
        elif isinstance(event, ev.GateDecided):
            gate = state.gates.get((event.stage, event.step))
            if gate is None or event not in gate.decisions:  # a resumed run has read it already
                apply(state, event)
        elif isinstance(event, ev.ChecksRequested):
            apply(state, event)

    def _may_not_cancel(self, actor: str) -> str | None:
        """Why `actor` may not stop this run: cancelling is a launch right."""
        plan = self._engine.plan
        why = may_launch(plan.config.inventory, plan.environments(), actor)
        return f"{actor} may not cancel run {plan.run_id}: {why}" if why else None

    async def wait(
        self, stage: Stage, cancelled: asyncio.Event, hosts: list[str] | None = None
    ) -> ev.GateOutcome:
        """Open the stage's gate (running its checks on `hosts`) and wait until it is
        approved, rejected, expired or cancelled."""
        self._hosts = list(hosts or [])
        engine, step = self._engine, stage.steps[0]
        policy = for_store(
            gate_policy(engine.plan.config.inventory, engine.plan.environments(), step),
            self._reader.others_may_write,
        )
        expires = time.time() + policy.gate_timeout if policy.gate_timeout else None
        message = render(step.gate or "", engine.plan.params, None)
        parts = await asyncio.to_thread(digest_parts, engine.plan.config, engine.plan)
        earlier = engine.state.gates.get((stage.name, step.name))
        if earlier is not None and earlier.outcome == "approved":
            return "approved"  # approved before the runner stopped: a resumed run goes on
        if (
            earlier is not None
            and earlier.outcome is None
            and earlier.plan_digest == digest_of(parts)
        ):
            expires = earlier.expires_at  # still waiting, for the same plan: decisions stand
        else:
            self._open(stage, message, policy, expires, parts)
        outcome = await self._outcome(stage, message, policy, expires, parts, cancelled)
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

    def _open(
        self,
        stage: Stage,
        message: str,
        policy: Policy,
        expires: float | None,
        parts: dict[str, Any],
    ) -> None:
        engine = self._engine
        engine.notices.tell("gate_opened", (stage.steps[0].name, message, policy.approvals))
        engine.emit(
            ev.GateOpened(
                run_id=engine.plan.run_id,
                at=time.time(),
                stage=stage.name,
                step=stage.steps[0].name,
                message=message,
                approvals_required=policy.approvals,
                expires_at=expires,
                plan_digest=digest_of(parts),
                digest_parts=parts,
                policy=policy.as_dict(),
                checks=len(stage.steps[0].checks or []) + len(stage.steps[0].local_checks or []),
            )
        )

    async def _outcome(
        self,
        stage: Stage,
        message: str,
        policy: Policy,
        expires: float | None,
        parts: dict[str, Any],
        cancelled: asyncio.Event,
    ) -> ev.GateOutcome:
        engine, step = self._engine, stage.steps[0].name
        operators = engine.plan.config.inventory.operators
        checked, decisions = time.monotonic(), 0
        warned = expires is None
        while True:
            gate = engine.state.gates[(stage.name, step)]
            if stage.steps[0].has_checks and (gate.checks_passed is None or gate.checks_asked):
                await self._check(stage, gate.checks_asked)
                continue
            if not warned and expires is not None and expires - time.time() <= _warning(policy):
                warned = True  # once: the approvers hear that time is running out
                engine.notices.tell("gate_expiring", (step, message, policy.approvals))
            gate = engine.state.gates[(stage.name, step)]
            if cancelled.is_set():
                return "cancelled"
            if len(gate.decisions) != decisions or time.monotonic() - checked > RECHECK_SECONDS:
                # A new decision is judged against the files as they are now: roles from the
                # inventory of this moment, and the plan it binds to must still be the plan.
                checked, decisions = time.monotonic(), len(gate.decisions)
                now = await asyncio.to_thread(current_parts, engine.plan)
                fresh = now.parts
                if now.config is not None:
                    operators = now.config.inventory.operators
                if digest_of(fresh) != digest_of(parts):
                    self._void(stage, parts, fresh)
                    why = await self._adopt(now)
                    if why:
                        self.verdict = (
                            f"the plan changed under the gate and cannot be taken up: {why}"
                        )
                        return "voided"
                    parts, decisions = fresh, 0
                    self._open(stage, message, policy, expires, parts)
                    continue
            approvers, rejection = tally(policy, gate, engine.plan.operator, operators)
            if rejection is not None:
                self.verdict = f"rejected by {rejection.actor}: {rejection.reason}"
                return "rejected"
            passed = gate.checks_passed is not False  # approvals wait while a check fails
            if passed and len(approvers) >= policy.approvals:
                if not policy.approvals:
                    self._decide_automatically(stage, gate)
                    self.verdict = "approved by its checks, which all passed"
                else:
                    self.verdict = "approved by " + ", ".join(approvers)
                return "approved"
            if expires is not None and time.time() >= expires:
                self.verdict = f"expired after waiting {policy.gate_timeout:.0f} s for approvals"
                return "expired"
            await asyncio.sleep(0.1)

    async def _check(self, stage: Stage, asked_by: str) -> None:
        """Run the gate's checks on the run's hosts and the bastion, and record the round."""
        from console.engine.checks import run_checks

        engine, step = self._engine, stage.steps[0]
        results = await run_checks(engine, step, self._hosts)
        engine.emit(
            ev.GateChecked(
                run_id=engine.plan.run_id,
                at=time.time(),
                stage=stage.name,
                step=step.name,
                results=results,
                passed=all(r["ok"] for r in results),
                asked_by=asked_by,
            )
        )

    def _decide_automatically(self, stage: Stage, gate: Gate) -> None:
        """Record the decision a gate needing no approvals took on its checks' results."""
        engine = self._engine
        results = gate.checks
        where = {r["where"] for r in results}
        engine.emit(
            ev.GateDecided(
                run_id=engine.plan.run_id,
                at=time.time(),
                stage=stage.name,
                step=gate.step,
                decision="approve",
                actor=AUTOMATIC,
                reason=f"its {len(results)} check(s) passed on {', '.join(sorted(where))}",
                plan_digest=gate.plan_digest,
                automatic=True,
                evidence=results,
            )
        )

    async def _adopt(self, now: Current) -> str | None:
        """Take up the plan as it is now (its new script bytes kept in the store first), or
        say why it cannot be."""
        if now.config is None or now.files is None:
            return str(now.parts.get("error", "the configuration no longer loads"))
        await asyncio.to_thread(self._reader.keep_files, now.files.contents)
        return self._engine.adopt(now.config, now.files)

    def _void(self, stage: Stage, old: dict[str, Any], new: dict[str, Any]) -> None:
        engine = self._engine
        engine.emit(
            ev.GateVoided(
                run_id=engine.plan.run_id,
                at=time.time(),
                stage=stage.name,
                step=stage.steps[0].name,
                reason=changes(old, new) + "; approvals given before are void",
                old_digest=digest_of(old),
                new_digest=digest_of(new),
            )
        )


def _warning(policy: Policy) -> float:
    """Seconds before a gate's expiry that its approvers are told it is about to expire."""
    return min(EXPIRING_BEFORE, (policy.gate_timeout or 0) / 4)
