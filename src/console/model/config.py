"""A configuration as read: the source files, the pipelines in them, and the inventory they
belong to (the types `load` builds and everyone else reads)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from console.model.inventory import Inventory
from console.model.locate import KeyLocator
from console.model.pipeline import Pipeline


@dataclass(frozen=True)
class SourceFile:
    """A file as read: its path, text, SHA-256 and a locator for its keys."""

    path: Path
    text: str
    digest: str
    locator: KeyLocator = field(repr=False, compare=False)

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        """Read a file; raises OSError, or UnicodeDecodeError for bytes that are not UTF-8, as
        the caller must report them."""
        data = path.read_bytes()
        text = data.decode("utf-8")
        return cls(path, text, hashlib.sha256(data).hexdigest(), KeyLocator(text))

    def line_of(self, *path: str | int) -> int | None:
        """The line of a key path in this file."""
        return self.locator.line_of(path)


@dataclass(frozen=True)
class PipelineFile:
    """A pipeline and the file it came from."""

    pipeline: Pipeline
    source: SourceFile


@dataclass(frozen=True)
class Config:
    """A validated inventory and its pipelines, ready to launch runs from."""

    inventory: Inventory
    source: SourceFile
    pipelines: dict[str, PipelineFile]

    @property
    def base_dir(self) -> Path:
        """The inventory's folder: relative paths in it are resolved from here."""
        return self.source.path.parent
