"""The local files a run reads, bound by content to what its approvals cover.

Scripts are read once, at launch: their bytes go into the store and the engine executes those
bytes, never the file. An upload's source may be large (a 2 GB image): it is hashed once at
launch and sealed with what the file system says of it (size, inode, change times); a gate
hashes it again only when those changed, and every upload hashes its bytes as they stream,
refused on the host before the file is renamed into place when they differ from the seal.
A source that a download of the same run writes is bound to the digest that download
verified instead.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.errors import UsageError
from console.model import resolve
from console.model.base import Scalar
from console.model.config import Config
from console.model.pipeline import Pipeline, Step
from console.model.templates import render
from console.model.trust import untrusted

if TYPE_CHECKING:
    from console.events import RunLaunched
    from console.state import Gate

SCRIPT_LIMIT = 1 << 20
"""The largest script kept in the store; a larger file belongs in an upload step."""

BLOCK = 1 << 20
"""Bytes read at a time while hashing."""


@dataclass(frozen=True)
class Seal:
    """A file's content as bound at launch, and what its file system said of it then."""

    sha256: str = ""
    size: int = -1
    inode: int = -1
    mtime_ns: int = -1
    ctime_ns: int = -1
    origin: str = ""
    """`stage › step` of the download of this run that writes the file, when one does."""

    def matches(self, info: os.stat_result) -> bool:
        """Whether the file still looks as it did when sealed (only the owner or root could
        make it look the same with other bytes, and streaming checks the bytes anyway)."""
        return (self.size, self.inode, self.mtime_ns, self.ctime_ns) == (
            info.st_size,
            info.st_ino,
            info.st_mtime_ns,
            info.st_ctime_ns,
        )

    def as_dict(self) -> dict[str, Any]:
        """For the launch event."""
        if self.origin:
            return {"from": self.origin}
        return {
            "sha256": self.sha256,
            "size": self.size,
            "inode": self.inode,
            "mtime_ns": self.mtime_ns,
            "ctime_ns": self.ctime_ns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seal:
        """Back from the launch event."""
        if "from" in data:
            return cls(origin=str(data["from"]))
        return cls(**{k: data[k] for k in ("sha256", "size", "inode", "mtime_ns", "ctime_ns")})

    @property
    def shown(self) -> str:
        """What an approver is shown: the SHA-256, or where the file will come from."""
        return f"from {self.origin}" if self.origin else self.sha256


@dataclass(frozen=True)
class RunFiles:
    """Every local file a run reads, by content."""

    scripts: dict[str, str] = field(default_factory=dict)
    """Each script as the pipeline names it, and the SHA-256 of the bytes that run."""
    uploads: dict[str, Seal] = field(default_factory=dict)
    """Each upload's source as rendered (relative to the inventory's folder), sealed."""
    contents: dict[str, bytes] = field(default_factory=dict)
    """Script bytes by SHA-256: what the store keeps and the engine executes."""

    def parts(self) -> dict[str, dict[str, str]]:
        """The files' part of the plan digest."""
        return {
            "scripts": dict(self.scripts),
            "uploads": {path: seal.shown for path, seal in sorted(self.uploads.items())},
        }


def wanted(
    config: Config, pipeline: Pipeline, params: dict[str, Scalar], hosts: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The scripts a run executes, and each upload source it sends with the download of the
    same run that writes it (empty when none does)."""

    scripts: list[str] = []
    uploads: dict[str, str] = {}
    written: dict[str, str] = {}
    for stage in pipeline.stages:
        for step in [*stage.steps, *stage.on_failure]:
            if step.script and step.script not in scripts:
                scripts.append(step.script)
            for host in _hosts(config, step, hosts):
                values = resolve.template_values(config.inventory, host, params)
                if step.download is not None:
                    path = os.path.normpath(render(step.download.dest, values, None))
                    written.setdefault(path, f"{stage.name} › {step.name}")
                if step.upload is not None:
                    path = os.path.normpath(render(step.upload.src, values, None))
                    uploads.setdefault(path, written.get(path, ""))
    return scripts, uploads


def _hosts(config: Config, step: Step, among: list[str]) -> list[str]:
    from console.model import resolve

    if step.upload is None and step.download is None:
        return []
    if step.hosts is None:
        return among
    narrowed = set(resolve.select(config.inventory, step.hosts))
    return [h for h in among if h in narrowed]


def bind(
    config: Config,
    pipeline: Pipeline,
    params: dict[str, Scalar],
    hosts: list[str],
    kept: dict[str, bytes] | None = None,
) -> RunFiles:
    """Read every script and seal every upload source, as a launch does; refused in one
    sentence per file that is missing, unreadable or could have been written by another.
    `kept` gives script bytes by name to run instead of the files (a stored version's)."""
    scripts, uploads = wanted(config, pipeline, params, hosts)
    problems: list[str] = []
    found = RunFiles()
    for name in scripts:
        if kept and name in kept:
            found = _add_script(found, name, kept[name])
        else:
            found = _with_script(found, config.base_dir, name, problems)
    for path, origin in uploads.items():
        seal = Seal(origin=origin) if origin else _seal(config.base_dir, path, problems)
        found.uploads[path] = seal
    if problems:
        raise UsageError("; ".join(problems) + "; nothing was launched")
    return found


def recheck(
    config: Config,
    pipeline: Pipeline,
    params: dict[str, Scalar],
    hosts: list[str],
    sealed: RunFiles,
) -> RunFiles:
    """The files as they are now: scripts read again, sources hashed again only when their
    seal no longer matches; raises UsageError when one can no longer be read."""
    scripts, uploads = wanted(config, pipeline, params, hosts)
    problems: list[str] = []
    found = RunFiles()
    for name in scripts:
        found = _with_script(found, config.base_dir, name, problems)
    for path, origin in uploads.items():
        if origin:
            found.uploads[path] = Seal(origin=origin)
            continue
        before = sealed.uploads.get(path)
        try:
            info = (config.base_dir / path).stat()
        except OSError:
            info = None
        if before is not None and info is not None and before.matches(info):
            found.uploads[path] = before
        else:
            found.uploads[path] = _seal(config.base_dir, path, problems)
    if problems:
        raise UsageError("; ".join(problems))
    return found


def _with_script(found: RunFiles, base: Path, name: str, problems: list[str]) -> RunFiles:
    path = base / name
    why = untrusted(path)
    if why:
        problems.append(f"the script {name} is refused: {why}")
        return found
    try:
        with path.open("rb") as handle:
            data = handle.read(SCRIPT_LIMIT + 1)
    except OSError as exc:
        problems.append(f"the script {name} cannot be read ({exc.strerror})")
        return found
    if len(data) > SCRIPT_LIMIT:
        problems.append(
            f"the script {name} is larger than {SCRIPT_LIMIT >> 20} MiB; send a file that "
            "large with an upload step and run it with a run step"
        )
        return found
    return _add_script(found, name, data)


def _add_script(found: RunFiles, name: str, data: bytes) -> RunFiles:
    digest = hashlib.sha256(data).hexdigest()
    return replace(
        found,
        scripts={**found.scripts, name: digest},
        contents={**found.contents, digest: data},
    )


def _seal(base: Path, name: str, problems: list[str]) -> Seal:
    """Hash an upload's source once and note what its file system says of it."""
    path = base / name
    why = untrusted(path)
    if why:
        problems.append(f"the upload source {name} is refused: {why}")
        return Seal()
    try:
        with path.open("rb") as handle:
            before = os.fstat(handle.fileno())
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
            after = os.fstat(handle.fileno())
    except FileNotFoundError:
        problems.append(
            f"the upload source {name} does not exist (local paths are relative to the "
            f"inventory's folder, {base})"
        )
        return Seal()
    except OSError as exc:
        problems.append(f"the upload source {name} cannot be read ({exc.strerror})")
        return Seal()
    seal = Seal(digest, before.st_size, before.st_ino, before.st_mtime_ns, before.st_ctime_ns)
    if not seal.matches(after):
        problems.append(f"the upload source {name} changed while it was read; try again")
    return seal


def from_launch(scripts: dict[str, str], uploads: dict[str, dict[str, Any]]) -> RunFiles:
    """The files a run recorded at launch (their contents are read from the store)."""
    return RunFiles(dict(scripts), {p: Seal.from_dict(s) for p, s in uploads.items()})


def latest_files(launched: RunLaunched, gates: Iterable[Gate]) -> RunFiles:
    """The files a run binds now: those of its launch, or of the last plan a gate opened for
    (a gate takes up files changed before its steps run)."""
    files = from_launch(launched.scripts, launched.uploads)
    opened = [g for g in gates if g.opened_at is not None and "scripts" in g.digest_parts]
    if not opened:
        return files
    parts = max(opened, key=lambda g: g.opened_at or 0.0).digest_parts
    uploads = {}
    for path, shown in parts.get("uploads", {}).items():
        sealed = files.uploads.get(path)
        if sealed is not None and sealed.shown == shown:
            uploads[path] = sealed
        elif shown.startswith("from "):
            uploads[path] = Seal(origin=shown.removeprefix("from "))
        else:
            uploads[path] = Seal(sha256=shown)
    return RunFiles(dict(parts["scripts"]), uploads)


def file_sha256(path: Path) -> str:
    """A file's SHA-256, or why it could not be read."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.strerror}"


def short(digest: str) -> str:
    """A SHA-256 as people compare it: its first 16 hex digits."""
    return digest[:16] + "…" if len(digest) == 64 else digest


class FileBook:
    """A running engine's files: the ones its plan binds, and what its downloads brought."""

    def __init__(self, files: RunFiles | None = None) -> None:
        self.files = files or RunFiles()
        self._received: dict[str, str] = {}

    def rebind(self, files: RunFiles) -> None:
        """Bind the files a gate took up (the scripts' bytes already in the store)."""
        self.files = replace(files, contents={**self.files.contents, **files.contents})

    def received(self, path: str, digest: str) -> None:
        """A download of this run wrote `path` with these bytes."""
        self._received[path] = digest

    def script(self, name: str) -> tuple[bytes, str]:
        """The bytes of a script that this run runs, and their SHA-256."""
        from console.errors import TransferFailed

        digest = self.files.scripts.get(name, "")
        data = self.files.contents.get(digest)
        if data is None:
            raise TransferFailed(f"the script {name} is not among the files of this run's plan")
        return data, digest

    def expected(self, path: str) -> tuple[str, bool]:
        """The SHA-256 an upload's source must have, and whether a download of this run wrote
        it; refused when the plan did not bind that file."""
        from console.errors import TransferFailed

        seal = self.files.uploads.get(path)
        if seal is None:
            raise TransferFailed(
                f"the upload source {path} is not among the files bound to this run's plan; "
                "nothing was sent"
            )
        if not seal.origin:
            return seal.sha256, False
        got = self._received.get(path)
        if got is None:
            raise TransferFailed(
                f"{path} was to come from {seal.origin} in this run, which has not brought "
                "it here; nothing was sent"
            )
        return got, True
