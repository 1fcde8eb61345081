"""Strategies, failure thresholds and rollback, read back from the run's events."""

from __future__ import annotations

from console import events as ev
from console.store.sqlite import SQLiteStore
from tests.conftest import Estate, write_estate
from tests.helpers import cells, run_cli, state_of
from tests.sshd import Sshd


def _intervals(estate: Estate, step: str) -> list[tuple[float, float, str]]:
    store = SQLiteStore(estate.store)
    run_id = store.resolve_run("last")
    starts: dict[str, float] = {}
    spans = []
    for stored in store.read(run_id, kinds=("step_started", "step_finished")):
        e = stored.event
        if isinstance(e, ev.StepStarted) and e.step == step:
            starts[e.host] = e.at
        elif isinstance(e, ev.StepFinished) and e.step == step and e.host in starts:
            spans.append((starts[e.host], e.at, e.host))
    store.close()
    return spans


def _max_overlap(spans: list[tuple[float, float, str]]) -> int:
    points = sorted([(s, 1) for s, _, _ in spans] + [(e, -1) for _, e, _ in spans])
    best = current = 0
    for _, delta in points:
        current += delta
        best = max(best, current)
    return best


def _sleepy(estate: Estate, strategy: str, extra: str = "") -> None:
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["all"]
        [[stages]]
        name = "s"
        strategy = "{strategy}"
        {extra}
          [[stages.steps]]
          name = "nap"
          run = "sleep 0.4"
    """,
    )


def test_serial_runs_one_host_at_a_time(tmp_path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=4)
    _sleepy(estate, "serial")
    assert run_cli(estate, "run", "p") == 0
    spans = _intervals(estate, "nap")
    assert _max_overlap(spans) == 1
    assert [h for _, _, h in sorted(spans)] == ["h1", "h2", "h3", "h4"]


def test_parallel_respects_max_parallel(tmp_path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=6)
    _sleepy(estate, "parallel", "max_parallel = 2")
    assert run_cli(estate, "run", "p") == 0
    assert _max_overlap(_intervals(estate, "nap")) == 2


def test_parallel_without_a_cap_runs_every_host_at_once(tmp_path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=6)
    _sleepy(estate, "parallel")
    assert run_cli(estate, "run", "p") == 0
    assert _max_overlap(_intervals(estate, "nap")) > 2


def test_rolling_runs_in_waves(tmp_path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=4)
    _sleepy(estate, "rolling", 'batch = "50%"')
    assert run_cli(estate, "run", "p") == 0
    spans = sorted(_intervals(estate, "nap"))
    assert _max_overlap(spans) == 2
    first_wave_end = max(end for _, end, h in spans if h in ("h1", "h2"))
    assert all(start >= first_wave_end for start, _, h in spans if h in ("h3", "h4"))


def test_rolling_failure_stops_later_waves_and_rolls_back_touched_hosts(
    tmp_path, sshd: Sshd
) -> None:
    estate = write_estate(tmp_path, sshd, hosts=4)
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["all"]
        [[stages]]
        name = "rollout"
        strategy = "rolling"
        batch = 1
          [[stages.steps]]
          name = "switch"
          run = "touch {estate.work}/switched-{{{{ host.name }}}} && test {{{{ host.name }}}} != h2"
          [[stages.on_failure]]
          name = "roll back"
          run = "touch {estate.work}/rolled-{{{{ host.name }}}}"
        [[stages]]
        name = "after"
          [[stages.steps]]
          name = "never"
          run = "touch {estate.work}/after"
    """,
    )
    assert run_cli(estate, "run", "p") == 1
    state = state_of(estate)
    got = cells(state)
    assert (got[("switch", "h1")], got[("switch", "h2")]) == ("ok", "failed")
    assert (got[("switch", "h3")], got[("switch", "h4")]) == ("skipped", "skipped")
    assert sorted(p.name for p in estate.work.glob("switched-*")) == ["switched-h1", "switched-h2"]
    assert sorted(p.name for p in estate.work.glob("rolled-*")) == ["rolled-h1", "rolled-h2"]
    assert not (estate.work / "after").exists()
    assert state.stage("rollout").rollback_hosts == ["h1", "h2"]
    assert state.status == "failed" and "rollout" in state.message


def test_failures_within_max_fail_percentage_drop_only_the_failed_hosts(
    tmp_path, sshd: Sshd
) -> None:
    estate = write_estate(tmp_path, sshd, hosts=4)
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["all"]
        [[stages]]
        name = "one"
        max_fail_percentage = 25
          [[stages.steps]]
          name = "maybe"
          run = "test {{ host.name }} != h3"
        [[stages]]
        name = "two"
          [[stages.steps]]
          name = "next"
          run = "true"
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    got = cells(state_of(estate))
    assert got[("maybe", "h3")] == "failed"
    assert got[("next", "h3")] == "skipped"
    assert [got[("next", h)] for h in ("h1", "h2", "h4")] == ["ok", "ok", "ok"]
