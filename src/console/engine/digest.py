"""The plan digest an approval is bound to: pipeline content, the local files the run reads,
params, targets and their host keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from console.audit import canonical
from console.engine.files import RunFiles, recheck, short
from console.engine.plan import RunPlan, with_pipeline
from console.errors import ConfigError, ConsoleError
from console.model import resolve
from console.model.config import Config
from console.model.load import load_config
from console.transport.hostkeys import KnownHosts, fingerprint
from console.transport.target import host_target


def digest_parts(config: Config, plan: RunPlan) -> dict[str, Any]:
    """What an approver is shown and what must not change before the gated steps run."""
    assert plan.files is not None, "a run's files are bound before a gate opens"
    pf = config.pipelines[plan.pipeline.name]
    hosts = resolve.select(config.inventory, pf.pipeline.targets)
    if plan.limit:
        limited = set(resolve.select(config.inventory, plan.limit.split(",")))
        hosts = [h for h in hosts if h in limited]
    targets, keys = {}, {}
    for host in hosts:
        target = host_target(config.inventory, host, config.base_dir)
        targets[host] = f"{target.address}:{target.port}"
        known = KnownHosts(target.known_hosts).keys_for(target.address, target.port)
        keys[host] = sorted(fingerprint(k) for k in known)
    return {
        "pipeline": pf.source.digest,
        **plan.files.parts(),
        "params": plan.params,
        "targets": targets,
        "host_keys": keys,
    }


def digest_of(parts: dict[str, Any]) -> str:
    """SHA-256 over the canonical encoding of the parts."""
    return hashlib.sha256(canonical(parts)).hexdigest()


@dataclass(frozen=True)
class Current:
    """The plan as the files on disk say now: its parts, and what was read to say it."""

    parts: dict[str, Any]
    config: Config | None = None
    files: RunFiles | None = None


def current_parts(plan: RunPlan) -> Current:
    """The parts as the files on disk say now, with the configuration and files read afresh."""
    assert plan.files is not None
    try:
        config = load_config(plan.config.source.path, plan.pipeline_file.source.path.parent)
        if plan.stored_version:  # the run's pipeline is the text the store kept, not the file
            config = with_pipeline(config, plan.pipeline_file)
        if plan.pipeline.name not in config.pipelines:
            raise ConsoleError(f"pipeline {plan.pipeline.name} is gone from {config.source.path}")
        pipeline = config.pipelines[plan.pipeline.name].pipeline
        files = recheck(config, pipeline, plan.params, plan.hosts, plan.files)
    except ConfigError as exc:
        first = str(exc.problems[0]) if exc.problems else str(exc)
        return Current({"error": f"the configuration no longer loads ({first})"})
    except ConsoleError as exc:
        return Current({"error": str(exc)})
    fresh = replace(plan, config=config, files=files)
    return Current(digest_parts(config, fresh), config, files)


NAMES = {
    "pipeline": "the pipeline file",
    "params": "the params",
    "targets": "the target hosts",
    "host_keys": "a host key",
}


def changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which parts differ, in words: each changed file by name, with its old and new digest."""
    if "error" in new:
        return str(new["error"])
    said: list[str] = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if key in ("scripts", "uploads"):
            said += _files_changed(old.get(key) or {}, new.get(key) or {})
        else:
            said.append(NAMES.get(key, key))
    return ", ".join(said) + " changed"


def _files_changed(old: dict[str, str], new: dict[str, str]) -> list[str]:
    said = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        if before is None or after is None:
            said.append(f"{path} was {'added' if before is None else 'removed'}")
        else:
            said.append(f"{path} (sha256 {short(before)} → {short(after)})")
    return said
