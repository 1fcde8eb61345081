"""`opsconsole show RUN --at TIME --json`: a run's state as it was at a moment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.cli import main
from tests.ui import seed

RUN = "20261117-090000-aaaa"


def _show(capsys: pytest.CaptureFixture[str], store: Path, at: str) -> dict:  # type: ignore[type-arg]
    assert main(["show", RUN, "--at", at, "--json", "--store", str(store)]) == 0
    return json.loads(capsys.readouterr().out)


def _checks(doc: dict) -> list[str]:  # type: ignore[type-arg]
    """The disk-space check's status on each host."""
    return [r["status"] for r in doc["steps"] if r["step"] == "disk space"]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def test_each_moment_shows_what_had_happened_by_then(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.db"
    seed.estate(store).close()  # launched at T0, steps at T0+1 .. T0+1.4, finished at T0+30
    launched = _show(capsys, store, _iso(seed.T0))
    assert launched["status"] == "queued"
    assert {r["status"] for r in launched["steps"]} == {"pending"}
    assert _checks(_show(capsys, store, "+0.5s")) == ["pending", "pending"]
    mid_step = _show(capsys, store, "+1.2s")
    assert _checks(mid_step) == ["running", "running"]
    steps_done = _show(capsys, store, _iso(seed.T0 + 10))
    assert _checks(steps_done) == ["ok", "ok"]
    assert steps_done["status"] != "succeeded" and steps_done["finished_at"] is None
    end = _show(capsys, store, "+1m")
    assert end["status"] == "succeeded"
    assert main(["show", RUN, "--json", "--store", str(store)]) == 0
    assert json.loads(capsys.readouterr().out) == end  # the end of time is the state now


def test_a_moment_that_cannot_be_read_is_said_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.db"
    seed.estate(store).close()
    for bad in ("yesterday", "+soon"):
        assert main(["show", RUN, "--at", bad, "--store", str(store)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"opsconsole: --at '{bad}'") and "Traceback" not in err


def test_a_time_that_show_printed_includes_the_events_of_that_millisecond(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console import events as ev
    from console.store.sqlite import SQLiteStore
    from tests.ui.seed import launch, step

    store_path = tmp_path / "store.db"
    store = SQLiteStore(store_path)
    run = "20261117-120000-dddd"
    launch(store, run, seed.T0 + 0.1234)
    step(store, run, seed.T0 + 1.2345678, "ehr-web-stg-01", "ok")
    store.append([ev.RunFinished(run_id=run, at=seed.T0 + 5.6789012, status="succeeded")])
    store.close()
    assert main(["show", run, "--json", "--store", str(store_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["finished_at"].endswith(".678Z")  # what a person copies from `show`
    assert (
        main(["show", run, "--at", printed["finished_at"], "--json", "--store", str(store_path)])
        == 0
    )
    at_end = json.loads(capsys.readouterr().out)
    assert at_end["status"] == "succeeded" and at_end["finished_at"] == printed["finished_at"]
    step_row = next(r for r in printed["steps"] if r["host"] == "ehr-web-stg-01")
    assert (
        main(["show", run, "--at", step_row["finished_at"], "--json", "--store", str(store_path)])
        == 0
    )
    at_step = json.loads(capsys.readouterr().out)
    assert next(r for r in at_step["steps"] if r["host"] == "ehr-web-stg-01")["status"] == "ok"
    assert at_step["status"] != "succeeded"


def test_a_run_waiting_at_its_gate_counts_up_to_the_moment_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No event arrives while a gate waits; the run's time still runs to the moment asked."""
    store = tmp_path / "store.db"
    seed.estate(store).close()  # the third run waits at its gate from launch + 2 s
    waiting = "20261117-110000-cccc"
    assert main(["show", waiting, "--at", "+90s", "--store", str(store)]) == 0
    assert "duration 1m30s" in capsys.readouterr().out  # started 0.1 s after its launch
    assert main(["show", waiting, "--at", "+10m", "--store", str(store)]) == 0
    assert "duration 10m00s" in capsys.readouterr().out
