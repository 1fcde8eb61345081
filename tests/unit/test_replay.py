"""The replay timeline: a stored run's state at any cursor, moved by event, boundary and time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from console import events as ev
from console.replay import Timeline
from console.state import fold
from console.store import Store, open_store, pgadmin
from tests.ui import seed

RUN = "20261117-100000-bbbb"  # carol's run: one host fails its check


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The seeded history in a SQLite file, and again copied into a team store."""
    seeded = seed.estate(tmp_path / "store.db")
    seed.output(seeded, RUN, "ehr-web-stg-02", [b"late line\n"], at=seed.T0 + 3609)
    if request.param == "sqlite":
        yield seeded
        seeded.close()
        return
    seeded.close()
    dsn = request.getfixturevalue("team_store")
    name = str(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])
    pgadmin.copy(tmp_path / "store.db", request.getfixturevalue("pg_cluster").dsn(database=name))
    with open_store(dsn) as team:
        yield team


def test_the_end_of_a_replay_is_the_state_the_live_fold_reached(store: Store) -> None:
    everything = [s.event for s in store.read(RUN)]
    timeline = Timeline(store, RUN)
    assert timeline.state(timeline.last) == fold(everything)
    assert timeline.state(timeline.last).status == "failed"


def test_every_cursor_shows_what_had_happened_by_then(store: Store) -> None:
    stored = store.read(RUN)
    timeline = Timeline(store, RUN)
    for index, item in enumerate(stored):  # forwards, then backwards: the fold restarts
        expected = fold(s.event for s in stored[: index + 1])
        assert timeline.state(item.id) == expected
    for index in reversed(range(len(stored))):
        assert timeline.state(stored[index].id) == fold(s.event for s in stored[: index + 1])


def test_cursor_moves_by_event_boundary_failure_and_time(store: Store) -> None:
    stored = store.read(RUN)
    ids = [s.id for s in stored]
    timeline = Timeline(store, RUN)
    assert (timeline.first, timeline.last) == (ids[0], ids[-1])
    assert [timeline.next_event(i) for i in ids] == [*ids[1:], ids[-1]]
    assert [timeline.previous_event(i) for i in ids] == [ids[0], *ids[:-1]]
    kinds = {s.id: s.event.kind for s in stored}
    step = timeline.next_boundary(timeline.first)
    assert kinds[step] == "step_started"
    assert kinds[timeline.next_boundary(step)] == "step_finished"  # the output is passed over
    assert timeline.previous_boundary(timeline.next_boundary(step)) == step
    failure = timeline.first_failure()
    assert failure is not None and kinds[failure] == "step_finished"
    assert timeline.state(failure).cells[("preflight", "disk space", "ehr-web-stg-01")].status == (
        "failed"
    )
    for item in stored:
        assert timeline.at_time(item.event.at) >= item.id
        assert timeline.at_time(item.event.at) in ids
    assert timeline.at_time(seed.T0) == timeline.first  # before the launch: the launch
    assert timeline.at_time(seed.T0 + 10**6) == timeline.last
    assert timeline.moment(timeline.last) == seed.T0 + 3609  # the late output, stored last


def test_landmarks_and_records_follow_the_run(store: Store) -> None:
    timeline = Timeline(store, "20261117-110000-cccc")
    kinds = [m.kind for m in timeline.landmarks()]
    assert kinds == ["gate"]
    records = timeline.records(timeline.last)
    assert [r[2] for r in records] == ["run_launched", "gate_opened"]
    assert timeline.records(timeline.first)[0][1] == "bob"
    assert isinstance(timeline.marks[0].event, ev.RunLaunched)


def test_the_newest_records_up_to_a_cursor(store: Store) -> None:
    timeline = Timeline(store, "20261117-110000-cccc")
    assert timeline.records(timeline.last, 1) == timeline.records(timeline.last)[-1:]
    assert [r[2] for r in timeline.records(timeline.last, 1)] == ["gate_opened"]
