"""The plan digest an approval is bound to: pipeline content, params, targets and their host keys."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from console.audit import canonical
from console.engine.plan import RunPlan, with_pipeline
from console.engine.scripts import script_digests
from console.errors import ConsoleError
from console.model import resolve
from console.model.load import Config, load_config
from console.transport.hostkeys import KnownHosts, fingerprint
from console.transport.target import host_target


def digest_parts(config: Config, plan: RunPlan) -> dict[str, Any]:
    """What an approver is shown and what must not change before the gated steps run."""
    pf = config.pipelines[plan.pipeline.name]
    scripts = script_digests(config.base_dir, pf.pipeline)
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
        "scripts": scripts,
        "params": plan.params,
        "targets": targets,
        "host_keys": keys,
    }


def digest_of(parts: dict[str, Any]) -> str:
    """SHA-256 over the canonical encoding of the parts."""
    return hashlib.sha256(canonical(parts)).hexdigest()


def current_parts(plan: RunPlan) -> tuple[dict[str, Any], Config | None]:
    """The parts as the files on disk say now, and the configuration read afresh to say it."""
    try:
        config = load_config(plan.config.source.path, plan.pipeline_file.source.path.parent)
    except ConsoleError as exc:
        return {"error": str(exc)}, None
    if plan.stored_version:  # the run's pipeline is the text the store kept, not the file
        config = with_pipeline(config, plan.pipeline_file)
    if plan.pipeline.name not in config.pipelines:
        return {"error": f"pipeline {plan.pipeline.name} is gone from {config.source.path}"}, None
    return digest_parts(config, replace(plan, config=config)), config


def changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which parts differ, in words."""
    names = {
        "pipeline": "the pipeline file",
        "scripts": "a script",
        "params": "the params",
        "targets": "the target hosts",
        "host_keys": "a host key",
        "error": "the configuration (it no longer loads)",
    }
    changed = [names.get(k, k) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return ", ".join(changed) + " changed"
