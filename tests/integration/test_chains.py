"""One pipeline after another: a run that succeeds has its runner launch what follows it, a
run of its own by the same operator, linked both ways; a run that does not succeed stops
the chain and says so; a follower refused at launch is said too. Chains cannot loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.errors import ConfigError
from tests.conftest import Estate, write_estate
from tests.helpers import run_cli, show_json, state_of, wait_for
from tests.sshd import Sshd

BUILD = """
    name = "build"
    targets = ["all"]
    [params.version]
    type = "string"
    required = true
    [params.fail]
    type = "bool"
    default = false
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "make"
      run = "echo built {{ version }}; test {{ fail }} = false"
    [[then]]
    pipeline = "ship"
    params = { version = "{{ version }}", note = "after build {{ version }}" }
    limit = "h1"
    [[then]]
    pipeline = "tell"
"""

SHIP = """
    name = "ship"
    targets = ["all"]
    [params.version]
    type = "string"
    required = true
    [params.note]
    type = "string"
    default = ""
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "install"
      run = "echo shipping {{ version }} {{ note }}"
"""

TELL = """
    name = "tell"
    targets = ["all"]
    [params.who]
    type = "string"
    required = true
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "say"
      run = "echo {{ who }}"
"""


def _estate(tmp_path: Path, sshd: Sshd) -> Estate:
    estate = write_estate(tmp_path, sshd, hosts=2)
    for name, text in (("build", BUILD), ("ship", SHIP), ("tell", TELL)):
        estate.pipeline(name, text)
    return estate


def _run_of(estate: Estate, pipeline: str) -> str:
    from console.store import open_store

    with open_store(estate.store) as store:
        return next(r.id for r in store.runs() if r.pipeline == pipeline)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_run_that_succeeds_launches_what_follows_it(  # type: ignore[no-untyped-def]
    tmp_path: Path, sshd: Sshd, capsys, request, kind: str
) -> None:
    estate = _estate(tmp_path, sshd)
    if kind == "postgresql":
        from dataclasses import replace

        estate = replace(estate, store=request.getfixturevalue("team_store"))
    assert run_cli(estate, "run", "build", "-p", "version=3.4.5") == 0
    leader = _run_of(estate, "build")
    build = state_of(estate, leader)
    wait_for(lambda: len(show_json(estate, leader)["followers"]) == 1, what="the follower's launch")
    shown = show_json(estate, leader)
    follower = shown["followers"][0]["run"]
    assert shown["followers"][0]["pipeline"] == "ship"
    why = shown["chain_stopped"][0]
    assert why["pipeline"] == "tell" and "param 'who' is required" in why["why"]
    wait_for(lambda: state_of(estate, follower).status == "succeeded", what="the follower")
    after = state_of(estate, follower)
    assert after.launched is not None and after.launched.follows == leader
    assert after.params == {"version": "3.4.5", "note": "after build 3.4.5"}
    assert after.operator == build.operator and after.targets == ["h1"]  # its limit, rendered
    capsys.readouterr()
    assert run_cli(estate, "show", leader) == 0
    out = capsys.readouterr().out
    assert f"then      ship: run {follower}" in out and "then      tell: not launched" in out
    assert run_cli(estate, "show", follower) == 0
    assert f"follows   run {leader}" in capsys.readouterr().out


def test_a_run_that_fails_stops_the_chain_and_says_so(tmp_path: Path, sshd: Sshd) -> None:
    estate = _estate(tmp_path, sshd)
    assert run_cli(estate, "run", "build", "-p", "version=3.4.6", "-p", "fail=true") == 1
    shown = show_json(estate, _run_of(estate, "build"))
    assert shown["pipeline"] == "build" and not shown["followers"]
    assert [s["pipeline"] for s in shown["chain_stopped"]] == ["ship", "tell"]
    assert all(
        "ended failed, so what follows it was not launched" in s["why"]
        for s in shown["chain_stopped"]
    )


def test_a_chain_that_comes_back_round_is_refused_with_its_path(tmp_path: Path, sshd: Sshd) -> None:
    from console.model.load import load_config

    estate = _estate(tmp_path, sshd)
    estate.pipeline(
        "ship",
        SHIP
        + '\n    [[then]]\n    pipeline = "build"\n    params = { version = "{{ version }}" }\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(estate.inventory)
    said = "\n".join(p.message for p in caught.value.problems)
    assert "what follows 'build' comes back to it (build -> ship -> build)" in said
