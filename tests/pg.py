"""A private PostgreSQL cluster for the tests and the benchmarks: initdb in a temporary folder,
its own Unix socket and no TCP, run by an unprivileged account, stopped afterwards.

Log-ins are by peer authentication, as on a bastion: each OS account is the role of the same
name, so a test that wants to act as a second operator forks a process of that account.
Under root the cluster runs as a system account of its own (initdb refuses root), and root
may also log in as that account's role: the database administrator of the tests.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CLUSTER_USER = "opsconsole-pg"
"""The account that owns and runs the cluster when the tests run as root."""


def pg_bin(name: str) -> str:
    """A PostgreSQL server program (Debian keeps them off PATH, by version)."""
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server (tools/test does)")
    return found if isinstance(found, str) else found[0]


def cluster_user() -> str:
    """Who runs the cluster: a system account of its own under root, else this account."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(CLUSTER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                CLUSTER_USER,
            ],
            check=True,
        )
    return CLUSTER_USER


@dataclass
class Cluster:
    """A running cluster: its socket folder and the role of its superuser."""

    folder: Path
    socket: Path
    superuser: str
    process_user: str

    def dsn(self, user: str | None = None, database: str = "opsconsole") -> str:
        """A connection URI for a role (the superuser by default; "" for none: whoever
        connects logs in as their own account's role) over the cluster's socket."""
        role = self.superuser if user is None else user
        return f"postgresql:///{database}?host={self.socket}" + (f"&user={role}" if role else "")

    def create_database(self, name: str) -> None:
        """A new, empty database."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(database="postgres"), autocommit=True) as db:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def psql(self, user: str, database: str, statement: str) -> subprocess.CompletedProcess[str]:
        """One statement through psql as an OS account (peer authentication: that account's
        role), as a person at a shell would."""
        argv = [
            "psql",
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            self.dsn(user, database),
            "-c",
            statement,
        ]
        if os.geteuid() == 0 and user != pwd.getpwuid(0).pw_name:
            argv = ["runuser", "-u", user, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, cwd="/")

    def stop(self) -> None:
        """Stop the server at once (its data is thrown away with the folder)."""
        _as(
            self.process_user,
            [pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
        )


def start_cluster(folder: Path, durable: bool = False) -> Cluster:
    """initdb a cluster in `folder`, start it and create the `opsconsole` database; unless
    `durable`, it does not wait for the disk (tests throw it away)."""
    user = cluster_user()
    folder.mkdir(parents=True, exist_ok=True)
    data, socket = folder / "data", folder / "socket"
    socket.mkdir(exist_ok=True)
    for path in (folder, socket):
        path.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(path, user)
    _reach(folder)
    _as(
        user,
        [
            pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            user,
            "-A",
            "peer",
            "-E",
            "UTF8",
            "--no-instructions",
        ],
    )
    me = pwd.getpwuid(os.geteuid()).pw_name
    (data / "pg_hba.conf").write_text("local all all peer map=people\n")
    ident = f"people {me} {user}\npeople /^(.*)$ \\1\n"  # the tests' account is the DBA too
    (data / "pg_ident.conf").write_text(ident)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = ''\nunix_socket_directories = '{socket}'\n"
            "max_connections = 200\n" + ("" if durable else "fsync = off\nfull_page_writes = off\n")
        )
    log = folder / "server.log"
    _as(user, [pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start"])
    cluster = Cluster(folder, socket, user, user)
    _wait(cluster)
    return cluster


def _as(user: str, argv: list[str]) -> None:
    """Run a server program as the cluster's account, its output to a log, no fds inherited."""
    if os.geteuid() == 0 and user != "root":
        argv = ["runuser", "-u", user, "--", *argv]
    subprocess.run(
        argv,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        close_fds=True,
    )


def _reach(path: Path) -> None:
    """Let every account look up names down to `path` (the socket is inside it)."""
    for folder in [path, *path.parents]:
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o011)


def _wait(cluster: Cluster, timeout: float = 30.0) -> None:
    """Create the database once the server takes connections."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            [
                pg_bin("psql") if shutil.which("psql") is None else "psql",
                "-X",
                "-q",
                "-h",
                str(cluster.socket),
                "-U",
                cluster.superuser,
                "-d",
                "postgres",
                "-c",
                "CREATE DATABASE opsconsole",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the test cluster did not start: {done.stderr.strip()}")
        time.sleep(0.1)
