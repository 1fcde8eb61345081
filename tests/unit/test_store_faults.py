"""The store when writes fail or clocks jump: refused in words, nothing half done, order kept."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from console import events as ev
from console.cli import main
from console.identity import current_operator
from console.store.sqlite import SQLiteStore
from tests.ui import seed

WAITING = "20261117-110000-cccc"


def fail_audit_writes(store: Path) -> None:
    """Make every audit insert fail inside SQLite, as a full disk or a broken device would."""
    db = sqlite3.connect(store)
    db.execute(
        "CREATE TRIGGER audit_fails BEFORE INSERT ON audit "
        "BEGIN SELECT RAISE(FAIL, 'disk I/O error (simulated)'); END"
    )
    db.commit()
    db.close()


def test_an_action_whose_audit_record_cannot_be_written_is_refused_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.db"
    seed.estate(path).close()
    fail_audit_writes(path)
    before = SQLiteStore(path).read(WAITING)
    inventory = tmp_path / "inventory.toml"
    (tmp_path / "pipelines").mkdir()
    inventory.write_text(
        '[inventory]\nname = "t"\n[ssh]\nuser = "deploy"\n[environments.staging]\n'
        f'[operators.{current_operator()}]\nroles = ["ops"]\n'
    )
    assert main(["cancel", WAITING, "--store", str(path), "--inventory", str(inventory)]) == 2
    err = capsys.readouterr().err
    assert "refused a write" in err and "nothing was recorded" in err
    assert "Traceback" not in err
    assert SQLiteStore(path).read(WAITING) == before  # the cancel request is not there either


def test_a_clock_set_back_keeps_the_order_and_is_reported_by_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.db"
    store = seed.estate(path)
    now = time.time()
    store.append([ev.CancelRequested(run_id=WAITING, at=now, actor="bob")])
    store.append([ev.CancelRequested(run_id=WAITING, at=now - 3600, actor="carol")])
    ids = [s.id for s in store.read(WAITING)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert main(["audit", "verify", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "audit trail intact" in out and "stamped 3600 s before" in out


WRITER = """
import sys, time
from console import events as ev
from console.store.sqlite import SQLiteStore
from pathlib import Path
store = SQLiteStore(Path(sys.argv[1]), actor=f"writer{sys.argv[2]}")
run = sys.argv[3]
for i in range(150):
    store.append([
        ev.Output(run_id=run, at=time.time(), stage="preflight", step="disk space",
                  host=f"h{sys.argv[2]}", stream="stdout", data=b"line %d\\n" % i),
        ev.CancelRequested(run_id=run, at=time.time(), actor=f"writer{sys.argv[2]}"),
    ])
    store.audit([__import__("console.audit").audit.Entry(time.time(), "w", "note", run, {"i": i})])
"""


def test_eight_processes_writing_at_once_lose_nothing_and_repeat_no_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "store.db"
    seed.estate(path).close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(n), WAITING],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(8)
    ]
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * 8, errors
    assert not any("locked" in e for e in errors)
    store = SQLiteStore(path)
    ids = [s.id for s in store.read(WAITING)]
    written = [s for s in store.read(WAITING) if isinstance(s.event, ev.CancelRequested)]
    assert len(written) == 8 * 150 and len(ids) == len(set(ids)) and ids == sorted(ids)
    numbers = [r.seq for r in store.audit_records()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert main(["audit", "verify", "--store", str(path)]) == 0


def test_a_store_on_a_network_filesystem_is_refused_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.store import mounts

    table = tmp_path / "mounts"
    table.write_text(
        f"/dev/sda1 / ext4 rw 0 0\nfileserver:/export {tmp_path / 'shared'} nfs4 rw,relatime 0 0\n"
    )
    monkeypatch.setattr(mounts, "MOUNTS", table)
    assert main(["runs", "--store", str(tmp_path / "shared" / "store.db")]) == 2
    err = capsys.readouterr().err
    assert "network filesystem (nfs4" in err and "PostgreSQL" in err and "Traceback" not in err
    assert not (tmp_path / "shared").exists()  # not even its folder was made
    assert main(["runs", "--store", str(tmp_path / "local" / "store.db")]) == 0


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="needs root to act as a second account")
def test_a_store_another_account_may_only_read_is_said_in_words(tmp_path: Path) -> None:
    from tests.helpers import SECOND_ACCOUNT, fork_as

    path = tmp_path / "shared" / "store.db"
    seed.estate(path).close()
    for found in path.parent.glob("store.db*"):
        found.chmod(0o644)  # readable by every account, writable by its owner alone
    for folder in path.parents[:-1]:  # and reachable
        folder.chmod(folder.stat().st_mode | 0o055)
    code, _, err = fork_as(SECOND_ACCOUNT, ["runs", "--store", str(path)]).result()
    assert code == 2 and "can only be read by this account" in err and "Traceback" not in err


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="needs root to act as a second account")
def test_an_export_into_a_folder_the_account_cannot_write_is_a_sentence(tmp_path: Path) -> None:
    from tests.helpers import SECOND_ACCOUNT, fork_as
    from tests.sshd import reach

    path = tmp_path / "shared" / "store.db"
    seed.estate(path).close()
    for found in path.parent.glob("store.db*"):
        found.chmod(0o666)
    reach(path.parent).chmod(0o777)  # a store every account may write (the team-store issue)
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o755)  # root's: the second account may enter but not write
    argv = ["export", "last", "--format", "md", "--out", str(closed / "r.md"), "--store", str(path)]
    code, _, err = fork_as(SECOND_ACCOUNT, argv).result()
    assert code == 2 and "Traceback" not in err, err
    assert f"cannot write {closed / 'r.md'}: this account may not write in its folder" in err
    assert list(closed.iterdir()) == []
