"""Run a planned pipeline: stages in order, hosts fanned out by strategy, every moment an event."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from console import events as ev
from console import secrets
from console.engine.files import FileBook, RunFiles, file_sha256, latest_files, short
from console.engine.gates import GateWatcher
from console.engine.notices import About, Notifier
from console.engine.outputs import StepOutputs
from console.engine.plan import RunPlan, transfer_source
from console.engine.rendezvous import Rendezvous
from console.engine.steps import Outcome, StepContext, execute
from console.engine.transfers import Spot, Transfers
from console.errors import TransferFailed, UsageError
from console.model import resolve
from console.model.config import Config
from console.model.pipeline import Pipeline, Stage, Step
from console.model.templates import secrets_in
from console.state import RunState, apply
from console.store import EventWriter, Store
from console.transport.ssh import OutputSink, SshPool
from console.transport.target import HostTarget, host_target

Listener = Callable[[ev.Event], None]
POLL_INTERVAL = 0.25
"""Seconds between looks at the store for decisions and cancel requests from other processes."""


class Engine:
    """Executes one run, appending its events through a batch writer."""

    def __init__(
        self,
        plan: RunPlan,
        store: Callable[[], Store],
        accept_new_host_keys: bool = False,
        listeners: list[Listener] | None = None,
    ) -> None:
        self.plan = plan
        self.state = RunState.empty()
        self._open_store = store
        self._writer: EventWriter | None = None
        self._listeners = listeners or []
        self._pool = SshPool(
            accept_new_host_keys,
            plan.config.inventory.ssh.connect_concurrency,
            self._key_accepted,
            self._keep_pace,
        )
        self._cancelled = asyncio.Event()
        self._targets: dict[str, HostTarget] = {}
        self._finished_before: dict[tuple[str, str, str], str] = {}
        """Cells a runner before this one finished: a resumed run does not run them again."""
        self._secrets: dict[str, str] = {}
        self._book = FileBook(plan.files)
        self._outputs = StepOutputs(plan.run_id, self.emit, plan.config.inventory.redact)
        self.notices = Notifier(self._about, self.emit)
        self._dropped: set[str] = set()
        """Hosts that failed a stage: the run neither runs on them nor reads from them."""
        masked = self._outputs.masked
        self._transfers = Transfers(plan.run_id, self._pool, self.emit, masked, self._source_of)

    def _about(self) -> About:
        """The run, for its notifications (the plan as it is now: a gate may adopt another)."""
        launched = self.state.launched
        plan = self.plan
        release = launched.release if launched else None
        return About(
            plan.config,
            plan.run_id,
            plan.pipeline.name,
            plan.environments(),
            plan.operator,
            release,
        )

    def _source_of(self, step: Step, host: str) -> tuple[HostTarget, str]:
        """The host a transfer reads from, which must be one of the run's, still in it, and
        the path there."""
        source, src, why = transfer_source(self.plan, step, host)
        if why:
            raise TransferFailed(f"{why}; nothing was sent")
        if source in self._dropped:
            raise TransferFailed(
                f"the transfer's source {source} failed earlier in this run; nothing was sent"
            )
        return self._target(source), src

    def _target(self, host: str) -> HostTarget:
        if host not in self._targets:
            inventory, base = self.plan.config.inventory, self.plan.config.base_dir
            self._targets[host] = host_target(inventory, host, base)
        return self._targets[host]

    def _key_accepted(self, host: str, fingerprint: str, known_hosts: Path) -> None:
        """A new host key was trusted because the operator asked for it: the audit trail says so."""
        self.emit(
            ev.HostKeyAccepted(
                run_id=self.plan.run_id,
                at=time.time(),
                host=host,
                fingerprint=fingerprint,
                known_hosts=str(known_hosts),
            )
        )

    async def _keep_pace(self) -> None:
        """Let output in only as fast as the store commits it, so memory stays bounded."""
        if self._writer is not None:
            await self._writer.caught_up()

    def emit(self, event: ev.Event) -> None:
        """Record an event, fold it into the engine's own state and tell the listeners."""
        assert self._writer is not None
        self._writer.put(event)
        apply(self.state, event)
        for listener in self._listeners:
            listener(event)

    def add_listener(self, listener: Listener) -> None:
        """Call `listener` with every event this engine emits, after it is folded."""
        self._listeners.append(listener)

    def cancel(self, actor: str) -> None:
        """Stop launching steps and terminate the running ones."""
        if not self._cancelled.is_set():
            self.emit(ev.CancelRequested(run_id=self.plan.run_id, at=time.time(), actor=actor))
            self._cancelled.set()

    async def execute(self, existing: list[ev.Event] | None = None) -> ev.FinalStatus:
        """Run to the end and return the final status; `existing` are the run's stored events so far."""
        reader = self._open_store()
        self._writer = reader.writer()
        for event in existing or []:
            apply(self.state, event)
        self._finished_before = {
            key: cell.status for key, cell in self.state.cells.items() if cell.status in ENDED
        }
        watcher = GateWatcher(self, reader)
        poller = asyncio.create_task(watcher.watch_cancel(self._cancelled, POLL_INTERVAL))
        try:
            self.emit(
                ev.RunStarted(
                    run_id=self.plan.run_id,
                    at=time.time(),
                    pid=os.getpid(),
                    node=socket.gethostname(),
                )
            )
            status: ev.FinalStatus
            try:
                await asyncio.to_thread(self._load_files, reader)
                await self._load_secrets()
            except UsageError as exc:
                status, message = "failed", str(exc)
            else:
                status, message = await self._stages(watcher)
            self.emit(
                ev.RunFinished(
                    run_id=self.plan.run_id, at=time.time(), status=status, message=message
                )
            )
            ended = "run_succeeded" if status == "succeeded" else "run_failed"
            self.notices.tell(ended, status=status)
            return status
        finally:
            await self.notices.drain()  # the run has ended: its status does not wait for these
            poller.cancel()
            await self._pool.close()
            self._writer.close()
            reader.close()

    def _load_files(self, reader: Store) -> None:
        """Bind the files the run recorded (the latest a gate took up), with the scripts' bytes
        from the store, and what this run's downloads brought before a resume."""
        launched = self.state.launched
        if launched is None:
            raise UsageError(f"run {self.plan.run_id} has no launch record")
        files = latest_files(launched, self.state.gates.values())
        contents = {d: _script_bytes(reader, self.plan, n, d) for n, d in files.scripts.items()}
        self.plan = replace(self.plan, files=replace(files, contents=contents))
        self._book = FileBook(self.plan.files)
        for cell in self.state.cells.values():
            if cell.status == "ok" and cell.file and self._is_download(cell.stage, cell.step):
                self._book.received(cell.file, cell.digest)

    def _is_download(self, stage_name: str, step_name: str) -> bool:
        for stage in self.plan.pipeline.stages:
            for step in [*stage.steps, *stage.on_failure]:
                if step.name == step_name and stage_name in (
                    stage.name,
                    f"{stage.name} (on_failure)",
                ):
                    return step.download is not None
        return False

    async def _load_secrets(self) -> None:
        """Read the secrets the pipeline's commands use, and every spelling of them to mask."""
        inventory = self.plan.config.inventory
        for stage in self.plan.pipeline.stages:
            for step in [*stage.steps, *stage.on_failure]:
                texts = [step.run or step.check or "", *(step.checks or [])]
                for name in {n for text in texts for n in secrets_in(text)}:
                    if name not in self._secrets:
                        source = inventory.secrets[name]
                        value = await asyncio.to_thread(
                            secrets.resolve, name, source, self.plan.config.base_dir
                        )
                        self._secrets[name] = value
                        self._outputs.add_secret(name, value)

    def adopt(self, config: Config, files: RunFiles) -> str | None:
        """Run the rest with the configuration and files as they are now (what is to be
        approved again); or say why not."""
        pf = config.pipelines[self.plan.pipeline.name]
        if _shape(pf.pipeline) != _shape(self.plan.pipeline):
            return "the pipeline's stages or steps changed; launch it again"
        hosts = resolve.select(config.inventory, pf.pipeline.targets)
        if self.plan.limit:
            limited = set(resolve.select(config.inventory, self.plan.limit.split(",")))
            hosts = [h for h in hosts if h in limited]
        if set(hosts) != set(self.plan.hosts):
            return "the pipeline's target hosts changed; launch it again"
        self.plan = replace(self.plan, config=config, pipeline_file=pf, files=files)
        self._book.rebind(files)
        for host in list(self._targets):
            if host_target(config.inventory, host, config.base_dir) != self._targets.pop(host):
                self._pool.forget(host)  # the host moved: connect afresh, checking its key
        return None

    async def _stages(self, watcher: GateWatcher) -> tuple[ev.FinalStatus, str]:
        active = list(self.plan.hosts)
        for index in range(len(self.plan.pipeline.stages)):
            stage = self.plan.pipeline.stages[index]  # by index: a gate may adopt a changed plan
            if self._cancelled.is_set():
                return "cancelled", f"cancelled by {self.state.cancel_requested_by}"
            before = self.state.stage(stage.name)
            if before is not None and before.finished_at is not None:  # ended before a resume
                if before.status != "ok":
                    return (
                        "failed",
                        f"stage '{stage.name}' {before.status} before the runner stopped",
                    )
                active = [h for h in active if h not in before.failed_hosts]
                self._dropped.update(before.failed_hosts)
                continue
            if before is None or before.started_at is None:
                self.emit(
                    ev.StageStarted(run_id=self.plan.run_id, at=time.time(), stage=stage.name)
                )
            if stage.is_gate:
                outcome = await watcher.wait(stage, self._cancelled, active)
                self._finish_stage(stage, "ok" if outcome == "approved" else outcome, [])
                if outcome != "approved":
                    return _gate_status(outcome), f"gate '{stage.steps[0].name}' {watcher.verdict}"
                continue
            failed, touched = await self._stage(stage, active)
            active = [h for h in active if h not in failed]
            self._dropped.update(failed)
            over = _over_threshold(stage, len(failed), len(touched) or 1)
            if self._cancelled.is_set():
                self._finish_stage(stage, "cancelled", failed)
                return "cancelled", f"cancelled by {self.state.cancel_requested_by}"
            self._finish_stage(stage, "failed" if over else "ok", failed)
            if over:
                await self._rollback(stage, touched)
                return (
                    "failed",
                    f"stage '{stage.name}' failed on {len(failed)} of {len(touched)} hosts",
                )
            if not active:
                return "failed", "no hosts are left to run on"
        return "succeeded", ""

    def _finish_stage(self, stage: Stage, status: ev.StageStatus, failed: list[str]) -> None:
        self.emit(
            ev.StageFinished(
                run_id=self.plan.run_id,
                at=time.time(),
                stage=stage.name,
                status=status,
                failed_hosts=failed,
            )
        )

    async def _stage(self, stage: Stage, hosts: list[str]) -> tuple[list[str], list[str]]:
        """Fan the stage's steps out over the hosts; returns (failed hosts, hosts touched)."""
        failed: list[str] = []
        touched: list[str] = []
        size = stage.batch_size(len(hosts))
        self._pool.expect(min(size, len(hosts)))  # their windows share one budget
        self._transfers.rendezvous = Rendezvous()
        if stage.strategy == "parallel":
            limit = asyncio.Semaphore(size)
            await asyncio.gather(
                *(self._host_limited(limit, stage, h, failed, touched) for h in hosts)
            )
            return failed, touched
        for start in range(0, len(hosts), size):
            wave = hosts[start : start + size]
            await asyncio.gather(*(self._host(stage, h, failed, touched) for h in wave))
            if self._cancelled.is_set() or _over_threshold(stage, len(failed), len(hosts)):
                self._skip_hosts(stage, hosts[start + size :])
                break
        return failed, touched

    async def _host_limited(
        self,
        limit: asyncio.Semaphore,
        stage: Stage,
        host: str,
        failed: list[str],
        touched: list[str],
    ) -> None:
        async with limit:
            await self._host(stage, host, failed, touched)

    async def _host(self, stage: Stage, host: str, failed: list[str], touched: list[str]) -> None:
        """Run the stage's steps on one host in order; the first failure skips the rest."""
        if self._cancelled.is_set():
            self._skip_hosts(stage, [host])
            return
        steps = [s for s in stage.steps if host in self.plan.step_hosts(s, [host])]
        if not steps:
            return  # nothing of this stage is for it: it neither counts nor rolls back here
        touched.append(host)
        meeting = self._transfers.rendezvous
        meeting.enter(host, [stage.steps.index(s) for s in steps])
        try:
            await self._steps_on(stage, steps, host, failed)
        finally:
            meeting.leave(host)

    async def _steps_on(
        self, stage: Stage, steps: list[Step], host: str, failed: list[str]
    ) -> None:
        for index, step in enumerate(steps):
            self._transfers.rendezvous.at(host, stage.steps.index(step))
            earlier = self._finished_before.get((stage.name, step.name, host))
            if earlier in ("ok", "skipped"):
                continue  # finished by the runner before a resume
            if earlier is not None:
                failed.append(host)
                return
            outcome = await self._step(stage, step, host)
            if outcome.status != "ok":
                failed.append(host)
                self._skip(stage, steps[index + 1 :], host)
                return

    async def _step(
        self, stage: Stage, step: Step, host: str, stage_name: str | None = None
    ) -> Outcome:
        """Run a step on a host with its retries, emitting started and finished for each attempt."""
        name = stage_name or stage.name
        ctx = self._context(name, step, host)
        outcome = Outcome("failed")
        for attempt in range(1, step.retries + 2):
            if self._cancelled.is_set():
                return self._skip(stage, [step], host, name)
            started = time.time()
            self.emit(
                ev.StepStarted(
                    run_id=self.plan.run_id,
                    at=started,
                    stage=name,
                    step=step.name,
                    host=host,
                    attempt=attempt,
                )
            )
            place = None if stage_name else stage.steps.index(step)
            spot = Spot(name, step.name, place, attempt <= step.retries)
            outcome = await self._attempt(step, replace(ctx, spot=spot))
            self._outputs.flush(name, step.name, host)
            if outcome.key_refused:
                self.emit(
                    ev.HostKeyRefused(
                        run_id=self.plan.run_id, at=time.time(), host=host, reason=outcome.message
                    )
                )
            if outcome.status == "ok" and step.download is not None:
                self._book.received(outcome.file, outcome.digest)
            last = outcome.status in ("ok", "unreachable") or attempt > step.retries
            self.emit(
                ev.StepFinished(
                    run_id=self.plan.run_id,
                    at=time.time(),
                    stage=name,
                    step=step.name,
                    host=host,
                    status=outcome.status,
                    exit_code=outcome.exit_code,
                    signal=outcome.signal,
                    duration=time.time() - started,
                    message=self._outputs.masked(outcome.message),
                    attempt=attempt,
                    file=outcome.file,
                    digest=outcome.digest,
                )
            )
            if last:
                break
            await _sleep_or_cancel(step.delay, self._cancelled)
        return outcome

    async def _attempt(self, step: Step, ctx: StepContext) -> Outcome:
        """One attempt, cut short (and the remote command terminated) when the run is cancelled."""
        task = asyncio.create_task(execute(step, ctx))
        stop = asyncio.create_task(self._cancelled.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return Outcome("failed", message=f"cancelled by {self.state.cancel_requested_by}")

    def _context(
        self, stage: str, step: Step, host: str, sink: OutputSink | None = None
    ) -> StepContext:
        sink = sink or self._outputs.sink(stage, step.name, host)
        values = resolve.template_values(self.plan.config.inventory, host, self.plan.params)
        return StepContext(
            self._target(host),
            values,
            self.plan.config.base_dir,
            self._pool,
            sink,
            self._secrets,
            self._book,
            self._transfers,
        )

    def check_context(self, step: Step, host: str) -> StepContext:
        """What a gate's check needs on a host; its output is not kept (its result is)."""
        return self._context("", step, host, _discard)

    def masked(self, text: str) -> str:
        """Words from a host with every secret masked."""
        return self._outputs.masked(text)

    def _skip(self, stage: Stage, steps: list[Step], host: str, name: str | None = None) -> Outcome:
        for step in steps:
            self.emit(
                ev.StepFinished(
                    run_id=self.plan.run_id,
                    at=time.time(),
                    stage=name or stage.name,
                    step=step.name,
                    host=host,
                    status="skipped",
                )
            )
        return Outcome("skipped")

    def _skip_hosts(self, stage: Stage, hosts: list[str]) -> None:
        for host in hosts:
            self._skip(
                stage, [s for s in stage.steps if host in self.plan.step_hosts(s, [host])], host
            )

    async def _rollback(self, stage: Stage, hosts: list[str]) -> None:
        """Run the stage's on_failure steps on every host it touched, all at once."""
        if not stage.on_failure or not hosts:
            return
        self.emit(
            ev.RollbackStarted(
                run_id=self.plan.run_id, at=time.time(), stage=stage.name, hosts=hosts
            )
        )
        name = f"{stage.name} (on_failure)"

        async def one(host: str) -> None:
            for step in stage.on_failure:
                applies = host in self.plan.step_hosts(step, [host])
                if applies and (await self._step(stage, step, host, name)).status != "ok":
                    return

        await asyncio.gather(*(one(h) for h in hosts))


ENDED = frozenset({"ok", "failed", "unreachable", "skipped", "timed_out"})
"""Step statuses that are an outcome; `unknown` is not one (the step may not have finished)."""


def _script_bytes(reader: Store, plan: RunPlan, name: str, digest: str) -> bytes:
    """A script's bytes as the run bound them: the store's copy, checked against its digest;
    for a run from before the store kept them, the file if it is still the same."""
    data = reader.file(digest)
    if data is None:
        path = plan.config.base_dir / name
        data = path.read_bytes() if file_sha256(path) == digest else None
    if data is None or hashlib.sha256(data).hexdigest() != digest:
        raise UsageError(
            f"the script {name} as this run bound it (sha256 {short(digest)}) is neither in "
            "the store nor on disk; nothing was run: launch it again"
        )
    return data


def _over_threshold(stage: Stage, failed: int, total: int) -> bool:
    return failed > 0 and failed * 100 / max(total, 1) > stage.max_fail_percentage


def _shape(pipeline: Pipeline) -> list[tuple[str, list[str]]]:
    return [(s.name, [step.name for step in s.steps]) for s in pipeline.stages]


def _gate_status(outcome: ev.GateOutcome) -> ev.FinalStatus:
    """How a run ends at a gate that did not approve (a voided gate fails it)."""
    final: dict[ev.GateOutcome, ev.FinalStatus] = {
        "rejected": "rejected",
        "expired": "expired",
        "cancelled": "cancelled",
    }
    return final.get(outcome, "failed")


async def _sleep_or_cancel(seconds: float, cancelled: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(cancelled.wait(), seconds)


def _discard(stream: str, data: bytes) -> None:
    """Where a gate check's output goes: nowhere (its result is what is recorded)."""
