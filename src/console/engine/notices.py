"""The runner tells notification targets about its run: each target subscribed to the notice
and the run's environments gets the message, tried with backoff in the background (never in
the run's way), and every try is an event, so an audit record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from console import events as ev
from console import secrets
from console.errors import UsageError
from console.model.config import Config
from console.model.inventory import NotifyTarget
from console.notify.deliver import NotSent, deliver
from console.notify.message import Notice, masked

BACKOFF = 1.0
"""Seconds before the second try; each wait after is twice the one before."""
DRAIN = 60.0
"""How long a runner whose run has ended still tries the notifications under way."""


@dataclass(frozen=True)
class About:
    """The run a notification is about, as the sender knows it."""

    config: Config
    run_id: str
    pipeline: str
    environments: list[str]
    operator: str
    release: str | None


class Notifier:
    """A run's notifications under way: sent by its runner, or (its interruption) by
    whoever found the runner gone; each try recorded through `emit`."""

    def __init__(self, about: Callable[[], About], emit: Callable[[ev.Event], None]) -> None:
        self._about, self._emit = about, emit
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribed(self, notice: str) -> list[tuple[str, NotifyTarget]]:
        """The targets that hear about this notice in the run's environments."""
        about = self._about()
        envs = set(about.environments)
        return [
            (name, target)
            for name, target in about.config.inventory.notify.items()
            if notice in target.on and (not target.environments or envs & set(target.environments))
        ]

    def tell(self, notice: str, gate: tuple[str, str, int] | None = None, status: str = "") -> None:
        """Start telling every subscribed target (`gate`: its step, words and approvals)."""
        targets = self.subscribed(notice)
        if not targets:
            return
        message = self._message(notice, gate, status)
        for name, target in targets:
            task = asyncio.create_task(self._try(name, target, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _message(self, notice: str, gate: tuple[str, str, int] | None, status: str) -> Notice:
        about = self._about()
        step, words, approvals = gate or ("", "", 0)
        patterns = about.config.inventory.redact
        waiting = f"{masked(words, patterns)} ({approvals} approval(s))" if gate else ""
        return Notice(
            notice,
            about.run_id,
            about.pipeline,
            about.environments,
            about.release,
            about.operator,
            waiting,
            step,
            status,
        )

    async def _try(self, name: str, target: NotifyTarget, message: Notice) -> None:
        """Try the target until it takes the message or the tries run out, recording each."""
        try:
            credentials = await asyncio.to_thread(self._credentials, target)
        except UsageError as exc:
            self._record(name, message, 1, False, str(exc), True)
            return
        attempt = 1
        try:
            for attempt in range(1, target.attempts + 1):
                try:
                    said = await deliver(target, message, credentials)
                except NotSent as exc:
                    last = attempt == target.attempts
                    why = _scrubbed(str(exc), credentials)
                    self._record(name, message, attempt, False, why, last)
                    if last:
                        return
                    await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
                else:
                    self._record(name, message, attempt, True, _scrubbed(said, credentials), True)
                    return
        except asyncio.CancelledError:
            why = "given up: the run had ended and its runner could wait no longer"
            self._record(name, message, attempt, False, why, True)
            raise

    def _credentials(self, target: NotifyTarget) -> dict[str, str]:
        """The secrets a target logs in with, read from their sources now."""
        config = self._about().config
        names = [target.token, target.email.password if target.email else None]
        return {
            n: secrets.resolve(n, config.inventory.secrets[n], config.base_dir) for n in names if n
        }

    def _record(
        self, name: str, message: Notice, attempt: int, sent: bool, detail: str, final: bool
    ) -> None:
        self._emit(
            ev.NoticeAttempted(
                run_id=message.run_id,
                at=time.time(),
                target=name,
                notice=message.notice,
                attempt=attempt,
                sent=sent,
                detail=detail[:500],
                final=final,
            )
        )

    async def drain(self, timeout: float = DRAIN) -> None:
        """Let the notifications under way finish (up to `timeout`); those still trying then
        are recorded as given up."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)


def _scrubbed(text: str, credentials: dict[str, str]) -> str:
    """Words about a try with any credential in them masked (a server may echo what it got)."""
    for name, value in credentials.items():
        if value:
            text = text.replace(value, f"<secret {name}>")
    return text
