"""Promotion rules: an environment takes only what succeeded in an earlier one (the same
pipeline, the same values of the params named, recently enough), checked before any host
is touched, and the run that met the rule recorded with the launch."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from console import events as ev
from console.store import open_store
from tests.conftest import Estate, write_estate
from tests.helpers import run_cli, state_of
from tests.sshd import Sshd

LIVE = """
    [environments.live]
    approvals = 1
    requires = { environment = "test", same = ["version"], within = "14d" }

    [groups.live]
    environment = "live"

    [hosts.q1]
    address = "127.0.0.1"
    port = {port}
    groups = ["live"]
"""

SHIP = """
    name = "ship"
    targets = ["all", "live"]
    [params.version]
    type = "string"
    required = true
    [params.fail]
    type = "bool"
    default = false
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "install"
      run = "echo installing {{ version }} on {{ host.name }}; test {{ fail }} = false"
"""

TOUCH = """
    name = "touch"
    targets = ["all", "live"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "t"
      run = "true"
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def promoting(tmp_path: Path, sshd: Sshd, request: pytest.FixtureRequest) -> Estate:
    """Hosts in `test` and one in `live`, which takes only what succeeded in test."""
    made = write_estate(tmp_path, sshd, hosts=2, extra=LIVE.replace("{port}", str(sshd.port)))
    made.pipeline("ship", SHIP)
    made.pipeline("touch", TOUCH)
    if request.param == "postgresql":
        from dataclasses import replace

        made = replace(made, store=request.getfixturevalue("team_store"))
    return made


def _runs(estate: Estate) -> int:
    with open_store(estate.store) as store:
        return len(store.runs())


def test_live_takes_only_a_version_that_succeeded_in_test(promoting: Estate, capsys) -> None:
    estate = promoting
    assert run_cli(estate, "run", "ship", "-p", "version=1.0", "--env", "live") == 2
    said = capsys.readouterr().err
    assert (
        "ship version=1.0 has not succeeded in test in the last 14 days, and live takes only "
        "what did; launch it into test first"
    ) in said
    assert _runs(estate) == 0  # refused before anything was recorded or any host touched

    assert run_cli(estate, "run", "ship", "-p", "version=1.0", "--env", "test") == 0
    tested = state_of(estate).id
    assert run_cli(estate, "run", "ship", "-p", "version=2.0", "--env", "live") == 2
    assert "ship version=2.0 has not succeeded in test" in capsys.readouterr().err
    assert (
        run_cli(estate, "run", "ship", "-p", "version=3.0", "-p", "fail=true", "--env", "test") == 1
    )
    assert run_cli(estate, "run", "ship", "-p", "version=3.0", "--env", "live") == 2
    assert "ship version=3.0 has not succeeded in test" in capsys.readouterr().err
    assert run_cli(estate, "run", "touch", "--env", "live") == 0  # no version: not held

    assert run_cli(estate, "run", "ship", "-p", "version=1.0", "--env", "live") == 0
    live = state_of(estate)
    assert live.status == "succeeded"
    met = live.launched.promotion["live"]
    assert met["environment"] == "test" and met["run"] == tested
    assert met["same"] == {"version": "1.0"}
    with open_store(estate.store) as store:
        record = store.last_audit("run_launched", live.id)
    assert record is not None and record.details["promotion"]["live"]["run"] == tested
    capsys.readouterr()
    assert run_cli(estate, "show", live.id) == 0
    assert f"promoted  live: test run {tested} succeeded first (version=1.0, 20" in (
        capsys.readouterr().out
    )


def test_a_success_older_than_the_rule_allows_does_not_count(promoting: Estate, capsys) -> None:
    """A run of version 4.0 that succeeded in test twenty days ago (written through the
    store's own append) is too old for a rule of fourteen days; a fresh one counts."""
    import dataclasses

    estate = promoting
    assert run_cli(estate, "run", "ship", "-p", "version=9.0", "--env", "test") == 0
    launched = state_of(estate).launched
    assert launched is not None
    old = time.time() - 20 * 86400
    aged = dataclasses.replace(
        launched,
        run_id="20261101-000000-0ld4",
        at=old,
        params={**launched.params, "version": "4.0"},
    )
    with open_store(estate.store) as store:
        store.create_run(aged, "")
        store.append([ev.RunFinished(run_id=aged.run_id, at=old + 60, status="succeeded")])
    assert run_cli(estate, "run", "ship", "-p", "version=4.0", "--env", "live") == 2
    assert "ship version=4.0 has not succeeded in test in the last 14 days" in (
        capsys.readouterr().err
    )
    assert run_cli(estate, "run", "ship", "-p", "version=4.0", "--env", "test") == 0
    fresh = state_of(estate).id
    assert run_cli(estate, "run", "ship", "-p", "version=4.0", "--env", "live") == 0
    assert state_of(estate).launched.promotion["live"]["run"] == fresh


def test_the_team_store_judges_promotion_whatever_the_client(
    tmp_path: Path,
    sshd: Sshd,
    pg_cluster,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    """A client that skips the check (its own connection, the store's own create_run) is
    refused by the database when the published policy holds the launch to a rule: a launch
    naming no run, or a run that does not meet the rule, is not recorded."""
    import dataclasses

    import psycopg

    from console.cli import main
    from console.errors import StoreError
    from console.identity import current_operator
    from console.store import pgadmin

    pg_cluster.create_database("promoted")
    admin = pg_cluster.dsn(database="promoted")
    assert main(["store", "init", "--store", admin]) == 0
    pgadmin.grant(admin, current_operator(), admin=True)
    estate = write_estate(tmp_path, sshd, hosts=2, extra=LIVE.replace("{port}", str(sshd.port)))
    estate.pipeline("ship", SHIP)
    team = dataclasses.replace(estate, store=pg_cluster.dsn(user="", database="promoted"))
    try:
        assert run_cli(team, "policy", "publish") == 0
    finally:  # roles are the cluster's: an admin here would be one in every other test's store
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f'REVOKE opsconsole_admins FROM "{current_operator()}"')
    assert run_cli(team, "run", "ship", "-p", "version=1.0", "--env", "test") == 0
    tested = state_of(team).id
    assert run_cli(team, "run", "ship", "-p", "version=1.0", "--env", "live") == 0  # honest
    honest = state_of(team).launched
    assert honest is not None and honest.promotion["live"]["run"] == tested

    def forged(run_id: str, version: str, promotion: dict[str, object]) -> ev.RunLaunched:
        assert honest is not None
        params = {**honest.params, "version": version}
        return dataclasses.replace(
            honest, run_id=run_id, at=time.time(), params=params, promotion=promotion
        )

    met = dict(honest.promotion["live"])
    for run_id, launch in (
        ("20261201-000000-nopr", forged("20261201-000000-nopr", "2.0", {})),
        ("20261201-000000-othr", forged("20261201-000000-othr", "2.0", {"live": met})),
    ):
        with open_store(team.store) as store, pytest.raises(StoreError) as refused:
            store.create_run(launch, "")
        assert "live takes only what succeeded in test first" in str(refused.value)
        with open_store(team.store) as store:
            assert run_id not in {r.id for r in store.runs()}
    # nor can plain SQL put a run in another way
    with psycopg.connect(team.store) as db, pytest.raises(psycopg.Error):
        db.execute("INSERT INTO opsconsole.runs (id, pipeline, created_at) VALUES ('x', 'ship', 0)")
