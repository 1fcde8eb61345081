"""Connection settings for one host, resolved from the inventory's defaults and overrides."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from console.model.inventory import Inventory


@dataclass(frozen=True)
class HostTarget:
    """Everything needed to open an SSH connection to one inventory host."""

    name: str
    address: str
    port: int
    user: str
    known_hosts: Path
    identity_file: Path | None
    connect_timeout: float
    keepalive_interval: float
    keepalive_count: int
    jump: HostTarget | None = None


def _path(text: str | None, base: Path) -> Path | None:
    if text is None:
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def host_target(inventory: Inventory, name: str, base: Path) -> HostTarget:
    """Resolve a host's SSH settings; relative file paths are taken from the inventory's folder."""
    spec, ssh = inventory.hosts[name], inventory.ssh
    jump = host_target(inventory, spec.proxy_jump, base) if spec.proxy_jump else None
    known = _path(spec.known_hosts or ssh.known_hosts, base)
    assert known is not None
    return HostTarget(
        name=name,
        address=spec.address,
        port=spec.port or ssh.port,
        user=spec.user or ssh.user or getpass.getuser(),
        known_hosts=known,
        identity_file=_path(spec.identity_file or ssh.identity_file, base),
        connect_timeout=spec.connect_timeout or ssh.connect_timeout,
        keepalive_interval=ssh.keepalive_interval,
        keepalive_count=ssh.keepalive_count,
        jump=jump,
    )
