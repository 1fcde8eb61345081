"""Delivery measures of runs the real engine made against the test sshd, on each store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Estate, on_each_store
from tests.helpers import run_cli

RELEASE = """
    name = "release"
    targets = ["all"]
    release = "version"
    [params.version]
    default = "1.0"
    [params.outcome]
    default = "ok"
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "install"
      run = "test {{ outcome }} = ok"
"""


@on_each_store
def test_runs_the_engine_made_are_measured(
    estate: Estate,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    estate.pipeline("release", RELEASE)
    assert run_cli(estate, "run", "release", "--param", "version=1.0") == 0
    assert (
        run_cli(estate, "run", "release", "--param", "version=1.1", "--param", "outcome=broken")
        == 1
    )
    capsys.readouterr()
    assert run_cli(estate, "metrics", "--json", "--environment", "test") == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    test = next(g for g in groups if g["pipeline"] is None)
    assert (test["environment"], test["deployments"], test["failed"]) == ("test", 2, 1)
    assert test["change_failure_rate"] == 0.5 and test["recovery_s"]["unrecovered"] == 1
    assert run_cli(estate, "run", "release", "--param", "version=1.1") == 0
    capsys.readouterr()
    assert run_cli(estate, "metrics", "--json") == 0  # the cache takes the new run up
    test = next(g for g in json.loads(capsys.readouterr().out)["groups"] if g["pipeline"] is None)
    assert test["deployments"] == 3 and test["recovery_s"]["count"] == 1


def test_a_release_that_names_no_param_is_refused_in_words(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    estate.pipeline("release", RELEASE.replace('release = "version"', 'release = "verison"'))
    assert run_cli(estate, "validate") != 0
    said = capsys.readouterr()
    text = said.out + said.err
    assert "release names the param 'verison', which is not one of its params" in text
    assert "Traceback" not in text
