"""One host as the inventory describes it: where it is, how it is reached and which key it
must show, for the console's host view and `opsconsole host`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from console.model.base import Scalar
    from console.model.config import Config
    from console.runbook import HostStep
    from console.store import Store


@dataclass(frozen=True)
class HostView:
    """A host's place in the inventory and its connection, as a person reads them."""

    name: str
    address: str
    port: int
    user: str
    via: list[str]
    """The hosts a connection jumps through, nearest last."""
    environment: str | None
    groups: list[str]
    """Every group it is in, directly or by nesting, nearest first."""
    labels: dict[str, str]
    vars: dict[str, Scalar]
    known_hosts: Path
    keys: list[str]
    """The keys known_hosts trusts for its address: type and SHA-256 fingerprint."""


def describe(config: Config, host: str) -> HostView:
    """A host of the inventory described; refused in words when there is no such host."""
    from console.model import resolve
    from console.model.problems import did_you_mean
    from console.transport.hostkeys import trusted_keys
    from console.transport.target import host_target

    inventory = config.inventory
    if host not in inventory.hosts:
        some = ", ".join(sorted(inventory.hosts)[:3])
        hint = did_you_mean(host, inventory.hosts) or f"; its hosts are named like {some}"
        raise UsageError(f"no host '{host}' in the inventory {config.source.path}{hint}")
    target = host_target(inventory, host, config.base_dir)
    via: list[str] = []
    jump = target.jump
    while jump is not None:
        via.insert(0, jump.name)
        jump = jump.jump
    return HostView(
        name=host,
        address=target.address,
        port=target.port,
        user=target.user,
        via=via,
        environment=resolve.host_environment(inventory, host),
        groups=resolve.host_groups(inventory, host),
        labels=dict(inventory.hosts[host].labels),
        vars=resolve.host_vars(inventory, host),
        known_hosts=target.known_hosts,
        keys=trusted_keys(target.known_hosts, target.address, target.port),
    )


def history(store: Store, host: str, runs: int = 200) -> tuple[list[HostStep], int]:
    """Each step's last result on a host across the newest runs, newest first, and how many
    runs were read."""
    from console.ops.runs import read_state
    from console.runbook import host_history

    states = [read_state(store, r.id) for r in store.runs(limit=runs)]
    return host_history(states, host), len(states)
