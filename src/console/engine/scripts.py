"""The script files a pipeline runs, by content: what a run records and a gate binds to."""

from __future__ import annotations

import hashlib
from pathlib import Path

from console.model.pipeline import Pipeline


def script_digests(base_dir: Path, pipeline: Pipeline) -> dict[str, str]:
    """Each script step's file (as the pipeline names it) and the SHA-256 of its content now."""
    found = {}
    for stage in pipeline.stages:
        for step in [*stage.steps, *stage.on_failure]:
            if step.script:
                found[step.script] = file_digest(base_dir / step.script)
    return found


def file_digest(path: Path) -> str:
    """A file's SHA-256, or why it could not be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
