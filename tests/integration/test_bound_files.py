"""What an approval covers is what runs: scripts and upload sources are bound by content at
launch, and the person who launched a run cannot swap them after the approval, through the
real sshd and real runner processes."""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from console.store import open_store
from tests.conftest import Estate, on_each_store
from tests.helpers import SECOND_ACCOUNT, as_account, show_json, spawn_cli, wait_for

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as a second account needs root to switch to it"
)

SHIP = """
    name = "ship"
    targets = ["h1"]
    [[stages]]
    name = "approval"
      [[stages.steps]]
      name = "change board"
      gate = "Ship the release"
    [[stages]]
    name = "pause"
      [[stages.steps]]
      name = "wait for the test"
      run = "while [ ! -e {work}/go ]; do sleep 0.05; done"
    [[stages]]
    name = "deliver"
      [[stages.steps]]
      name = "tool"
      script = "tool.sh"
      [[stages.steps]]
      name = "release"
      upload = {{ src = "release.tar", dest = "{work}/release.tar", mode = "0644" }}
"""


def _estate(estate: Estate) -> Estate:
    (estate.root / "tool.sh").write_text(f"#!/bin/sh\necho approved > {estate.work}/tool-ran\n")
    (estate.root / "release.tar").write_bytes(b"the approved release\n" * 1000)
    estate.pipeline("ship", SHIP.format(work=estate.work))
    return estate


def _launch_and_wait(estate: Estate) -> str:
    result = spawn_cli(estate, "run", "ship", "--detach")
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    wait_for(lambda: show_json(estate, run_id)["status"] == "waiting", 60, "the gate")
    return run_id


def _approve(estate: Estate, run_id: str) -> None:
    done = spawn_cli(estate, "approve", run_id, "--reason", "reviewed the release")
    assert done.returncode == 0, done.stderr


def _cell(estate: Estate, run_id: str, step: str, host: str = "h1") -> dict[str, object]:
    rows = show_json(estate, run_id)["steps"]
    return next(r for r in rows if r["step"] == step and r["host"] == host)


def _ended(estate: Estate, run_id: str) -> str:
    wait_for(lambda: show_json(estate, run_id)["finished_at"] is not None, 60, "the run's end")
    return str(show_json(estate, run_id)["status"])


@on_each_store
def test_files_rewritten_after_the_approval_never_reach_the_host(estate: Estate) -> None:
    _estate(estate)
    approved = hashlib.sha256((estate.root / "release.tar").read_bytes()).hexdigest()
    run_id = _launch_and_wait(estate)
    _approve(estate, run_id)
    wait_for(lambda: _cell(estate, run_id, "wait for the test")["status"] == "running", 60, "pause")
    # The launcher swaps both files once the change board has approved them.
    (estate.root / "tool.sh").write_text(f"#!/bin/sh\necho swapped > {estate.work}/tool-ran\n")
    (estate.root / "release.tar").write_bytes(b"a release nobody reviewed\n" * 1000)
    swapped = hashlib.sha256((estate.root / "release.tar").read_bytes()).hexdigest()
    (estate.work / "go").touch()
    assert _ended(estate, run_id) == "failed"
    assert (estate.work / "tool-ran").read_text() == "approved\n"  # the bytes that were bound
    release = _cell(estate, run_id, "release")
    assert release["status"] == "failed"
    assert (
        f"release.tar changed since it was bound to this run (sha256 {approved[:16]}… then, "
        f"{swapped[:16]}… now): it is not what was approved, and nothing was put in place on any "
        "host" == release["message"]
    )
    assert sorted(p.name for p in estate.work.iterdir()) == ["go", "tool-ran"]  # no temp left


@on_each_store
def test_a_file_changed_while_the_gate_waits_voids_the_approvals(estate: Estate) -> None:
    _estate(estate)
    old = hashlib.sha256((estate.root / "release.tar").read_bytes()).hexdigest()
    run_id = _launch_and_wait(estate)
    first = show_json(estate, run_id)["gates"][0]["plan_digest"]
    (estate.root / "release.tar").write_bytes(b"release two\n" * 1000)
    new = hashlib.sha256((estate.root / "release.tar").read_bytes()).hexdigest()
    wait_for(
        lambda: show_json(estate, run_id)["gates"][0]["plan_digest"] != first, 30, "the re-check"
    )
    with open_store(estate.store) as store:
        voided = [r.details for r in store.audit_records() if r.action == "approvals_voided"]
    assert voided[0]["reason"] == (
        f"release.tar (sha256 {old[:16]}… → {new[:16]}…) changed; approvals given before are void"
    )
    _approve(estate, run_id)  # the board approves what is there now, and that is what ships
    (estate.work / "go").touch()
    assert _ended(estate, run_id) == "succeeded"
    assert (estate.work / "release.tar").read_bytes() == b"release two\n" * 1000
    assert _cell(estate, run_id, "release")["digest"] == new


