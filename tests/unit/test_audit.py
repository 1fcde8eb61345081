"""The audit trail in a real SQLite file: chained with the events, refusing edits, and every kind
of tampering done directly in the file is found by `audit verify` at the record where it happened."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from console import events as ev
from console.audit import GENESIS, verify
from console.cli import main
from console.store.sqlite import SQLiteStore


def _launched(run_id: str, at: float, operator: str = "alice") -> ev.RunLaunched:
    return ev.RunLaunched(
        run_id=run_id,
        at=at,
        pipeline="deploy",
        pipeline_digest="a" * 64,
        pipeline_path="/p/deploy.toml",
        inventory_path="/p/inventory.toml",
        inventory_digest="b" * 64,
        params={"version": "1.0"},
        targets=["h1", "h2"],
        environments=["prod"],
        operator=operator,
        stages=[],
    )


def _trail(path: Path) -> SQLiteStore:
    """Two runs: launched, a gate opened and decided, finished; output that is not audited."""
    store = SQLiteStore(path, actor="runner")
    for n, run_id in enumerate(("20261128-090000-aaaa", "20261128-100000-bbbb")):
        at = 1_795_000_000.0 + n * 3600
        store.create_run(_launched(run_id, at, operator=("alice", "bob")[n]), "text")
        store.append(
            [
                ev.Output(
                    run_id=run_id,
                    at=at + 1,
                    stage="s",
                    step="x",
                    host="h1",
                    stream="stdout",
                    data=b"hi\n",
                ),
                ev.GateOpened(
                    run_id=run_id,
                    at=at + 2,
                    stage="g",
                    step="board",
                    message="go",
                    approvals_required=1,
                ),
                ev.GateDecided(
                    run_id=run_id,
                    at=at + 3,
                    stage="g",
                    step="board",
                    decision="approve",
                    actor="carol",
                    reason="ok",
                    ticket="CHG0000001",
                ),
                ev.RunFinished(run_id=run_id, at=at + 4, status="succeeded"),
            ]
        )
    return store


def test_events_that_matter_are_chained_as_they_are_stored(tmp_path: Path) -> None:
    store = _trail(tmp_path / "s.db")
    records = store.audit_records()
    assert [r.action for r in records[:4]] == [
        "run_launched",
        "gate_opened",
        "gate_approved",
        "run_finished",
    ]
    assert [r.actor for r in records[:4]] == ["alice", "runner", "carol", "runner"]
    assert records[2].details["reason"] == "ok" and records[2].details["ticket"] == "CHG0000001"
    assert records[0].prev == GENESIS and all(
        b.prev == a.hash for a, b in itertools.pairwise(records)
    )
    verdict = verify(records)
    assert verdict.intact and verdict.count == 8 and verdict.head == store.audit_head()[1]


def test_the_schema_refuses_to_change_or_remove_records(tmp_path: Path) -> None:
    _trail(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    for sql in ("UPDATE audit SET actor = 'x' WHERE seq = 1", "DELETE FROM audit WHERE seq = 1"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)


def _tamper(path: Path, *statements: str) -> None:
    """What someone with write access to the file could do: drop the guards, then edit."""
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    for sql in statements:
        db.execute(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("statements", "record", "says"),
    [
        (["UPDATE audit SET details = replace(details, 'ok', 'fine') WHERE seq = 3"], 3, "altered"),
        (["UPDATE audit SET actor = 'mallory' WHERE seq = 6"], 6, "altered"),
        (["DELETE FROM audit WHERE seq = 4"], 4, "missing: it was deleted"),
        (
            [  # two records swap places
                "UPDATE audit SET seq = 100 WHERE seq = 2",
                "UPDATE audit SET seq = 2 WHERE seq = 3",
                "UPDATE audit SET seq = 3 WHERE seq = 100",
            ],
            2,
            "altered",
        ),
        (  # a forged record put in place of the fifth, with a correct hash of its own
            ["DELETE FROM audit WHERE seq = 5"],
            5,
            "",
        ),
    ],
)
def test_verify_names_the_first_tampered_record(
    tmp_path: Path, statements: list[str], record: int, says: str
) -> None:
    _trail(tmp_path / "s.db").close()
    _tamper(tmp_path / "s.db", *statements)
    if not says:  # forge: insert a self-consistent record at the gap, chained to the wrong prev
        from console.audit import Entry, chain

        forged = chain(Entry(1_795_000_000.0, "mallory", "gate_approved", "x", {}), 5, GENESIS)
        db = sqlite3.connect(tmp_path / "s.db")
        db.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                5,
                forged.at,
                forged.actor,
                forged.action,
                forged.subject,
                "{}",
                forged.prev,
                forged.hash,
            ),
        )
        db.commit()
        says = "does not follow record 4"
    verdict = verify(SQLiteStore(tmp_path / "s.db").audit_records())
    assert verdict.broken_at == record and says in verdict.problem


def test_a_kept_head_catches_records_cut_off_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _trail(tmp_path / "s.db")
    head = store.audit_head()[1]
    store.close()
    _tamper(tmp_path / "s.db", "DELETE FROM audit WHERE seq = 8")
    assert (
        main(["audit", "verify", "--store", str(tmp_path / "s.db")]) == 0
    )  # the chain alone looks whole
    assert main(["audit", "verify", "--head", head, "--store", str(tmp_path / "s.db")]) == 1
    assert "is not in the chain" in capsys.readouterr().err


def test_verify_and_head_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _trail(tmp_path / "s.db").close()
    assert main(["audit", "head", "--store", str(tmp_path / "s.db")]) == 0
    seq, head = capsys.readouterr().out.split()
    assert seq == "8" and len(head) == 64
    assert main(["audit", "verify", "--store", str(tmp_path / "s.db")]) == 0
    assert f"8 records, head {head}" in capsys.readouterr().out
    _tamper(tmp_path / "s.db", "UPDATE audit SET action = 'gate_rejected' WHERE seq = 7")
    assert main(["audit", "verify", "--store", str(tmp_path / "s.db")]) == 1
    assert "broken at record 7" in capsys.readouterr().err


def test_export_filters_and_ends_with_the_chain_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _trail(tmp_path / "s.db")
    head = store.audit_head()[1]
    store.close()
    db = str(tmp_path / "s.db")
    assert main(["audit", "export", "--run", "20261128-1000", "--store", db]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1] == {"chain_head": head, "seq": 8}
    assert {r["subject"].split("/")[0] for r in lines[:-1]} == {"20261128-100000-bbbb"} and len(
        lines
    ) == 5
    assert main(["audit", "export", "--actor", "carol", "--format", "csv", "--store", db]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["action"] for r in rows] == ["gate_approved", "gate_approved", "chain_head"]
    assert json.loads(rows[0]["details"])["reason"] == "ok"
    since = ["--since", "2026-11-18T12:00", "--until", "2026-11-18T13:00"]
    assert main(["audit", "export", *since, "--store", db]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4 + 1  # the second run's four, and the head
    records = SQLiteStore(tmp_path / "s.db").audit_records()
    assert [r.action for r in records[-3:]] == ["audit_exported"] * 3
    assert verify(records).intact
    assert main(["audit", "export", "--since", "yesterday", "--store", db]) == 2


def test_a_store_file_and_its_journals_are_private_even_in_a_setgid_folder(
    tmp_path: Path,
) -> None:
    shared, private = tmp_path / "team", tmp_path / "mine"
    shared.mkdir()
    private.mkdir()
    shared.chmod(0o2770)
    old = os.umask(0o022)
    try:
        for folder in (shared, private):
            store = SQLiteStore(folder / "s.db")
            store.create_run(_launched("20261128-090000-aaaa", 1.0), "")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
            assert set(modes) >= {"s.db", "s.db-wal", "s.db-shm"}, modes
            assert all(mode == 0o600 for mode in modes.values()), modes
            store.close()
    finally:
        os.umask(old)
