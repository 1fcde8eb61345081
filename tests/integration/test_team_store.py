"""The team store as a co-operator would attack it: their own account on the bastion, their own
role in the database, plain SQL through psql. Each attack is refused by the database, and the
audit trail verifies intact afterwards."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from console import events as ev
from console.audit import canonical, utc
from console.identity import current_operator
from console.model.load import load_config
from console.ops.audit import check_trail
from console.store import open_store, pgadmin
from console.store.pgschema import MIGRATIONS
from tests.conftest import Estate
from tests.helpers import SECOND_ACCOUNT, run_cli, state_of, wait_for
from tests.pg import Cluster
from tests.sshd import Sshd

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as a second account needs root to switch to it"
)

ME = current_operator()


def _database(dsn: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])


def _launched(run_id: str, operator: str) -> ev.RunLaunched:
    return ev.RunLaunched(
        run_id=run_id,
        at=time.time(),
        pipeline="deploy",
        pipeline_digest="a" * 64,
        pipeline_path="p.toml",
        inventory_path="i.toml",
        inventory_digest="b" * 64,
        params={},
        targets=["h1"],
        environments=["prod"],
        operator=operator,
        stages=[],
    )


@pytest.fixture
def shared(team_store: str, pg_cluster: Cluster) -> tuple[str, str]:
    """A team store with a run of ours in it, and the second account let in as an operator."""
    name = _database(team_store)
    pgadmin.grant(pg_cluster.dsn(database=name), SECOND_ACCOUNT)
    with open_store(team_store) as store:
        store.create_run(_launched("r1", ME), "")
        store.append([ev.StepStarted(run_id="r1", at=time.time(), stage="s", step="w", host="h1")])
    return team_store, name


def _intact(dsn: str) -> None:
    with open_store(dsn) as store:
        found = check_trail(store, None)
    assert found.verdict.intact, found.verdict.problem
    assert not found.unrecorded


ATTACKS = {
    "edit an event": "UPDATE opsconsole.events SET data = '{}' WHERE id = 1",
    "delete an event": "DELETE FROM opsconsole.events",
    "empty the events": "TRUNCATE opsconsole.events",
    "empty the audit trail": "TRUNCATE opsconsole.audit",
    "edit an audit record": "UPDATE opsconsole.audit SET actor = 'nobody'",
    "drop a guard": "DROP TRIGGER events_append_only ON opsconsole.events",
    "switch the guards off": "ALTER TABLE opsconsole.events DISABLE TRIGGER ALL",
    "silence every trigger": "SET session_replication_role = replica",
    "become the owner": "SET ROLE opsconsole_owner",
    "join the admins": 'GRANT opsconsole_admins TO "opsconsole-ssh"',
    "add a table": "CREATE TABLE opsconsole.mine (x int)",
    "write a record with a hash of one's own": (
        "INSERT INTO opsconsole.audit VALUES (99, '2026-01-01T00:00:00.000000Z', 'alice', "
        "'gate_approved', 'r1/cb', '{}', 'x', 'y')"
    ),
    "chain a record directly": (
        'SELECT opsconsole.chain(\'[{"at": "2026-01-01T00:00:00.000000Z", "action": '
        '"gate_approved", "subject": "r1/cb", "details": "{}"}]\'::jsonb)'
    ),
    "insert a decision directly": (
        "INSERT INTO opsconsole.events (run_id, at, kind, version, host, stage, step, data) "
        "VALUES ('r1', 1, 'gate_decided', 1, null, 'approval', 'cb', "
        '\'{"actor": "root", "decision": "approve"}\')'
    ),
    "add output to someone else's run": (
        "INSERT INTO opsconsole.events (run_id, at, kind, version, host, stage, step, data, "
        "blob) VALUES ('r1', 1, 'output', 1, 'h1', 's', 'w', 'stdout', 'fake')"
    ),
    "keep a file under a digest it does not have": (
        "SELECT opsconsole.keep_files('{\"" + "0" * 64 + '": "ZmFrZQ=="}\'::jsonb)'
    ),
    "read the server's files": "SELECT pg_read_file('/etc/passwd')",
    "name someone else as a row's actor": (
        "INSERT INTO opsconsole.events (run_id, at, kind, version, data, actor) "
        "VALUES ('r1', 1, 'output', 1, 'stdout', 'root')"
    ),
    "end someone else's run as succeeded": (
        'SELECT opsconsole.append_events(\'r1\', NULL, \'[{"run_id": "r1", "at": 1, '
        '"kind": "run_finished", "version": 1, "data": {"status": '
        '"succeeded", "message": ""}}]\'::jsonb, \'[]\'::jsonb)'
    ),
    "say a file reached its hosts in someone else's run": (
        'SELECT opsconsole.append_events(\'r1\', NULL, \'[{"run_id": "r1", "at": 1, '
        '"kind": "file_transferred", "version": 1, "stage": "s", "step": "w", "data": '
        '{"stage": "s", "step": "w", "source": "h1:/x", "size": 1, "sha256": "", '
        '"destinations": {"h2": {"path": "/x", "result": "ok", "resumed_from": 0}}}}]\'::jsonb, '
        '\'[{"at": "2026-01-01T00:00:00.000000Z", "action": "file_transferred", '
        '"subject": "r1/w", "details": "{}"}]\'::jsonb)'
    ),
    "close someone else's gate as approved": (
        'SELECT opsconsole.append_events(\'r1\', NULL, \'[{"run_id": "r1", "at": 1, '
        '"kind": "gate_closed", "version": 1, "stage": "approval", "step": '
        '"cb", "data": {"stage": "approval", "step": "cb", "outcome": '
        "\"approved\"}}]'::jsonb, '[]'::jsonb)"
    ),
    "decide a gate with no record on the trail": (
        'SELECT opsconsole.append_events(\'r1\', NULL, \'[{"run_id": "r1", "at": 1, '
        '"kind": "gate_decided", "version": 1, "stage": "approval", "step": "cb", "data": '
        '{"stage": "approval", "step": "cb", "decision": "approve", "actor": "x"}}]\'::jsonb, '
        "'[]'::jsonb)"
    ),
    "chain a record the verifier cannot recompute": (
        'SELECT opsconsole.record_audit(\'[{"at": "2026-01-01T00:00:00.000000Z", "action": '
        '"audit_exported", "subject": "r1", "details": "{\\"b\\": 1, \\"a\\": 2}"}]\'::jsonb)'
    ),
    "put an approval on the trail with no event": (
        'SELECT opsconsole.record_audit(\'[{"at": "2026-01-01T00:00:00.000000Z", "action": '
        '"gate_approved", "subject": "r1/cb", "details": "{}"}]\'::jsonb)'
    ),
    "hold a run's runner lock to make it look alive": (
        "SELECT pg_advisory_lock(7261002, hashtext('r1'))"
    ),
    "hold the write lock to stop every write": "SELECT pg_advisory_lock(7261001)",
    "hold someone else's run through the store": "SELECT opsconsole.hold_run('r1')",
    "append to a run that is not there": (
        'SELECT opsconsole.append_events(\'nope\', NULL, \'[{"run_id": "nope", "at": 1, '
        '"kind": "cancel_requested", "version": 1, "data": {}}]\'::jsonb, \'[]\'::jsonb)'
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_operator_cannot_change_or_forge_the_record(
    shared: tuple[str, str], pg_cluster: Cluster, attack: str
) -> None:
    dsn, name = shared
    before = pg_cluster.psql(ME, name, "SELECT count(*), max(id) FROM opsconsole.events").stdout
    done = pg_cluster.psql(SECOND_ACCOUNT, name, ATTACKS[attack])
    assert done.returncode != 0, f"{attack}: {done.stdout}"
    assert "ERROR" in done.stderr
    after = pg_cluster.psql(ME, name, "SELECT count(*), max(id) FROM opsconsole.events").stdout
    assert after == before
    _intact(dsn)


def test_a_decision_names_whoever_made_it_whatever_the_client_says(
    shared: tuple[str, str], pg_cluster: Cluster
) -> None:
    """The second operator appends an approval in our name, dated a year back, through the
    one write path they have: it is recorded as theirs, at the server's time, in the event and
    in its audit record alike."""
    dsn, name = shared
    forged = {
        "run_id": "r1",
        "at": time.time() - 365 * 86400,
        "kind": "gate_decided",
        "version": ev.VERSION,
        "stage": "approval",
        "step": "cb",
        "data": {
            "stage": "approval",
            "step": "cb",
            "decision": "approve",
            "actor": ME,
            "reason": "looks fine",
            "ticket": "",
            "plan_digest": "c" * 64,
        },
    }
    entry = {
        "at": "2025-12-01T00:00:00.000000Z",
        "action": "gate_approved",
        "subject": "r1/cb",
        "details": canonical({"reason": "looks fine", "ticket": ""}).decode(),
    }
    statement = (
        "SELECT opsconsole.append_events('r1', NULL, "
        f"'{json.dumps([forged])}'::jsonb, '{json.dumps([entry])}'::jsonb)"
    )
    done = pg_cluster.psql(SECOND_ACCOUNT, name, statement)
    assert done.returncode == 0, done.stderr
    with open_store(dsn) as store:
        decided = store.read("r1", kinds=("gate_decided",))
        records = store.audit_records()
    assert len(decided) == 1 and isinstance(decided[0].event, ev.GateDecided)
    assert decided[0].event.actor == SECOND_ACCOUNT
    assert records[-1].action == "gate_approved" and records[-1].actor == SECOND_ACCOUNT
    assert abs(decided[0].event.at - time.time()) < 60  # the server's clock, not theirs
    assert records[-1].at == utc(decided[0].event.at)
    _intact(dsn)  # the chain the database made holds, and the record matches its event


def test_a_launch_in_someone_elses_name_is_recorded_as_the_launchers(team_store: str) -> None:
    with open_store(team_store) as store:
        store.create_run(_launched("r2", "carol"), "")
        launched = store.read("r2")[0].event
        record = store.audit_records()[-1]
    assert isinstance(launched, ev.RunLaunched) and launched.operator == ME
    assert record.actor == ME


def test_a_revoked_operator_can_no_longer_log_in(
    shared: tuple[str, str], pg_cluster: Cluster
) -> None:
    _, name = shared
    assert pg_cluster.psql(SECOND_ACCOUNT, name, "SELECT 1").returncode == 0
    pgadmin.revoke(pg_cluster.dsn(database=name), SECOND_ACCOUNT)
    refused = pg_cluster.psql(SECOND_ACCOUNT, name, "SELECT 1")
    assert refused.returncode != 0 and "not permitted to log in" in refused.stderr


ONE = """
    name = "one"
    targets = ["all"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "who"
      run = "echo {{ host.name }}; echo to stderr >&2"
"""


def test_runs_work_on_the_team_store_as_on_a_file(
    estate: Estate, pg_cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its administrator sets it up with the CLI; a run here and a detached run go through
    it; show, logs and audit verify read it."""
    from console.cli import main

    pg_cluster.create_database("clirun")
    admin = pg_cluster.dsn(database="clirun")
    assert main(["store", "init", "--store", admin]) == 0
    assert main(["store", "init", "--store", admin]) == 0  # again: nothing to do
    assert main(["store", "grant", ME, "--store", admin]) == 0
    out = capsys.readouterr().out
    assert (
        f"schema 0 → {len(MIGRATIONS)}" in out
        and "already current" in out
        and f"{ME} is an operator" in out
    )
    team = replace(estate, store=pg_cluster.dsn(user=ME, database="clirun"))
    team.pipeline("one", ONE)
    assert run_cli(team, "run", "one") == 0
    assert run_cli(team, "run", "one", "--detach") == 0
    wait_for(lambda: state_of(team).status == "succeeded", what="the detached run")
    capsys.readouterr()
    assert run_cli(team, "logs", "last") == 0
    assert "h1 who| h1" in capsys.readouterr().out
    assert run_cli(team, "audit", "verify") == 0
    assert "intact" in capsys.readouterr().out


def test_store_commands_want_a_team_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    assert main(["store", "init", "--store", str(tmp_path / "s.db")]) == 2
    assert "works on a team store (a PostgreSQL connection string" in capsys.readouterr().err


def test_a_files_history_is_copied_into_the_team_store_ids_and_chain_as_they_were(
    estate: Estate, pg_cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    estate.pipeline("one", ONE)
    assert run_cli(estate, "run", "one") == 0
    assert run_cli(estate, "run", "one") == 0
    with open_store(estate.store) as old:
        before = [(e.id, e.event) for e in old.read_all(0)]
        chain = old.audit_records()
    pg_cluster.create_database("copied")
    admin = pg_cluster.dsn(database="copied")
    assert main(["store", "init", "--store", admin]) == 0
    assert main(["store", "grant", ME, "--store", admin]) == 0
    capsys.readouterr()
    assert main(["store", "copy", "--from", str(estate.store), "--to", admin]) == 0
    said = capsys.readouterr().out
    assert "audit trail intact" in said and f"{len(chain)} records" in said
    team = replace(estate, store=pg_cluster.dsn(user=ME, database="copied"))
    with open_store(team.store) as new:
        assert [(e.id, e.event) for e in new.read_all(0)] == before
        assert new.audit_records() == chain
    assert run_cli(team, "run", "one") == 0  # and the team store goes on from there
    assert run_cli(team, "audit", "verify") == 0
    assert main(["store", "copy", "--from", str(estate.store), "--to", admin]) == 2
    assert "already holds a history" in capsys.readouterr().err


def test_a_file_whose_trail_is_broken_is_not_copied(
    estate: Estate, pg_cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    from console.cli import main

    estate.pipeline("one", ONE)
    assert run_cli(estate, "run", "one") == 0
    db = sqlite3.connect(estate.store)  # what a co-user with write access to a file can do
    db.executescript(
        "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'someone' WHERE seq = 1;"
    )
    db.close()
    pg_cluster.create_database("broken")
    admin = pg_cluster.dsn(database="broken")
    assert main(["store", "init", "--store", admin]) == 0
    capsys.readouterr()
    assert main(["store", "copy", "--from", str(estate.store), "--to", admin]) == 2
    assert "the file's audit trail does not verify, so nothing was copied" in (
        capsys.readouterr().err
    )
    counted = pg_cluster.psql(
        pg_cluster.superuser, "broken", "SELECT count(*) FROM opsconsole.events"
    )
    assert counted.stdout == "0\n", counted.stderr


HOLDER = """
import sys, time
from console.store import open_store
store = open_store(sys.argv[1])
store.hold_run(sys.argv[2])
print("holding", flush=True)
time.sleep(600)
"""


def test_whether_a_runner_lives_is_known_from_any_machine(team_store: str) -> None:
    """A run whose runner says it is on another machine: the team store knows whether it lives
    by the lock its session holds, where looking for its process here could not tell."""
    import signal
    import subprocess
    import sys

    from console.ops.runs import read_state

    with open_store(team_store) as store:
        store.create_run(_launched("r1", ME), "")
        started = ev.RunStarted(run_id="r1", at=time.time(), pid=os.getpid(), node="bastion-2")
        store.append([started])
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, team_store, "r1"], stdout=subprocess.PIPE
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
            assert read_state(store, "r1").status == "running"  # its session holds the lock
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait()
        deadline = time.monotonic() + 10
        while read_state(store, "r1").status != "interrupted" and time.monotonic() < deadline:
            time.sleep(0.05)  # the server ends the dead process's session and its lock
        state = read_state(store, "r1")
        assert state.status == "interrupted" and state.interrupted is not None
        assert state.interrupted.node == "bastion-2"


def test_a_second_operator_approves_a_prod_change_through_their_own_role(
    tmp_path: Path, sshd: Sshd, team_store: str, pg_cluster: Cluster
) -> None:
    """Launched by one account, refused to its launcher, approved by another account whose
    connection is its own role; the run finishes and the record names each of them."""
    from tests.helpers import fork_as, show_json, spawn_cli
    from tests.integration.test_approvals import _launch, prod_with_a_second_approver

    pgadmin.grant(pg_cluster.dsn(database=_database(team_store)), SECOND_ACCOUNT)
    estate = replace(prod_with_a_second_approver(tmp_path, sshd), store=team_store)
    run_id = _launch(estate, confirm="prod")
    own = spawn_cli(estate, "approve", run_id)
    assert own.returncode == 2 and "cannot approve its gates in prod" in own.stderr
    posing = fork_as(
        SECOND_ACCOUNT, [*estate.cli("approve", run_id), "--store", f"{team_store}&user={ME}"]
    )
    code, _, err = posing.result()  # naming the launcher's role gets them nowhere
    assert code == 2 and f'Peer authentication failed for user "{ME}"' in err
    code, _, err = fork_as(
        SECOND_ACCOUNT, estate.cli("approve", run_id, "--reason", "reviewed")
    ).result()
    assert code == 0, err
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the run")
    with open_store(team_store) as store:
        records = [(r.action, r.actor) for r in store.audit_records()]
        found = check_trail(store, None)
    assert ("run_launched", ME) in records and ("gate_approved", SECOND_ACCOUNT) in records
    assert found.verdict.intact and not found.unrecorded


def test_only_an_admin_publishes_the_policy_and_each_version_is_on_the_trail(
    estate: Estate, pg_cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main
    from console.policy import governing

    pg_cluster.create_database("governed")
    admin = pg_cluster.dsn(database="governed")
    assert main(["store", "init", "--store", admin]) == 0
    for user in (ME, SECOND_ACCOUNT):
        pgadmin.grant(admin, user)
    team = replace(estate, store=pg_cluster.dsn(user="", database="governed"))
    capsys.readouterr()
    assert run_cli(team, "policy", "publish") == 2
    assert f"only an admin of the team store may publish its policy ({ME} is not one)" in (
        capsys.readouterr().err
    )
    forged = pg_cluster.psql(SECOND_ACCOUNT, "governed", "SELECT opsconsole.publish_policy('{}')")
    assert forged.returncode != 0 and "only an admin" in forged.stderr
    pgadmin.grant(admin, ME, admin=True)
    assert run_cli(team, "policy", "publish") == 0
    assert "published the policy of" in capsys.readouterr().out
    team.inventory.write_text(team.inventory.read_text().replace("approvals = 1", "approvals = 2"))
    assert run_cli(team, "policy", "publish") == 0
    with open_store(team.store) as store:
        published = [r for r in store.audit_records() if r.action == "policy_published"]
        current = store.published_policy()
        assert check_trail(store, None).verdict.intact
    assert [r.actor for r in published] == [ME, ME]
    assert [r.details["policy"]["environments"]["test"]["approvals"] for r in published] == [1, 2]
    assert (
        current
        == published[-1].details["policy"]
        == governing(load_config(team.inventory).inventory)
    )


def test_a_launch_or_decision_with_an_inventory_that_differs_from_the_policy_is_refused(
    tmp_path: Path,
    sshd: Sshd,
    team_store: str,
    pg_cluster: Cluster,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The published policy governs, not whichever inventory a launcher points at: an
    operator who makes themselves a change-board member in a copy of their own is refused,
    with the difference shown, and nothing is launched or decided."""
    from tests.helpers import show_json, spawn_cli
    from tests.integration.test_approvals import _estate, _launch

    pgadmin.grant(pg_cluster.dsn(database=_database(team_store)), ME, admin=True)
    estate = replace(
        _estate(tmp_path, sshd, "approvals = 1\nself_approval = true"), store=team_store
    )
    assert run_cli(estate, "policy", "publish") == 0
    run_id = _launch(estate)  # the inventory as published
    honest = estate.inventory.read_text()
    estate.inventory.write_text(
        honest.replace('roles = ["ops"]', 'roles = ["ops", "change-board"]')
    )
    capsys.readouterr()
    assert run_cli(estate, "run", "gated") == 2
    said = capsys.readouterr().err
    assert (
        "this inventory's policy for test differs from the one published in the team store" in said
    )
    assert f"operators.{ME}.roles: published ['ops'], here ['change-board', 'ops']" in said
    assert len(json.loads(spawn_cli(estate, "runs", "--json").stdout)) == 1  # nothing launched
    refused = spawn_cli(estate, "approve", run_id, "--reason", "mine")
    assert refused.returncode == 2 and "differs from the one published" in refused.stderr
    assert not show_json(estate, run_id)["gates"][0]["decisions"]
    estate.inventory.write_text(honest)
    assert spawn_cli(estate, "approve", run_id, "--reason", "as published").returncode == 0
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the run")


def test_an_older_schema_is_upgraded_by_init_and_refused_in_words_until_then(
    pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.errors import StoreError
    from console.store import pgschema

    pg_cluster.create_database("older")
    admin = pg_cluster.dsn(database="older")
    monkeypatch.setattr(pgadmin, "MIGRATIONS", pgschema.MIGRATIONS[:1])  # an earlier release
    pgadmin.init(admin)
    pgadmin.grant(admin, ME)
    monkeypatch.undo()
    operator = pg_cluster.dsn(user="", database="older")
    latest = len(pgschema.MIGRATIONS)
    with pytest.raises(StoreError, match=f"has schema 1, this opsconsole needs {latest}: an admin"):
        open_store(operator)
    assert f"schema 1 → {latest}" in pgadmin.init(admin)
    with open_store(operator) as store:
        assert store.published_policy() is None


def _append_sql(kind: str, data: dict[str, object], run_id: str = "r1") -> str:
    """The append function called by hand, as a modified client would, with the audit record
    the event calls for."""
    event = {"run_id": run_id, "at": 1, "kind": kind, "version": 1, **data, "data": data}
    action, subject = kind, run_id
    if kind == "gate_decided":
        action = "gate_approved" if data["decision"] == "approve" else "gate_rejected"
        subject = f"{run_id}/cb"
    details = {"reason": data.get("reason", ""), "ticket": data.get("ticket", "")}
    entry = {
        "at": "2026-12-01T00:00:00.000000Z",
        "action": action,
        "subject": subject,
        "details": canonical(details).decode(),
    }
    return (
        f"SELECT opsconsole.append_events('{run_id}', NULL, '{json.dumps([event])}'::jsonb, "
        f"'{json.dumps([entry])}'::jsonb)"
    )


def _approval(decision: str = "approve") -> str:
    return _append_sql(
        "gate_decided",
        {
            "stage": "approval",
            "step": "cb",
            "decision": decision,
            "actor": "x",
            "reason": "r",
            "ticket": "",
        },
    )


def _publish(dsn: str, pg_cluster: Cluster, second_roles: list[str]) -> None:
    """Publish a policy for prod: ME launches and sits on the change board; the second
    account has the roles given."""
    pgadmin.grant(pg_cluster.dsn(database=_database(dsn)), ME, admin=True)
    prod = {"approver_roles": ["change-board"], "launch_roles": ["ops"], "self_approval": None}
    with open_store(dsn) as store:
        store.publish_policy(
            {
                "environments": {"prod": prod},
                "operators": {
                    ME: {"roles": ["change-board", "ops"], "ssh_public_key": None},
                    SECOND_ACCOUNT: {"roles": second_roles, "ssh_public_key": None},
                },
            }
        )


def test_the_database_judges_decisions_and_launches_by_the_published_policy(
    shared: tuple[str, str], pg_cluster: Cluster
) -> None:
    """A modified client gets no further than an honest one: with plain SQL the second account
    may not approve or reject without the approver role, launch, cancel or resume without the
    launch role, and the launcher may not approve their own prod change."""
    dsn, name = shared
    _publish(dsn, pg_cluster, ["observer"])
    data = {"environments": ["prod"], "operator": "x"}
    launch = json.dumps(
        [{"run_id": "r2", "at": 1, "kind": "run_launched", "version": 1, "data": data}]
    )
    attempts = {
        "approve": (SECOND_ACCOUNT, _approval(), "may not decide gates in prod"),
        "reject": (SECOND_ACCOUNT, _approval("reject"), "may not decide gates in prod"),
        "cancel": (
            SECOND_ACCOUNT,
            _append_sql("cancel_requested", {"reason": "mine"}),
            "may not launch, re-run, resume or cancel runs in prod",
        ),
        "launch": (
            SECOND_ACCOUNT,
            f"SELECT opsconsole.create_run('r2', 'deploy', 1, 'x', '', '{{}}', '{launch}', '[]')",
            "may not launch, re-run, resume or cancel runs in prod",
        ),
        "approve one's own": (ME, _approval(), f"{ME} launched this run and so cannot approve"),
    }
    for what, (who, statement, refusal) in attempts.items():
        done = pg_cluster.psql(who, name, statement)
        assert done.returncode != 0 and refusal in done.stderr, (what, done.stderr)
    decided = pg_cluster.psql(
        ME, name, "SELECT count(*) FROM opsconsole.events WHERE kind <> 'step_started'"
    )
    assert decided.stdout == "1\n"  # the launch alone
    _publish(dsn, pg_cluster, ["change-board"])  # once the board has them, their word stands
    done = pg_cluster.psql(SECOND_ACCOUNT, name, _approval())
    assert done.returncode == 0, done.stderr
    _intact(dsn)


def test_a_live_runner_cannot_be_declared_gone_or_its_run_taken_over(
    shared: tuple[str, str], pg_cluster: Cluster
) -> None:
    """While the launcher's runner holds its lock, the second account can neither record the
    run interrupted nor resume it (and then write its steps); once the runner is gone, it can."""
    import signal
    import subprocess
    import sys

    dsn, name = shared
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, dsn, "r1"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
        for kind in ("run_interrupted", "run_resumed"):
            done = pg_cluster.psql(
                SECOND_ACCOUNT, name, _append_sql(kind, {"node": "b2", "pid": 1})
            )
            assert done.returncode != 0 and "the runner of run r1 is alive" in done.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    gone = _append_sql("run_interrupted", {"node": "b2", "pid": 1})
    wait_for(lambda: pg_cluster.psql(SECOND_ACCOUNT, name, gone).returncode == 0, 10, "its end")
    _intact(dsn)


def test_a_service_name_the_environment_and_the_config_file_all_name_the_team_store(
    team_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`service=NAME` from a pg_service.conf, `OPSCONSOLE_STORE` and `store = "…"` in the
    user's config file each reach the same team store."""
    from console.cli import main

    parts = psycopg.conninfo.conninfo_to_dict(team_store)
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[ops]\nhost={parts['host']}\ndbname={parts['dbname']}\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    with open_store(team_store) as store:
        store.create_run(_launched("r1", ME), "")

    def listed(*args: str) -> list[str]:
        assert main(["runs", "--json", *args]) == 0
        return [run["id"] for run in json.loads(capsys.readouterr().out)]

    assert listed("--store", "service=ops") == ["r1"]
    monkeypatch.setenv("OPSCONSOLE_STORE", "service=ops")
    assert listed() == ["r1"]
    monkeypatch.delenv("OPSCONSOLE_STORE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config" / "opsconsole").mkdir(parents=True)
    (tmp_path / "config" / "opsconsole" / "config.toml").write_text('store = "service=ops"\n')
    assert listed() == ["r1"]


def test_only_the_runner_records_a_decision_said_to_be_the_checks(
    shared: tuple[str, str], pg_cluster: Cluster
) -> None:
    """A co-operator cannot pass a gate by writing an automatic decision by hand; they may ask
    for the checks to run again; the run's own runner records the checks' decision."""
    _, name = shared
    data = {
        "stage": "approval",
        "step": "cb",
        "decision": "approve",
        "actor": "opsconsole",
        "reason": "its 1 check(s) passed on h1",
        "ticket": "",
        "automatic": True,
        "evidence": [{"check": "true", "where": "h1", "ok": True, "detail": "passed"}],
    }
    forged = pg_cluster.psql(SECOND_ACCOUNT, name, _append_sql("gate_decided", data))
    assert forged.returncode != 0 and "an automatic decision is the runner's own" in forged.stderr
    asked = {
        "run_id": "r1",
        "at": 1,
        "kind": "checks_requested",
        "version": 1,
        "stage": "approval",
        "step": "cb",
        "data": {"stage": "approval", "step": "cb", "actor": "x"},
    }
    entry = {
        "at": "2026-12-01T00:00:00.000000Z",
        "action": "checks_requested",
        "subject": "r1/cb",
        "details": canonical({}).decode(),
    }
    sql = (
        f"SELECT opsconsole.append_events('r1', NULL, '{json.dumps([asked])}'::jsonb, "
        f"'{json.dumps([entry])}'::jsonb)"
    )
    done = pg_cluster.psql(SECOND_ACCOUNT, name, sql)
    assert done.returncode == 0, done.stderr
    with open_store(shared[0]) as store:
        store.append(
            [
                ev.GateDecided(
                    run_id="r1",
                    at=time.time(),
                    **{k: v for k, v in data.items() if k != "automatic"},
                    automatic=True,
                )
            ]
        )
        kinds = [s.event.kind for s in store.read("r1")]
        found = check_trail(store, None)
    assert kinds[-2:] == ["checks_requested", "gate_decided"]
    assert found.verdict.intact and not found.unrecorded


def test_others_record_a_notification_only_of_a_recorded_interruption(
    shared: tuple[str, str], pg_cluster: Cluster
) -> None:
    """A co-operator may not write notifications into another's run, except the telling of
    its interruption once that is recorded (its runner is gone: whoever found it tells)."""
    _, name = shared

    def notice(which: str) -> str:
        data = {
            "target": "board",
            "notice": which,
            "attempt": 1,
            "sent": True,
            "detail": "HTTP 200",
            "final": True,
        }
        event = {"run_id": "r1", "at": 1, "kind": "notice_attempted", "version": 1, "data": data}
        details = {
            "target": "board",
            "notice": which,
            "attempt": 1,
            "detail": "HTTP 200",
            "final": True,
        }
        entry = {
            "at": "2026-12-01T00:00:00.000000Z",
            "action": "notice_sent",
            "subject": "r1",
            "details": canonical(details).decode(),
        }
        return (
            f"SELECT opsconsole.append_events('r1', NULL, '{json.dumps([event])}'::jsonb, "
            f"'{json.dumps([entry])}'::jsonb)"
        )

    early = pg_cluster.psql(SECOND_ACCOUNT, name, notice("run_interrupted"))
    assert (
        early.returncode != 0
        and "only the runner of run r1 records its notifications" in early.stderr
    )
    with open_store(shared[0]) as store:
        store.append(
            [ev.RunInterrupted(run_id="r1", at=time.time(), pid=1, node="elsewhere", unknown=[])]
        )
    other = pg_cluster.psql(SECOND_ACCOUNT, name, notice("run_succeeded"))
    assert other.returncode != 0
    told = pg_cluster.psql(SECOND_ACCOUNT, name, notice("run_interrupted"))
    assert told.returncode == 0, told.stderr
