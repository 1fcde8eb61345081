"""Host-key checking against known_hosts files, with an explicit opt-in to trust new keys."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh


@dataclass
class KnownHosts:
    """One known_hosts file, read once per run and appended to when a new key is accepted."""

    path: Path
    accept_new: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _db: asyncssh.SSHKnownHosts | None = field(default=None, repr=False)

    def database(self) -> asyncssh.SSHKnownHosts:
        """The parsed file (empty when the file does not exist yet)."""
        with self._lock:
            if self._db is None:
                text = self.path.read_text() if self.path.exists() else ""
                self._db = asyncssh.import_known_hosts(text)
            return self._db

    def keys_for(self, address: str, port: int) -> list[asyncssh.SSHKey]:
        """The trusted keys recorded for an address and port."""
        keys = self.database().match(address, address, port)[0]
        return list(keys)

    def remember(self, address: str, port: int, key: asyncssh.SSHKey) -> None:
        """Append a newly trusted key in OpenSSH's format, creating the file when needed."""
        name = address if port == 22 else f"[{address}]:{port}"
        line = f"{name} {key.export_public_key().decode().strip()}\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as handle:
                handle.write(line)
            self._db = None


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The key's SHA-256 fingerprint as OpenSSH prints it."""
    return str(key.get_fingerprint("sha256"))


@dataclass
class KeyDecision:
    """What the client saw of a host's key during one handshake."""

    offered: asyncssh.SSHKey | None = None
    known: list[asyncssh.SSHKey] = field(default_factory=list)
    accepted_new: bool = False

    def describe(self, host: str, address: str, port: int, path: Path) -> str:
        """A sentence naming the host, address and fingerprint, and what to do."""
        where = f"host '{host}' ({address}:{port})"
        offered = fingerprint(self.offered) if self.offered else "unknown"
        if self.known:
            old = ", ".join(fingerprint(k) for k in self.known)
            return (
                f"host key changed for {where}: known {old}, offered {offered}; nothing was run. "
                f"If the host was rebuilt, verify the new key and replace its line in {path}"
            )
        return (
            f"unknown host key for {where}: {offered}; nothing was run. Verify the fingerprint, "
            f"then rerun with --accept-new-host-keys to record it in {path}"
        )


def trusted_keys(path: Path, address: str, port: int) -> list[str]:
    """The keys a known_hosts file trusts for an address and port, each as its type and
    SHA-256 fingerprint; none when the file is missing or unreadable."""
    try:
        keys = KnownHosts(path).keys_for(address, port)
    except (OSError, ValueError):
        return []
    found = [f"{key.get_algorithm()} {fingerprint(key)}" for key in keys]
    return list(dict.fromkeys(found))  # a key on several lines is one key
