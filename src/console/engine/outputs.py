"""Step output on its way to the store: secrets and patient data masked, then events emitted."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from console import events as ev
from console import masking
from console.masking import Form, Masks
from console.redact import OutputFilter
from console.transport.ssh import OutputSink


class StepOutputs:
    """One run's output: a filter per (stage, step, host, stream), flushed when an attempt ends."""

    def __init__(
        self, run_id: str, emit: Callable[[ev.Event], None], patterns: dict[str, str]
    ) -> None:
        self._run_id, self._emit, self._patterns = run_id, emit, patterns
        self._forms: list[Form] = []
        self._masks: Masks | None = None
        self._filters: dict[tuple[str, str, str, str], OutputFilter] = {}

    def add_secret(self, name: str, value: str) -> None:
        """Mask every spelling of a secret from now on."""
        self._forms += masking.forms(name, value)
        self._masks = Masks.of(self._forms)

    def masked(self, text: str) -> str:
        """A message with every secret masked (a transport error may quote output)."""
        if not text or self._masks is None:
            return text
        return masking.mask(text.encode(), self._masks.forms).decode("utf-8", "replace")

    def sink(self, stage: str, step: str, host: str) -> OutputSink:
        """Where the transport hands one step's bytes on one host."""

        def receive(stream: str, data: bytes) -> None:
            if self._masks or self._patterns:  # masked before anything is stored or shown
                key = (stage, step, host, stream)
                if key not in self._filters:
                    self._filters[key] = OutputFilter(self._masks, self._patterns)
                data = self._filters[key].feed(data)
                if not data:
                    return
            self._output(stage, step, host, stream, data)

        return receive

    def flush(self, stage: str, step: str, host: str) -> None:
        """Emit what the filters held back once the attempt has ended, and what they masked."""
        counts: Counter[str] = Counter()
        for stream in ("stdout", "stderr"):
            found = self._filters.pop((stage, step, host, stream), None)
            if found is None:
                continue
            rest = found.finish()
            if rest:
                self._output(stage, step, host, stream, rest)
            counts += found.counts
        if counts:
            self._emit(
                ev.OutputRedacted(
                    run_id=self._run_id,
                    at=time.time(),
                    stage=stage,
                    step=step,
                    host=host,
                    counts=dict(counts),
                )
            )

    def _output(self, stage: str, step: str, host: str, stream: str, data: bytes) -> None:
        self._emit(
            ev.Output(
                run_id=self._run_id,
                at=time.time(),
                stage=stage,
                step=step,
                host=host,
                stream=stream,
                data=data,
            )
        )
