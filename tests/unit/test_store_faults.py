"""The store when writes fail or clocks jump: refused in words, nothing half done, order kept."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from console import events as ev
from console.cli import main
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
    assert main(["cancel", WAITING, "--store", str(path)]) == 2
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
