"""Shared fixtures: a real OpenSSH sshd on loopback, and inventories that point at it."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.identity import current_operator
from tests.pg import Cluster, start_cluster
from tests.sshd import Sshd, reach, share, start_sshd


@pytest.fixture(autouse=True)
def own_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A person's ~/.config/opsconsole must not reach the tests (nor the tests it)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """One real sshd for the whole session (tests point many inventory hosts at it)."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.process.terminate()
    server.process.wait(10)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One private PostgreSQL cluster for the whole session (each test its own database)."""
    from tests.sshd import login_user

    login_user()  # the second account the attacks come from exists whatever ran before
    cluster = start_cluster(tmp_path_factory.mktemp("pg"))
    yield cluster
    cluster.stop()


_databases = iter(range(1, 1_000_000))


@pytest.fixture
def team_store(pg_cluster: Cluster) -> str:
    """A new team store (a database of its own) set up by its administrator, with this
    account let in as an operator: the connection string operators use (no role in it: peer
    authentication makes each account its own role)."""
    from console.store import pgadmin

    name = f"store{next(_databases)}"
    pg_cluster.create_database(name)
    pgadmin.init(pg_cluster.dsn(database=name))
    pgadmin.grant(pg_cluster.dsn(database=name), current_operator())
    return pg_cluster.dsn(user="", database=name)  # each account logs in as its own role


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


def write_estate(
    root: Path, sshd: Sshd, hosts: int = 3, extra: str = "", host_extra: str = ""
) -> Estate:
    """An inventory of `hosts` hosts h1..hN, all served by the test sshd."""
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    reach(root)  # the login user reaches `work`; nobody else may write beside the inventory
    share(work)
    pipelines = root / "pipelines"
    pipelines.mkdir(exist_ok=True)
    lines = [
        "[inventory]",
        'name = "test estate"',
        'pipelines = "pipelines"',
        "",
        "[ssh]",
        f'user = "{sshd.user}"',
        f'known_hosts = "{sshd.known_hosts}"',
        f'identity_file = "{sshd.client_key}"',
        'connect_timeout = "5s"',
        "",
        "[environments.test]",
        "approvals = 1",
        "",
        f"[operators.{current_operator()}]",
        'roles = ["ops"]',
        "",
        "[groups.all]",
        'environment = "test"',
        f'vars = {{ work = "{work}" }}',
        "",
    ]
    for i in range(1, hosts + 1):
        lines += [
            f"[hosts.h{i}]",
            'address = "127.0.0.1"',
            f"port = {sshd.port}",
            'groups = ["all"]',
            f'labels = {{ n = "{i}" }}',
            host_extra,
            "",
        ]
    inventory = root / "inventory.toml"
    inventory.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
    return Estate(root, inventory, pipelines, root / "store.db", work)


@pytest.fixture
def estate(tmp_path: Path, sshd: Sshd, request: pytest.FixtureRequest) -> Estate:
    """Three hosts on the test sshd, and a SQLite store; a team store in PostgreSQL instead
    for a test marked `on_each_store` in its second round."""
    made = write_estate(tmp_path, sshd)
    if getattr(request, "param", "sqlite") == "postgresql":
        from dataclasses import replace

        made = replace(made, store=request.getfixturevalue("team_store"))
    return made


on_each_store = pytest.mark.parametrize("estate", ["sqlite", "postgresql"], indirect=True)
"""Run a test that uses `estate` on a SQLite file and again on a team store."""
