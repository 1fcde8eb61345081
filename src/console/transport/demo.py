"""Embedded SSH hosts (asyncssh's server side) that run commands in a sandbox folder each.

Every demo host listens on its own loopback port with a host key made for this session and
accepts only the demo's client key. Commands run with bash in the host's folder, with a few
stand-ins for system tools (systemctl, ...) first on PATH, so that sample pipelines behave.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from dataclasses import dataclass
from pathlib import Path

import asyncssh

SHIMS = {
    "systemctl": """#!/bin/sh
# The demo's stand-in for systemctl: remembers which units were restarted.
action="$1"; unit="$2"
mkdir -p "$HOME/.units"
case "$action" in
  restart|reload|start) date +%s > "$HOME/.units/$unit"; echo "$action $unit: done" ;;
  stop) rm -f "$HOME/.units/$unit"; echo "stop $unit: done" ;;
  is-active) test -f "$HOME/.units/$unit" && echo active || { echo inactive; exit 3; } ;;
  *) echo "systemctl $*" ;;
esac
""",
}


def new_client_key(path: Path) -> asyncssh.SSHKey:
    """Generate the demo's client key and write it (private, 0600) to `path`."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    path.chmod(0o600)
    return key


def public_line(key: asyncssh.SSHKey) -> str:
    """A key's public half in OpenSSH's one-line format."""
    return str(key.export_public_key().decode().strip())


@dataclass
class DemoHost:
    """One embedded host: its name, port, sandbox folder and listener."""

    name: str
    port: int
    root: Path
    key: asyncssh.SSHKey
    acceptor: asyncssh.SSHAcceptor


def _shim_dir(base: Path) -> Path:
    folder = base / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SHIMS.items():
        path = folder / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


async def _pump_out(reader: asyncio.StreamReader | None, writer: asyncssh.SSHWriter[bytes]) -> None:
    assert reader is not None
    while chunk := await reader.read(65536):
        writer.write(chunk)


async def _pump_in(
    process: asyncssh.SSHServerProcess[bytes], child: asyncio.subprocess.Process
) -> None:
    assert child.stdin is not None
    try:
        while data := await process.stdin.read(65536):
            child.stdin.write(data)
            await child.stdin.drain()
        child.stdin.close()
    except asyncssh.SignalReceived as exc:
        name = exc.signal if exc.signal.startswith("SIG") else f"SIG{exc.signal}"
        os.killpg(child.pid, getattr(signal, name, signal.SIGTERM))
        await _pump_in(process, child)
    except (BrokenPipeError, ConnectionResetError, asyncssh.Error):
        pass


def _handler(root: Path, shims: Path, name: str):  # type: ignore[no-untyped-def]
    async def handle(process: asyncssh.SSHServerProcess[bytes]) -> None:
        env = {
            "HOME": str(root),
            "PATH": f"{shims}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "LANG": "C.UTF-8",
            "OPSCONSOLE_DEMO_HOST": name,
            "USER": os.environ.get("USER", "demo"),
        }
        child = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            process.command or "bash",
            cwd=root,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        feeder = asyncio.create_task(_pump_in(process, child))
        await asyncio.gather(
            _pump_out(child.stdout, process.stdout), _pump_out(child.stderr, process.stderr)
        )
        code = await child.wait()
        feeder.cancel()
        if code < 0:
            process.exit_with_signal(signal.Signals(-code).name.removeprefix("SIG"))
        else:
            process.exit(code)

    return handle


class _JumpServer(asyncssh.SSHServer):
    """Lets a demo host act as a jump host, to loopback addresses only."""

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        return dest_host in ("127.0.0.1", "localhost", "::1")


async def start_host(name: str, folder: Path, client_key: asyncssh.SSHKey) -> DemoHost:
    """Start one embedded host on a random loopback port."""
    root = folder / "hosts" / name
    root.mkdir(parents=True, exist_ok=True)
    shims = _shim_dir(folder)
    key = asyncssh.generate_private_key("ssh-ed25519")
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
    acceptor = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_factory=_JumpServer,
        server_host_keys=[key],
        authorized_client_keys=authorized,
        process_factory=_handler(root, shims, name),
        sftp_factory=True,
        allow_scp=False,
        encoding=None,
        agent_forwarding=False,
        x11_forwarding=False,
        config=[],
    )
    return DemoHost(name, acceptor.get_port(), root, key, acceptor)
