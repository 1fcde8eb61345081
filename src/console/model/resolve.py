"""Resolve what an inventory implies: group membership, environments, vars and target patterns."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from console.model.base import Scalar
from console.model.inventory import Inventory


def group_ancestry(inventory: Inventory, group: str) -> list[str]:
    """The group and every group that (transitively) lists it as a child, nearest first."""
    parents: dict[str, list[str]] = {}
    for name, g in inventory.groups.items():
        for child in g.children:
            parents.setdefault(child, []).append(name)
    seen: list[str] = []
    queue = [group]
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.append(current)
        queue.extend(parents.get(current, []))
    return seen


def host_groups(inventory: Inventory, host: str) -> list[str]:
    """Every group the host belongs to, directly or through nesting, nearest first."""
    found: list[str] = []
    for direct in inventory.hosts[host].groups:
        for group in group_ancestry(inventory, direct):
            if group not in found:
                found.append(group)
    return found


def host_environments(inventory: Inventory, host: str) -> set[str]:
    """The environments a host is placed in by itself and by its groups (one when valid)."""
    spec = inventory.hosts[host]
    if spec.environment:
        return {spec.environment}
    envs = set()
    for group in host_groups(inventory, host):
        env = inventory.groups[group].environment if group in inventory.groups else None
        if env:
            envs.add(env)
    return envs


def host_environment(inventory: Inventory, host: str) -> str | None:
    """The host's one environment, or None when it has none."""
    envs = sorted(host_environments(inventory, host))
    return envs[0] if envs else None


def host_vars(inventory: Inventory, host: str) -> dict[str, Scalar]:
    """Group vars (farthest ancestor first, so nearer groups win), then the host's own vars."""
    merged: dict[str, Scalar] = {}
    for group in reversed(host_groups(inventory, host)):
        if group in inventory.groups:
            merged.update(inventory.groups[group].vars)
    merged.update(inventory.hosts[host].vars)
    return merged


def members(inventory: Inventory, group: str) -> set[str]:
    """Hosts in a group, including hosts of its nested children."""
    return {h for h in inventory.hosts if group in host_groups(inventory, h)}


def matches(inventory: Inventory, host: str, pattern: str) -> bool:
    """Does one host match a pattern: a host, a group, `key=value` label or a glob on names?"""
    if "=" in pattern:
        key, _, value = pattern.partition("=")
        return inventory.hosts[host].labels.get(key.strip()) == value.strip()
    if pattern == host or pattern in host_groups(inventory, host):
        return True
    return any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(host, pattern)


def select(inventory: Inventory, patterns: Iterable[str]) -> list[str]:
    """Hosts matching any of the patterns, in inventory order."""
    wanted = [p.strip() for p in patterns if p.strip()]
    return [h for h in inventory.hosts if any(matches(inventory, h, p) for p in wanted)]


def is_known_pattern(inventory: Inventory, pattern: str) -> bool:
    """A pattern names something that exists (a selector or glob is always well-formed)."""
    if "=" in pattern or any(ch in pattern for ch in "*?["):
        return True
    return pattern in inventory.hosts or pattern in inventory.groups


def template_values(
    inventory: Inventory, host: str, params: dict[str, Scalar]
) -> dict[str, Scalar]:
    """Params, host.name, host.address and vars.NAME for one host."""
    values: dict[str, Scalar] = dict(params)
    values["host.name"] = host
    values["host.address"] = inventory.hosts[host].address
    for name, value in host_vars(inventory, host).items():
        values[f"vars.{name}"] = value
    return values


def transfer_source(inventory: Inventory, named: str, among: list[str]) -> tuple[str, str]:
    """The host a transfer's `from` names (a host, or a group of one host) and, when it names
    none the run may read from, why not."""
    if named in inventory.hosts:
        host = named
    elif named in inventory.groups:
        found = [h for h in inventory.hosts if h in members(inventory, named)]
        if len(found) != 1:
            held = ", ".join(found[:5]) or "no hosts"
            return "", (
                f"a transfer comes from one host, and the group '{named}' holds {len(found)} "
                f"({held}); name one host"
            )
        host = found[0]
    else:
        return "", f"the transfer's source '{named}' is neither a host nor a group"
    if host not in among:
        return "", (
            f"the transfer's source {host} is not one of this run's hosts; a run reads only "
            "from hosts it targets (add it to --limit, or to the pipeline's targets)"
        )
    return host, ""
