"""What every store promises, checked on both: a SQLite file and a PostgreSQL team store."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console import events as ev
from console.audit import GENESIS, link_hash
from console.errors import RunChanged, UnknownRun
from console.store import Store, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new, empty store of each kind."""
    where = (
        tmp_path / "store.db"
        if request.param == "sqlite"
        else request.getfixturevalue("team_store")
    )
    with open_store(where) as opened:
        yield opened


def launched(run_id: str, at: float, operator: str = "alice") -> ev.RunLaunched:
    return ev.RunLaunched(
        run_id=run_id,
        at=at,
        pipeline="deploy",
        pipeline_digest="a" * 64,
        pipeline_path="p.toml",
        inventory_path="i.toml",
        inventory_digest="b" * 64,
        params={"version": "1.0"},
        targets=["h1", "h2"],
        environments=["staging"],
        operator=operator,
        stages=[],
    )


def output(run_id: str, host: str, data: bytes, at: float = 2.0) -> ev.Output:
    return ev.Output(
        run_id=run_id, at=at, stage="s", step="w", host=host, stream="stdout", data=data
    )


def test_events_come_back_in_order_with_their_types_and_bytes(store: Store) -> None:
    script = {hashlib.sha256(b"x").hexdigest(): b"x"}
    store.create_run(launched("r1", 1.0, store.actor), "name = 'deploy'", script)
    events: list[ev.Event] = [
        ev.StepStarted(run_id="r1", at=2.0, stage="s", step="w", host="h1"),
        output("r1", "h1", b"\x1b[31mred\x00 and bytes\xff\n"),
        output("r1", "h2", b"two\n"),
        ev.StepFinished(run_id="r1", at=3.0, stage="s", step="w", host="h1", status="ok"),
    ]
    store.append(events)
    read = store.read("r1")
    assert [type(e.event) for e in read] == [ev.RunLaunched, *[type(e) for e in events]]
    assert [e.event for e in read[1:]] == events  # bytes kept exactly, the order too
    assert [e.id for e in read] == sorted(e.id for e in read)
    assert store.blob("a" * 64) == "name = 'deploy'"
    assert store.file(*script) == b"x"
    assert store.newest_id("r1") == read[-1].id == store.last_id()
    assert [e.event for e in store.read("r1", kinds=("output",), host="h2")] == [events[2]]
    assert len(store.read("r1", exclude=("output",))) == 3
    assert [e.id for e in store.read("r1", before=read[-1].id, limit=2)] == [
        read[-3].id,
        read[-2].id,
    ]
    assert [e.event for e in store.read_all(read[2].id)] == events[2:]


def test_runs_are_listed_newest_first_and_found_by_any_unique_part(store: Store) -> None:
    for run_id, at in (("20261201-0900-aaaa", 1.0), ("20261201-1000-bbbb", 2.0)):
        store.create_run(launched(run_id, at, store.actor), "")
    assert [r.id for r in store.runs()] == ["20261201-1000-bbbb", "20261201-0900-aaaa"]
    assert store.resolve_run("last") == "20261201-1000-bbbb"
    assert store.resolve_run("aaaa") == "20261201-0900-aaaa"
    with pytest.raises(UnknownRun, match="matches more than one run"):
        store.resolve_run("20261201")
    with pytest.raises(UnknownRun, match="no run 'zzzz'"):
        store.resolve_run("zzzz")


def test_a_guarded_append_is_refused_once_the_run_has_moved_on(store: Store) -> None:
    store.create_run(launched("r1", 1.0, store.actor), "")
    seen = store.newest_id("r1")
    store.append([ev.StepStarted(run_id="r1", at=2.0, stage="s", step="w", host="h1")])
    with pytest.raises(RunChanged):
        store.append([ev.CancelRequested(run_id="r1", at=3.0, actor=store.actor)], if_newest=seen)
    assert not store.read("r1", kinds=("cancel_requested",))
    store.append(
        [ev.CancelRequested(run_id="r1", at=3.0, actor=store.actor)],
        if_newest=store.newest_id("r1"),
    )
    assert store.read("r1", kinds=("cancel_requested",))


def test_the_audit_chain_links_each_record_to_the_one_before(store: Store) -> None:
    store.create_run(launched("r1", 1.0, store.actor), "")
    store.append([ev.CancelRequested(run_id="r1", at=2.0, actor=store.actor)])
    records = store.audit_records()
    assert [r.action for r in records] == ["run_launched", "cancel_requested"]
    prev = GENESIS
    for record in records:
        assert record.prev == prev
        assert record.hash == link_hash(
            record.seq,
            record.at,
            record.actor,
            record.action,
            record.subject,
            record.details,
            record.prev,
        )
        prev = record.hash
    assert store.audit_head() == (2, prev)
    assert store.last_audit("cancel_requested", "r1") == records[-1]


def test_the_batch_writer_stores_everything_in_order(store: Store) -> None:
    store.create_run(launched("r1", 1.0, store.actor), "")
    writer = store.writer()
    sent = [output("r1", "h1", b"line %d\n" % i, at=time.time()) for i in range(3000)]
    for event in sent:
        writer.put(event)
    writer.close()
    assert [e.event for e in store.read("r1", kinds=("output",))] == sent


def test_kept_files_are_read_back_by_digest(store: Store) -> None:
    data = b"#!/bin/sh\necho hi\n"
    digest = hashlib.sha256(data).hexdigest()
    store.keep_files({digest: data})
    assert store.file(digest) == data
    assert store.file("0" * 64) is None


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A new store's address, of each kind."""
    if request.param == "sqlite":
        return tmp_path / "store.db"
    return str(request.getfixturevalue("team_store"))


def test_followers_get_what_another_connection_appends(where: str | Path) -> None:
    """Ten consoles follow one store; a run appended elsewhere reaches each of them (a team
    store tells them; a file is polled)."""
    import threading

    from console.ui.feed import StoreFeed

    with open_store(where) as writer:
        writer.create_run(launched("r1", 1.0, writer.actor), "")
    got: list[list[int]] = [[] for _ in range(10)]
    feeds = []
    for mine in got:
        feed = StoreFeed(where, lambda batch, mine=mine: mine.extend(e.id for e in batch))
        feed.backlog()
        feeds.append(feed)
    threads = [threading.Thread(target=f.run, daemon=True) for f in feeds]
    for thread in threads:
        thread.start()
    with open_store(where) as writer:
        time.sleep(0.3)  # every follower is waiting
        writer.append([ev.CancelRequested(run_id="r1", at=2.0, actor=writer.actor)])
        newest = writer.last_id()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(newest in mine for mine in got):
        time.sleep(0.01)
    for feed in feeds:
        feed.stop()
    for thread in threads:
        thread.join(5)
    assert all(mine == [newest] for mine in got)
