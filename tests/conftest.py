"""Shared fixtures: a real OpenSSH sshd on loopback, and inventories that point at it."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)],
                   check=True)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class Sshd:
    """A running sshd: its port, keys and a known_hosts file that trusts it."""

    port: int
    folder: Path
    host_key: str
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen[bytes]
    user: str

    def known_line(self) -> str:
        """This server's known_hosts line."""
        return f"[127.0.0.1]:{self.port} {self.host_key.split()[0]} {self.host_key.split()[1]}\n"


def start_sshd(folder: Path) -> Sshd:
    """Start OpenSSH's sshd on a free loopback port with generated keys and its own config."""
    folder.mkdir(parents=True, exist_ok=True)
    host_key = _keygen(folder / "host_ed25519")
    client_pub = _keygen(folder / "client_ed25519")
    (folder / "authorized_keys").write_text(client_pub + "\n")
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(textwrap.dedent(f"""\
        Port {port}
        ListenAddress 127.0.0.1
        HostKey {folder}/host_ed25519
        PidFile {folder}/sshd.pid
        AuthorizedKeysFile {folder}/authorized_keys
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PubkeyAuthentication yes
        PermitRootLogin prohibit-password
        AllowAgentForwarding no
        MaxStartups 2000:30:2000
        MaxSessions 1000
        LogLevel ERROR
        Subsystem sftp internal-sftp
        """))
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=open(folder / "sshd.log", "wb"))
    _wait_for_port(port, process, folder)
    known = folder / "known_hosts"
    server = Sshd(port, folder, host_key, folder / "client_ed25519", known, process, getpass.getuser())
    known.write_text(server.known_line())
    return server


def _wait_for_port(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(folder / 'sshd.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not start listening within 15s")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """One real sshd for the whole session (tests point many inventory hosts at it)."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.process.terminate()
    server.process.wait(10)


@dataclass
class Estate:
    """An inventory and pipelines folder written for a test, and the store to use."""

    root: Path
    inventory: Path
    pipelines: Path
    store: Path
    work: Path

    def cli(self, *args: str) -> list[str]:
        """Arguments for `console.cli.main` with this estate's files."""
        return [*args, "--inventory", str(self.inventory), "--store", str(self.store)]

    def pipeline(self, name: str, text: str) -> None:
        """Write a pipeline file."""
        (self.pipelines / f"{name}.toml").write_text(textwrap.dedent(text))


def write_estate(root: Path, sshd: Sshd, hosts: int = 3, extra: str = "", host_extra: str = "") -> Estate:
    """An inventory of `hosts` hosts h1..hN, all served by the test sshd."""
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    pipelines = root / "pipelines"
    pipelines.mkdir(exist_ok=True)
    lines = [
        "[inventory]", 'name = "test estate"', 'pipelines = "pipelines"', "",
        "[ssh]", f'user = "{sshd.user}"', f'known_hosts = "{sshd.known_hosts}"',
        f'identity_file = "{sshd.client_key}"', 'connect_timeout = "5s"', "",
        "[environments.test]", "approvals = 1", "",
        "[groups.all]", 'environment = "test"', f'vars = {{ work = "{work}" }}', "",
    ]
    for i in range(1, hosts + 1):
        lines += [f"[hosts.h{i}]", 'address = "127.0.0.1"', f"port = {sshd.port}",
                  'groups = ["all"]', f'labels = {{ n = "{i}" }}', host_extra, ""]
    inventory = root / "inventory.toml"
    inventory.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
    return Estate(root, inventory, pipelines, root / "store.db", work)


@pytest.fixture
def estate(tmp_path: Path, sshd: Sshd) -> Estate:
    """Three hosts on the test sshd."""
    return write_estate(tmp_path, sshd)
