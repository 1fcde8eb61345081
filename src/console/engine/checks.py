"""A gate's checks: its commands run on the run's hosts (as `check` steps run, with their
timeout and retries) and on the bastion without a shell, each result in words."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from console.engine.steps import Outcome, execute
from console.model.pipeline import Step
from console.model.templates import render

if TYPE_CHECKING:
    from console.engine.runner import Engine

LOCAL_TIMEOUT = 60.0
"""Seconds a bastion check may take when its gate sets no timeout."""


async def run_checks(engine: Engine, gate: Step, hosts: list[str]) -> list[dict[str, Any]]:
    """Every check of the gate, on every host (remote ones) or the bastion (local ones)."""
    remote = [
        _remote(engine, gate, number, command, host)
        for number, command in enumerate(gate.checks or [], start=1)
        for host in hosts
    ]
    local = [_local(engine, gate, argv) for argv in gate.local_checks or []]
    return list(await asyncio.gather(*remote, *local))


async def _remote(
    engine: Engine, gate: Step, number: int, command: str, host: str
) -> dict[str, Any]:
    """One check on one host, tried again (after the gate's delay) as its retries allow."""
    probe = Step(name=f"{gate.name} check {number}", check=command, timeout=gate.timeout)
    ctx = engine.check_context(probe, host)
    outcome = Outcome("failed")
    for attempt in range(gate.retries + 1):
        outcome = await execute(probe, ctx)
        if outcome.status in ("ok", "unreachable") or attempt == gate.retries:
            break
        await asyncio.sleep(gate.delay)
    detail = engine.masked(outcome.message) if outcome.status != "ok" else "passed"
    return {"check": command, "where": host, "ok": outcome.status == "ok", "detail": detail}


async def _local(engine: Engine, gate: Step, argv: list[str]) -> dict[str, Any]:
    """One bastion check, its words rendered one by one (no shell sees them)."""
    words = [render(w, engine.plan.params, None) for w in argv]
    said = " ".join(argv)
    detail = "passed"
    for attempt in range(gate.retries + 1):
        detail = await _exec(words, gate.timeout or LOCAL_TIMEOUT)
        if detail == "passed" or attempt == gate.retries:
            break
        await asyncio.sleep(gate.delay)
    return {"check": said, "where": "bastion", "ok": detail == "passed", "detail": detail}


async def _exec(words: list[str], timeout: float) -> str:
    """Run a command here; `passed`, or why not."""
    try:
        process = await asyncio.create_subprocess_exec(
            *words, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError as exc:
        return f"could not start {words[0]}: {exc.strerror}"
    try:
        status = await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        return f"stopped after the gate's timeout of {timeout:g}s"
    return "passed" if status == 0 else f"exit status {status}"
