"""A real OpenSSH sshd on loopback with generated keys, for the tests and the benchmarks."""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import socket
import subprocess
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TEST_USER = "opsconsole-ssh"
"""The account sessions log in as when the tests run as root: a plain login with no rc files,
like a deploy account, rather than root (whose shell startup on a build machine may be slow)."""


def login_user() -> str:
    """The account the test sshd lets in: a dedicated one under root, else the current user."""
    if os.geteuid() != 0:
        return getpass.getuser()
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        home = Path("/var/lib") / TEST_USER
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                str(home),
                "--shell",
                "/bin/bash",
                TEST_USER,
            ],
            check=True,
        )
        subprocess.run(
            ["usermod", "--password", "*", TEST_USER], check=True
        )  # no password, not locked
        home.mkdir(mode=0o755, exist_ok=True)
        shutil.chown(home, TEST_USER, TEST_USER)
    return TEST_USER


def share(path: Path) -> Path:
    """Let the login user write in `path` (and reach it) when that user is not this process's."""
    if os.geteuid() == 0:
        path.chmod(0o777)
        for parent in path.parents:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    return path


def reach(path: Path) -> Path:
    """Let every account look up names in `path` and its parents, but not write there."""
    for folder in [path, *path.parents]:
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o011)
    return path


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)], check=True
    )
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


def start_sshd(folder: Path, extra: str = "", sftp_log: bool = False) -> Sshd:
    """Start OpenSSH's sshd on a free loopback port with generated keys and its own config;
    `extra` lines are added to it, and `sftp_log` logs every file SFTP opens and closes (with
    the bytes read and written) to its log."""
    folder.mkdir(parents=True, exist_ok=True)
    host_key = _keygen(folder / "host_ed25519")
    client_pub = _keygen(folder / "client_ed25519")
    (folder / "authorized_keys").write_text(client_pub + "\n")
    if os.geteuid() == 0:  # sshd reads authorized_keys as the login user
        share(folder)
        folder.chmod(0o755)
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        textwrap.dedent(f"""\
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
        AllowAgentForwarding yes
        MaxStartups 2000:30:2000
        MaxSessions 1000
        LogLevel ERROR
        Subsystem sftp {_sftp_logger(folder) if sftp_log else "internal-sftp"}
        """)
        + extra
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with open(folder / "sshd.log", "wb") as log:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)
    _wait_for_port(port, process, folder)
    known = folder / "known_hosts"
    server = Sshd(port, folder, host_key, folder / "client_ed25519", known, process, login_user())
    known.write_text(server.known_line())
    return server


SFTP_SERVER = "/usr/lib/openssh/sftp-server"


def _sftp_logger(folder: Path) -> Path:
    """An SFTP subsystem that logs each file's opening and closing to `folder/sftp.log`."""
    log = folder / "sftp.log"
    log.touch()
    log.chmod(0o666)
    wrapper = folder / "sftp-logged"
    wrapper.write_text(f"#!/bin/sh\nexec {SFTP_SERVER} -e -l INFO 2>>{log}\n")
    wrapper.chmod(0o755)
    return wrapper


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
