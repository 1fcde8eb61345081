"""The SQLite store: append-only, versioned, shared by processes, batched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from console import events as ev
from console.errors import RunChanged, StoreError, UsageError
from console.store.sqlite import MIGRATIONS, SQLiteStore
from console.store.writer import BatchWriter
from tests.unit.test_state import _launched


def _store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "s.db")
    store.create_run(_launched(), "pipeline text")
    return store


def test_events_round_trip_with_their_types(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.append(
        [
            ev.Output(
                run_id="r", at=2.0, stage="s", step="x", host="a", stream="stderr", data=b"\x00\xff"
            ),
            ev.StepFinished(
                run_id="r", at=3.0, stage="s", step="x", host="a", status="ok", exit_code=0
            ),
        ]
    )
    got = [e.event for e in store.read("r")]
    assert got[0] == _launched()
    assert got[1] == ev.Output(
        run_id="r", at=2.0, stage="s", step="x", host="a", stream="stderr", data=b"\x00\xff"
    )
    assert isinstance(got[2], ev.StepFinished) and got[2].exit_code == 0
    assert [e.event.kind for e in store.read("r", exclude=("output",))] == [
        "run_launched",
        "step_finished",
    ]
    assert store.blob("d") == "pipeline text"


def test_events_cannot_be_changed_or_deleted(tmp_path: Path) -> None:
    _store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "s.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET kind = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events")


def test_run_references(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.resolve_run("last") == store.resolve_run("r") == "r"
    with pytest.raises(UsageError, match="no run 'zz'"):
        store.resolve_run("zz")


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    _store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "s.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_newer_schema_is_refused_with_a_sentence(tmp_path: Path) -> None:
    _store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    with pytest.raises(StoreError, match="newer opsconsole"):
        SQLiteStore(tmp_path / "s.db")


def test_a_newer_schema_is_refused_before_anything_in_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    db = sqlite3.connect(path)  # a newer opsconsole's store, in the rollback journal mode
    db.execute("CREATE TABLE later (x)")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"newer opsconsole .* nothing in it was changed"):
        SQLiteStore(path)
    assert path.read_bytes() == before  # the journal mode is in the header: still rollback
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newer.db"]  # no -wal, no -shm


def test_not_a_database_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match="cannot be opened"):
        SQLiteStore(tmp_path / "junk.db")


def test_batch_writer_commits_everything_in_batches(tmp_path: Path) -> None:
    _store(tmp_path).close()
    writer = BatchWriter(SQLiteStore(tmp_path / "s.db"), interval=0.02, max_batch=1000)
    for i in range(10_000):
        writer.put(
            ev.Output(
                run_id="r",
                at=float(i),
                stage="s",
                step="x",
                host="a",
                stream="stdout",
                data=b"%d\n" % i,
            )
        )
    writer.flush()
    reader = SQLiteStore(tmp_path / "s.db")
    assert len(reader.read("r", kinds=("output",))) == 10_000
    writer.close()
    db = sqlite3.connect(tmp_path / "s.db")
    ids = [
        row[0]
        for row in db.execute("SELECT data FROM events WHERE kind='output' ORDER BY id LIMIT 3")
    ]
    assert ids == ["stdout"] * 3


def test_two_processes_append_to_one_store(tmp_path: Path) -> None:
    import subprocess
    import sys

    _store(tmp_path).close()
    code = (
        "import sys; from console.store.sqlite import SQLiteStore; from console import events as ev\n"
        "s = SQLiteStore(__import__('pathlib').Path(sys.argv[1]))\n"
        "for i in range(300): s.append([ev.CancelRequested(run_id='r', at=i, actor=sys.argv[2])])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "s.db"), name])
        for name in "xy"
    ]
    assert [p.wait(60) for p in procs] == [0, 0]
    got = SQLiteStore(tmp_path / "s.db").read("r", kinds=("cancel_requested",))
    assert len(got) == 600


def test_an_append_guarded_by_the_newest_id_is_refused_once_the_run_has_moved_on(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    seen = store.newest_id("r")
    other = SQLiteStore(tmp_path / "s.db")
    other.append([ev.CancelRequested(run_id="r", at=2.0, actor="bob")])
    other.close()
    with pytest.raises(RunChanged):
        store.append([ev.CancelRequested(run_id="r", at=3.0, actor="alice")], if_newest=seen)
    assert [e.event.kind for e in store.read("r")] == ["run_launched", "cancel_requested"]
    store.append([ev.CancelRequested(run_id="r", at=4.0, actor="alice")], if_newest=seen + 1)
    assert store.newest_id("r") == seen + 2


def test_any_unique_part_of_a_run_id_names_it(tmp_path: Path) -> None:
    from tests.ui import seed

    store = seed.estate(tmp_path / "runs.db")  # runs ...-aaaa, ...-bbbb, ...-cccc
    assert store.resolve_run("bbbb") == "20261117-100000-bbbb"  # the random tail people see
    assert store.resolve_run("100000") == "20261117-100000-bbbb"
    assert store.resolve_run("20261117-09") == "20261117-090000-aaaa"  # a prefix, as before
    with pytest.raises(UsageError, match=r"'20261117' matches more than one run \(.*cccc"):
        store.resolve_run("20261117")
    with pytest.raises(UsageError, match="no run '%'"):
        store.resolve_run("%")  # LIKE's wildcards are taken as themselves


def test_show_names_each_host_key_once(tmp_path: Path) -> None:
    from console import events as ev
    from console.ops.runs import read_state
    from console.render.show import show_text
    from tests.ui import seed

    store = seed.estate(tmp_path / "runs.db")
    run = "20261117-120000-dddd"
    seed.launch(store, run, seed.T0 + 9000)
    twice = {"ehr-web-stg-01": ["SHA256:abc", "SHA256:abc", "SHA256:def"]}
    store.append(
        [
            ev.GateOpened(
                run_id=run,
                at=seed.T0 + 9001,
                stage="approval",
                step="change board",
                message="m",
                approvals_required=1,
                plan_digest="ab" * 32,
                digest_parts={"targets": {"ehr-web-stg-01": "10.0.0.1:22"}, "host_keys": twice},
            )
        ]
    )
    text = show_text(read_state(store, run))
    assert "target ehr-web-stg-01 10.0.0.1:22 SHA256:abc, SHA256:def" in text