def test_a_large_upload_is_read_once_by_the_runner(estate: Estate) -> None:
    size = 96 << 20
    with (estate.root / "image.raw").open("wb") as out:
        for _ in range(size >> 20):
            out.write(hashlib.sha256(out.name.encode()).digest() * (1 << 15))
    estate.pipeline(
        "image",
        f"""
        name = "image"
        targets = ["h1"]
        [[stages]]
        name = "deliver"
          [[stages.steps]]
          name = "image"
          upload = {{ src = "image.raw", dest = "{estate.work}/image.raw" }}
        [[stages]]
        name = "hold"
          [[stages.steps]]
          name = "wait"
          run = "while [ ! -e {estate.work}/go ]; do sleep 0.05; done"
        """,
    )
    result = spawn_cli(estate, "run", "image", "--detach")
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    wait_for(lambda: _cell(estate, run_id, "wait")["status"] == "running", 120, "the upload")
    pid = subprocess.run(
        ["pgrep", "-f", f"_runner {run_id}"], capture_output=True, text=True
    ).stdout.split()[0]
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    (estate.work / "go").touch()
    assert size <= int(io["rchar"]) < size * 1.5  # streamed and hashed at once, not read twice
    assert _ended(estate, run_id) == "succeeded"
    assert (
        _cell(estate, run_id, "image")["digest"]
        == hashlib.sha256((estate.root / "image.raw").read_bytes()).hexdigest()
    )


RELAY = """
    name = "relay"
    targets = ["h1", "h2"]
    [[stages]]
    name = "collect"
      [[stages.steps]]
      name = "fetch"
      hosts = ["h1"]
      download = {{ src = "{work}/batch.tgz", dest = "transfers/batch.tgz" }}
    [[stages]]
    name = "pause"
      [[stages.steps]]
      name = "wait for the test"
      hosts = ["h1"]
      run = "while [ ! -e {work}/go ]; do sleep 0.05; done"
    [[stages]]
    name = "deliver"
      [[stages.steps]]
      name = "send"
      hosts = ["h2"]
      upload = {{ src = "transfers/batch.tgz", dest = "{work}/delivered.tgz" }}
"""


def _relay(estate: Estate, group: int | None = None) -> str:
    (estate.work / "batch.tgz").write_bytes(b"lab results\n" * 500)
    transfers = estate.root / "transfers"
    transfers.mkdir()
    if group is not None:  # a folder the operators' group shares, as on a bastion
        os.chown(transfers, -1, group)
        transfers.chmod(0o2775)
    estate.pipeline("relay", RELAY.format(work=estate.work))
    result = spawn_cli(estate, "run", "relay", "--detach")
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    wait_for(lambda: _cell(estate, run_id, "wait for the test")["status"] == "running", 60, "pause")
    return run_id


def test_a_file_this_run_downloaded_is_sent_on_as_it_was_verified(estate: Estate) -> None:
    run_id = _relay(estate)
    (estate.work / "go").touch()
    assert _ended(estate, run_id) == "succeeded"
    assert (estate.work / "delivered.tgz").read_bytes() == b"lab results\n" * 500
    fetched = _cell(estate, run_id, "fetch")
    assert fetched["file"] == "transfers/batch.tgz"
    assert _cell(estate, run_id, "send", "h2")["digest"] == fetched["digest"]


@needs_root
def test_a_downloaded_file_swapped_in_a_shared_folder_is_not_sent(estate: Estate) -> None:
    other = pwd.getpwnam(SECOND_ACCOUNT)
    run_id = _relay(estate, other.pw_gid)
    fetched = estate.root / "transfers" / "batch.tgz"

    def swap() -> None:  # a co-operator in the group that shares the folder
        mine = fetched.with_name(".x")
        mine.write_bytes(b"forged results\n")
        os.rename(mine, fetched)

    assert as_account(SECOND_ACCOUNT, swap) == 0
    (estate.work / "go").touch()
    assert _ended(estate, run_id) == "failed"
    sent = _cell(estate, run_id, "send", "h2")
    assert sent["status"] == "failed"
    assert sent["message"] == (
        "transfers/batch.tgz is no longer the file this run downloaded (another account's, "
        "linked elsewhere or writable by others); nothing was sent"
    )
    assert not (estate.work / "delivered.tgz").exists()


def test_a_downloaded_file_changed_before_it_is_sent_is_refused(estate: Estate) -> None:
    run_id = _relay(estate)
    fetched = estate.root / "transfers" / "batch.tgz"
    fetched.write_bytes(b"edited results\n")  # the operator's own file, other bytes
    (estate.work / "go").touch()
    assert _ended(estate, run_id) == "failed"
    assert "transfers/batch.tgz changed since it was bound to this run" in str(
        _cell(estate, run_id, "send", "h2")["message"]
    )
    assert not (estate.work / "delivered.tgz").exists()
