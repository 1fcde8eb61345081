"""Two bastions sharing one team store: two sets of processes with machine names of their own
(each in a UTS namespace), each person with their own account, home folder and SSH key.
Launched on one, approved and watched from the other; the runner killed on the first, and
the run found gone and resumed from the second, where no process of the first can be seen
by name."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from console import events as ev
from console.identity import current_operator
from console.ops.audit import check_trail
from console.store import open_store, pgadmin
from tests.conftest import Estate
from tests.helpers import SECOND_ACCOUNT, fork_as, wait_for
from tests.integration.test_approvals import prod_with_a_second_approver
from tests.pg import Cluster
from tests.sshd import Sshd

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="machines of their own and a second account need root"
)

ME = current_operator()

SHIP = """
    name = "ship"
    targets = ["all"]
    [[stages]]
    name = "approval"
      [[stages.steps]]
      name = "change board"
      gate = "Ship it"
    [[stages]]
    name = "rollout"
      [[stages.steps]]
      name = "install"
      run = "if test -e {work}/resumed; then echo again; else touch {work}/installing-{{{{ host.name }}}}; sleep 41.5; fi"
      [[stages.steps]]
      name = "done"
      run = "touch {work}/done-{{{{ host.name }}}}"
"""


def _home(root: Path, user: str, key: Path) -> Path:
    """A home folder of the account's own, holding its copy of the SSH key."""
    home = root / f"home-{user}"
    home.mkdir()
    shutil.copy(key, home / "key")
    os.chmod(home / "key", 0o600)
    shutil.chown(home, user, user)
    shutil.chown(home / "key", user, user)
    return home


def _on(machine: str, user: str, home: Path, estate: Estate, *args: str) -> tuple[int, str, str]:
    """`opsconsole ARGS` by `user` on `machine`."""
    return fork_as(user, estate.cli(*args), machine=machine, home=home).result()


def _show(home: Path, estate: Estate, run_id: str) -> dict[str, object]:
    code, out, err = _on("bastion-2", SECOND_ACCOUNT, home, estate, "show", run_id, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def test_launched_on_one_bastion_approved_and_resumed_from_the_other(
    tmp_path: Path, sshd: Sshd, team_store: str, pg_cluster: Cluster
) -> None:
    admin = pg_cluster.dsn(database=str(psycopg.conninfo.conninfo_to_dict(team_store)["dbname"]))
    pgadmin.grant(admin, ME, admin=True)
    pgadmin.grant(admin, SECOND_ACCOUNT)
    estate = replace(prod_with_a_second_approver(tmp_path, sshd), store=team_store)
    estate.pipeline("ship", SHIP.format(work=estate.work))
    text = estate.inventory.read_text()
    estate.inventory.write_text(text.replace(str(sshd.client_key), "~/key"))  # each their own
    first = _home(tmp_path, ME, sshd.client_key)
    second = _home(tmp_path, SECOND_ACCOUNT, sshd.client_key)

    code, _, err = _on("bastion-1", ME, first, estate, "policy", "publish")
    assert code == 0, err
    code, out, err = _on(
        "bastion-1", ME, first, estate, "run", "ship", "--detach", "--confirm", "prod"
    )
    assert code == 0, err
    run_id = out.strip()
    wait_for(lambda: _show(second, estate, run_id)["status"] == "waiting", 60, "the gate")
    code, _, err = _on(
        "bastion-2", SECOND_ACCOUNT, second, estate, "approve", run_id, "--reason", "board met"
    )
    assert code == 0, err
    wait_for(lambda: len(list(estate.work.glob("installing-*"))) == 2, 60, "the installs")
    shown = _show(second, estate, run_id)
    assert shown["status"] == "running", shown

    with open_store(team_store) as store:
        started = [s.event for s in store.read(run_id, kinds=("run_started",))]
    assert isinstance(started[0], ev.RunStarted) and started[0].node == "bastion-1"
    os.kill(started[0].pid, signal.SIGKILL)  # bastion-1's runner dies with its machine
    subprocess.run(["pkill", "-f", "sleep 41.5"], check=False)
    wait_for(lambda: _show(second, estate, run_id)["status"] == "interrupted", 30, "gone")

    (estate.work / "resumed").touch()
    code, out, err = _on("bastion-2", SECOND_ACCOUNT, second, estate, "resume", run_id, "--yes")
    assert code == 0, err
    shown = _show(second, estate, run_id)
    assert shown["status"] == "succeeded", shown
    assert all((estate.work / f"done-h{i}").exists() for i in (1, 2))
    with open_store(team_store) as store:
        events = [s.event for s in store.read(run_id, exclude=("output",))]
        records = [(r.action, r.actor) for r in store.audit_records()]
        trail = check_trail(store, None)
    nodes = [e.node for e in events if isinstance(e, ev.RunStarted)]
    assert nodes == ["bastion-1", "bastion-2"]
    interrupted = [e for e in events if isinstance(e, ev.RunInterrupted)]
    assert len(interrupted) == 1 and interrupted[0].node == "bastion-1"
    for expected in (
        ("run_launched", ME),
        ("gate_approved", SECOND_ACCOUNT),
        ("run_interrupted", SECOND_ACCOUNT),
        ("run_resumed", SECOND_ACCOUNT),
    ):
        assert expected in records, records
    assert trail.verdict.intact and not trail.unrecorded
