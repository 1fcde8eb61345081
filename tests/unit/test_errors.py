"""Errors say what happened by their type: a rule's refusal of a decision or of a launch right,
a run whose state does not allow the action, each still a sentence for the person."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli.options import typed
from console.errors import (
    ConsoleError,
    GateRefused,
    LaunchRefused,
    Refused,
    TransferFailed,
    UsageError,
    WrongState,
)
from console.ops.resume import check_resumable
from console.ops.rights import refuse
from console.state import RunState
from console.store import open_store


def test_a_refused_decision_and_a_refused_launch_right_are_told_apart(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db", "mallory") as store:
        with pytest.raises(GateRefused, match="own run"):
            refuse(store, "mallory", "approve", "r1/board", "mallory launched it: own run")
        with pytest.raises(LaunchRefused, match="may not cancel"):
            refuse(store, "mallory", "cancel", "r1", "mallory may not cancel run r1")
        actions = [r.action for r in store.audit_records()]
    assert actions == ["approve_refused", "cancel_refused"]


def test_a_run_in_the_wrong_state_is_not_a_refusal() -> None:
    ended = RunState(id="r1", status="succeeded")
    with pytest.raises(WrongState, match="has ended") as caught:
        check_resumable(ended)
    assert isinstance(caught.value, UsageError) and not isinstance(caught.value, Refused)


def test_a_launch_into_production_not_confirmed_is_a_launch_refusal() -> None:
    with pytest.raises(LaunchRefused, match="does not name the environment"):
        typed("prod", "staging")
    typed("prod", "prod")  # the right name goes on
    typed(None, None)  # nothing to confirm outside production


def test_every_error_a_person_can_fix_is_a_console_error() -> None:
    for kind in (GateRefused, LaunchRefused, WrongState, TransferFailed):
        assert issubclass(kind, ConsoleError)
