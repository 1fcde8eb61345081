"""Decisions written around opsconsole, as a co-operator with write access to a team's store
would write them with plain SQL: they count nowhere, every view says so, the person they
name can still decide, and `audit verify` names them."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from console import events as ev
from console.audit import chain, entry_for
from console.store.sqlite import _INSERT, _encode
from tests.conftest import Estate
from tests.helpers import SECOND_ACCOUNT, as_account, shared_file, show_json, spawn_cli, wait_for
from tests.integration.test_approvals import ME, _estate, _launch, agent  # noqa: F401
from tests.sshd import Sshd

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as a second account needs root to switch to it"
)


def _signed_estate(tmp_path: Path, sshd: Sshd, public: str) -> Estate:
    """A team store, and a gate whose policy wants every decision signed."""
    estate = shared_file(_estate(tmp_path, sshd, "approvals = 1\nsigned_approvals = true"))
    text = estate.inventory.read_text().replace(
        f'[operators.{ME}]\nroles = ["ops"]',
        f'[operators.{ME}]\nroles = ["ops"]\nssh_public_key = "{public}"',
    )
    estate.inventory.write_text(text)
    return estate


def _forge(store: Path, event: ev.GateDecided, details: dict[str, object] | None = None) -> None:
    """As the co-operator: append a decision event and a well-chained audit record, by hand."""

    def write() -> None:
        db = sqlite3.connect(store, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        db.execute(_INSERT, _encode(event))
        seq, prev = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        entry = entry_for(event, event.actor)
        assert entry is not None
        if details is not None:
            entry = type(entry)(entry.at, entry.actor, entry.action, entry.subject, details)
        record = chain(entry, seq + 1, prev)
        db.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.seq,
                record.at,
                record.actor,
                record.action,
                record.subject,
                json.dumps(record.details, sort_keys=True, separators=(",", ":")),
                record.prev,
                record.hash,
            ),
        )
        db.execute("COMMIT")

    assert as_account(SECOND_ACCOUNT, write) == 0


def _decision(estate: Estate, run_id: str, **fields: object) -> ev.GateDecided:
    gate = show_json(estate, run_id)["gates"][0]
    values: dict[str, object] = {
        "run_id": run_id,
        "at": time.time(),
        "stage": gate["stage"],
        "step": gate["step"],
        "decision": "approve",
        "actor": ME,
        "reason": "looks fine",
        "plan_digest": gate["plan_digest"],
    }
    return ev.GateDecided(**(values | fields))  # type: ignore[arg-type]


def test_an_unsigned_approval_in_someones_name_counts_nowhere(
    tmp_path: Path,
    sshd: Sshd,
    agent: tuple[str, Path],  # noqa: F811
) -> None:
    estate = _signed_estate(tmp_path, sshd, agent[0])
    run_id = _launch(estate)
    _forge(estate.store, _decision(estate, run_id))
    time.sleep(1.0)  # four looks of the runner at the store
    assert show_json(estate, run_id)["status"] == "waiting"
    shown = spawn_cli(estate, "show", run_id)
    assert "0/1 approvals" in shown.stdout
    assert f"approve by {ME}: looks fine — ignored: not signed" in shown.stdout
    decision = show_json(estate, run_id)["gates"][0]["decisions"][0]
    assert decision["counts"] is False and decision["ignored"] == "not signed"
    report = spawn_cli(estate, "export", run_id, "--format", "md")
    assert "approve — ignored: not signed" in report.stdout
    own = spawn_cli(estate, "approve", run_id, "--reason", "my own, signed")
    assert own.returncode == 0, own.stderr  # the forgery does not stand in the person's way
    wait_for(lambda: show_json(estate, run_id)["status"] == "succeeded", 60, "the run")
    verified = spawn_cli(estate, "audit", "verify")
    assert verified.returncode == 1
    assert f"{ME}'s approval of gate {run_id}/change board is not signed" in verified.stderr


def test_a_decision_event_with_no_audit_record_is_named(
    tmp_path: Path,
    sshd: Sshd,
    agent: tuple[str, Path],  # noqa: F811
) -> None:
    estate = _signed_estate(tmp_path, sshd, agent[0])
    run_id = _launch(estate)
    forged = _decision(estate, run_id)

    def write() -> None:  # the event alone: the trail never hears of it
        db = sqlite3.connect(estate.store, isolation_level=None)
        db.execute(_INSERT, _encode(forged))

    assert as_account(SECOND_ACCOUNT, write) == 0
    assert spawn_cli(estate, "cancel", run_id).returncode == 0
    verified = spawn_cli(estate, "audit", "verify")
    assert verified.returncode == 1
    assert f"{ME}'s approve of gate 'change board'" in verified.stderr
    assert "has no audit record: it was written around opsconsole" in verified.stderr


def test_a_signature_copied_from_another_run_is_named_and_counts_nowhere(
    tmp_path: Path,
    sshd: Sshd,
    agent: tuple[str, Path],  # noqa: F811
) -> None:
    estate = _signed_estate(tmp_path, sshd, agent[0])
    first = _launch(estate)
    assert spawn_cli(estate, "approve", first, "--reason", "first release").returncode == 0
    wait_for(lambda: show_json(estate, first)["status"] == "succeeded", 60, "the first run")
    second = _launch(estate)
    records = [
        json.loads(line) for line in spawn_cli(estate, "audit", "export").stdout.splitlines()
    ]
    genuine = next(r for r in records if r.get("action") == "gate_approved")["details"]
    copied = _decision(estate, second, reason="first release", signature=genuine["signature"])
    _forge(estate.store, copied, {**genuine, "plan_digest": copied.plan_digest})
    time.sleep(1.0)
    assert show_json(estate, second)["status"] == "waiting"
    shown = spawn_cli(estate, "show", second)
    assert (
        f"— ignored: badly signed: it does not verify with {ME}'s key in the inventory"
        in shown.stdout
    )
    verified = spawn_cli(estate, "audit", "verify")
    assert verified.returncode == 1
    assert (
        f"the signature on {ME}'s decision was made for another record (its signed document "
        f"names run_id '{first}' where the record has '{second}'" in verified.stderr
    )
    spawn_cli(estate, "cancel", second)
