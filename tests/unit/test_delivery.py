"""The delivery measures against a history whose every figure is worked out by hand below.

The history is written through the store's own append (a real SQLite file), read back
through each account's record cache, and measured over two weeks from Monday 2 November 2026.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from console import events as ev
from console.delivery.measures import Group, Period
from console.ops.metrics import measures, run_records
from console.store import Store, open_store

T0 = datetime(2026, 11, 2, tzinfo=UTC).timestamp()  # a Monday
H = 3600.0
PERIOD = Period(T0, T0 + 14 * 24 * H)
ORDER = ["dev", "staging", "prod"]
PERIOD_ARGS = ["--since", "2026-11-02", "--until", "2026-11-16"]  # PERIOD, as a person types it


class History:
    """Writes runs into a store as a runner and the people deciding would."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def launch(
        self,
        run: str,
        at: float,
        hosts: dict[str, str],
        pipeline: str = "deploy",
        release: str | None = None,
        repeats: str | None = None,
    ) -> None:
        envs = list(dict.fromkeys(hosts.values()))
        launched = ev.RunLaunched(
            run_id=run,
            at=T0 + at * H,
            pipeline=pipeline,
            pipeline_digest="a" * 64,
            pipeline_path="p.toml",
            inventory_path="i.toml",
            inventory_digest="b" * 64,
            params={"version": release} if release else {},
            targets=list(hosts),
            environments=envs,
            operator="carol",
            stages=[],
            repeats=repeats,
            host_environments=hosts,
            release=release,
        )
        self.store.create_run(launched, "")

    def add(self, *events: ev.Event) -> None:
        self.store.append(list(events))

    def step(self, run: str, at: float, host: str = "web1") -> None:
        self.add(ev.StepStarted(run_id=run, at=T0 + at * H, stage="s", step="x", host=host))

    def end(self, run: str, at: float, status: ev.FinalStatus) -> None:
        self.add(ev.RunFinished(run_id=run, at=T0 + at * H, status=status))

    def gate(self, run: str, opened: float, closed: float, outcome: str, who: str = "") -> None:
        at = T0 + opened * H
        self.add(
            ev.GateOpened(
                run_id=run, at=at, stage="g", step="board", message="", approvals_required=1
            )
        )
        if who:
            decision = "approve" if outcome == "approved" else "reject"
            self.add(
                ev.GateDecided(
                    run_id=run,
                    at=T0 + closed * H,
                    stage="g",
                    step="board",
                    decision=decision,
                    actor=who,
                )
            )
        self.add(
            ev.GateClosed(run_id=run, at=T0 + closed * H, stage="g", step="board", outcome=outcome)
        )


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Group]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with open_store(tmp_path / "store.db") as store:
        h = History(store)
        prod = {"web1": "prod"}
        h.launch("r1", 1, {"dev1": "dev"}, release="1.0")  # 1.0 starts in dev
        h.step("r1", 1.5, "dev1")
        h.end("r1", 2, "succeeded")
        h.launch("r2", 3, {"stg1": "staging"}, release="1.0")
        h.step("r2", 3.5, "stg1")
        h.end("r2", 4, "succeeded")  # lead time into staging: 4h - 1h = 3h
        h.launch("r3", 5, prod, release="1.0")
        h.gate("r3", 5, 7, "approved", "okafor")  # waited 2h on okafor
        h.step("r3", 7.5)
        h.end("r3", 8, "succeeded")  # lead time into prod: 8h - 1h = 7h
        h.launch("r4", 24, prod, release="1.1")  # 1.1 starts in prod: no lead time
        h.gate("r4", 24, 25, "approved", "lindqvist")  # 1h on lindqvist
        h.step("r4", 25.5)
        h.end("r4", 26, "failed")
        h.launch("r5", 27, prod, release="1.1", repeats="r4")  # the failed hosts again
        h.step("r5", 27.5)
        h.end("r5", 28, "succeeded")  # r4 recovered in 2h; a re-run: rework
        h.launch("r6", 48, prod, release="1.2")
        h.gate("r6", 48, 50, "rejected", "okafor")  # rejected: no deployment; 2h on okafor
        h.end("r6", 50, "rejected")
        h.launch("r7", 72, prod, release="1.3")
        h.step("r7", 72.5)
        h.add(ev.RunInterrupted(run_id="r7", at=T0 + 73 * H, pid=1, node="b1"))
        h.add(ev.RunResumed(run_id="r7", at=T0 + 74 * H, actor="carol"))  # rework
        h.end("r7", 75, "succeeded")  # resumed to success: not a failure
        h.launch("r8", 96, prod, release="1.4")
        h.step("r8", 96.5)
        h.add(ev.RollbackStarted(run_id="r8", at=T0 + 97 * H, stage="s", hosts=["web1"]))
        h.end("r8", 98, "failed")  # rolled back, never recovered
        h.launch("r9", -2, prod, pipeline="backup")  # ended before the period
        h.step("r9", -1.5)
        h.end("r9", -1, "succeeded")
        h.launch("r10", 14 * 24 - 1, prod, pipeline="backup")  # still running at its end
        h.step("r10", 14 * 24 - 0.5)
        h.launch("r11", 120, {"app1": "staging", "web1": "prod"}, release="1.5")
        h.step("r11", 120.2, "app1")
        h.step("r11", 120.4, "web1")
        h.end("r11", 121, "cancelled")  # cut off after its steps began, in both
        h.launch("r12", 130, prod, release="1.6")
        h.gate("r12", 130, 134, "expired")  # nobody decided: expired, no wait counted
        h.end("r12", 134, "expired")
        found = measures(run_records(store), PERIOD, ORDER)
    return found.groups


def _group(groups: list[Group], env: str, pipeline: str | None = None) -> Group:
    return next(g for g in groups if g.environment == env and g.pipeline == pipeline)


def test_production_is_measured_as_worked_out_by_hand(history: list[Group]) -> None:
    prod = _group(history, "prod")
    assert sorted(r.run_id for r in prod.deployments) == ["r11", "r3", "r4", "r5", "r7", "r8"]
    assert sorted(r.run_id for r in prod.failed) == ["r11", "r4", "r8"]
    assert prod.change_failure_rate == 0.5
    assert prod.per_day == pytest.approx(6 / 14)
    assert prod.recovery.samples == (2 * H,)
    assert sorted(r.run_id for r in prod.unrecovered) == ["r11", "r8"]
    assert prod.lead_time.samples == (7 * H,)
    assert sorted(prod.gate_wait.samples) == [1 * H, 2 * H, 2 * H]
    assert (prod.gate_wait.median, prod.gate_wait.p90) == (2 * H, 2 * H)
    assert (prod.gates_rejected, prod.gates_expired) == (1, 1)
    assert {who: d.samples for who, d in prod.waited_on.items()} == {
        "lindqvist": (1 * H,),
        "okafor": (2 * H, 2 * H),
    }
    assert prod.rework_rate == pytest.approx(2 / 6)
    assert prod.bands == {
        "deployment_frequency": "high",
        "change_failure_rate": "low",
        "recovery": "high",
        "lead_time": "elite",
    }


def test_the_other_environments_and_pipelines(history: list[Group]) -> None:
    dev, staging = _group(history, "dev"), _group(history, "staging")
    assert [r.run_id for r in dev.deployments] == ["r1"] and dev.change_failure_rate == 0
    assert sorted(r.run_id for r in staging.deployments) == ["r11", "r2"]
    assert staging.change_failure_rate == 0.5
    assert staging.lead_time.samples == (3 * H,)
    assert dev.lead_time.samples == ()  # where 1.0 was first launched
    deploy = _group(history, "prod", "deploy")
    assert len(deploy.deployments) == 6 and deploy.recovery.samples == (2 * H,)
    backup = [g for g in history if g.pipeline == "backup"]
    assert backup == []  # before the period, and still running at its end


def test_the_cache_folds_only_what_is_new_and_agrees_with_a_fold_from_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: list[Group]
) -> None:
    from console.delivery.record import record_of
    from console.store.recordcache import cache_path

    with open_store(tmp_path / "store.db") as store:
        History(store).end("r10", 14 * 24 - 0.2, "succeeded")  # the running backup ends
        book = run_records(store)
        cached = dict(book.records)
        fresh = {run.id: record_of(s.event for s in store.read(run.id)) for run in store.runs()}
        location = store.location
    assert cached == fresh and cached["r10"].status == "succeeded"
    backup = _group(measures(book, PERIOD, ORDER).groups, "prod", "backup")
    assert [r.run_id for r in backup.deployments] == ["r10"]
    assert cache_path(location).stat().st_mode & 0o777 == 0o600  # the reader's own


def test_metrics_prints_json_csv_and_a_table(
    tmp_path: Path, history: list[Group], capsys: pytest.CaptureFixture[str]
) -> None:
    import csv
    import io
    import json

    from console.cli import main

    period = [*PERIOD_ARGS, "--store", str(tmp_path / "store.db")]
    assert main(["metrics", "--json", *period]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["since"], doc["until"]) == ("2026-11-02T00:00:00Z", "2026-11-16T00:00:00Z")
    prod = next(g for g in doc["groups"] if g["environment"] == "prod" and g["pipeline"] is None)
    assert prod["deployments"] == 6 and prod["change_failure_rate"] == 0.5
    assert prod["recovery_s"] == {"count": 1, "median": 7200.0, "p90": 7200.0, "unrecovered": 2}
    assert prod["bands"]["lead_time"] == "elite"
    assert [w["week"] for w in doc["weeks"] if w["environment"] == "prod"] == [
        "2026-W45",
        "2026-W46",
    ]
    assert main(["metrics", "--csv", "--environment", "staging", *period]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["environment"], r["pipeline"], r["deployments"]) for r in rows] == [
        ("staging", "", "2"),
        ("staging", "deploy", "2"),
    ]
    assert main(["metrics", *period]) == 0
    shown = capsys.readouterr().out
    assert "prod" in shown and "3 · 50%" in shown and "2h00m (p90 2h00m) · 2 open" in shown


def test_a_period_given_wrong_is_said_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    assert main(["metrics", "--since", "last tuesday", "--store", str(tmp_path / "s.db")]) == 2
    err = capsys.readouterr().err
    assert "--since 'last tuesday' is neither a span back from now (90d, 12w, 36h)" in err
    assert "Traceback" not in err


def test_a_period_read_from_the_cache_measures_as_the_whole_history_does(
    tmp_path: Path, history: list[Group]
) -> None:
    """Only runs still open or ended in the period are loaded; releases come whole."""
    from console.render.metrics import group_json

    with open_store(tmp_path / "store.db") as store:
        part = run_records(store, PERIOD.since)
        whole = run_records(store)
    assert "r9" in whole.records and "r9" not in part.records  # ended before the period
    assert [group_json(g) for g in measures(part, PERIOD, ORDER).groups] == [
        group_json(g) for g in history
    ]


def test_the_html_report_holds_each_environment_its_figures_and_charts(
    tmp_path: Path, history: list[Group], capsys: pytest.CaptureFixture[str]
) -> None:
    from html.parser import HTMLParser

    from console.cli import main

    class Page(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.sections: list[str] = []
            self.svgs: dict[str, list[str]] = {}
            self.cells: dict[str, list[str]] = {}
            self._in_td = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "section":
                self.sections.append(str(found["id"]))
            elif tag == "svg":
                self.svgs.setdefault(self.sections[-1], []).append(str(found["aria-label"]))
            self._in_td = tag == "td"

        def handle_data(self, data: str) -> None:
            if self._in_td:
                self.cells.setdefault(self.sections[-1], []).append(data)
                self._in_td = False

    out = tmp_path / "report.html"
    period = [*PERIOD_ARGS, "--store", str(tmp_path / "store.db")]
    assert main(["metrics", "--format", "html", "--out", str(out), *period]) == 0
    assert f"wrote the delivery report to {out}" in capsys.readouterr().out
    page = Page()
    page.feed(out.read_text())
    assert page.sections == ["env-dev", "env-staging", "env-prod"]
    assert page.cells["env-prod"][:5] == ["prod", "6", "0.43", "3", "50%"]
    assert page.svgs["env-prod"] == [
        "Deployments",
        "Change failure rate",
        "Recovery time (median)",
        "Lead time (median)",
        "Gate wait (median)",
    ]
    assert main(["metrics", "--format", "html", *period]) == 2  # no --out: said, not written
    assert "say where with --out FILE" in capsys.readouterr().err


def test_the_table_by_week(
    tmp_path: Path, history: list[Group], capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    period = [*PERIOD_ARGS, "--store", str(tmp_path / "store.db")]
    assert main(["metrics", "--by", "week", *period]) == 0
    weeks = [
        line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("2026-W")
    ]
    assert ["2026-W45", "prod", "6", "3", "·", "50%", "2h00m", "7h00m", "2h00m"] in weeks
    assert ["2026-W46", "prod", "0", "0", "·", "–", "–", "–", "–"] in weeks


def test_a_damaged_cache_is_made_again_from_the_events(
    tmp_path: Path, history: list[Group]
) -> None:
    from console.store.recordcache import cache_path

    with open_store(tmp_path / "store.db") as store:
        cache_path(store.location).write_bytes(b"not a database at all" * 100)
        book = run_records(store)
    assert len(book.records) == 12 and book.records["r7"].status == "succeeded"


def test_a_cache_another_account_could_write_is_not_believed(
    tmp_path: Path, history: list[Group]
) -> None:
    """Someone who may write the cache file empties it and moves its cursor past every event:
    the measures come from the store's events, not from their file."""
    import os
    import sqlite3

    from console.store.recordcache import cache_path

    with open_store(tmp_path / "store.db") as store:
        path = cache_path(store.location)
        db = sqlite3.connect(path)
        with db:
            db.execute("DELETE FROM records")
            db.execute("UPDATE book SET cursor = 1000000")
        db.close()
        os.chmod(path, 0o666)
        book = run_records(store)
    assert len(book.records) == 12
