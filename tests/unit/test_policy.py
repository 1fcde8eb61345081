"""The approval rules: merged policies, the two-person rule, roles, tickets, freezes, counting."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from console import events as ev
from console.freeze import check_window, in_force
from console.model.inventory import Inventory
from console.policy import Ballot, Policy, gate_policy, judge, tally
from console.state import Gate

INVENTORY = Inventory.model_validate(
    {
        "inventory": {"name": "t"},
        "environments": {
            "staging": {"approver_roles": ["ops", "change-board"]},
            "prod": {
                "approvals": 2,
                "approver_roles": ["change-board"],
                "ticket_pattern": "CHG[0-9]{7}",
                "gate_timeout": "4h",
                "freeze": ["2026-12-24T00:00/2026-12-27T00:00"],
                "emergency_roles": ["on-call"],
            },
            "dev": {},
        },
        "operators": {
            "alice": {"roles": ["ops", "change-board"]},
            "bob": {"roles": ["ops"]},
            "carol": {"roles": ["change-board"]},
            "erin": {"roles": ["on-call"]},
        },
    }
)
PROD = gate_policy(INVENTORY, ["prod"])
NOW = datetime(2026, 11, 28, 10, 0).timestamp()
XMAS = datetime(2026, 12, 25, 10, 0).timestamp()


def _ballot(
    actor: str, decision: str = "approve", reason: str = "", ticket: str = "CHG0000001"
) -> Ballot:
    known = INVENTORY.operators.get(actor)
    return Ballot(actor, tuple(known.roles) if known else None, decision, reason, ticket)


def test_policies_merge_to_the_strictest() -> None:
    both = gate_policy(INVENTORY, ["staging", "prod"])
    assert both.approvals == 2 and both.approver_roles == ("change-board",)
    assert not both.self_approval and both.gate_timeout == 4 * 3600
    assert gate_policy(INVENTORY, ["dev"]).self_approval  # only staging and prod default to no
    assert not gate_policy(INVENTORY, ["staging"]).self_approval


def test_a_gate_step_can_tighten_but_not_loosen() -> None:
    from console.model.pipeline import Step

    step = Step(
        name="g", gate="go", approvals=1, self_approval=True, approver_roles=["ops", "change-board"]
    )
    tightened = gate_policy(INVENTORY, ["prod"], step)
    assert tightened.approvals == 2 and not tightened.self_approval
    assert tightened.approver_roles == ("change-board",)
    three = gate_policy(
        INVENTORY, ["dev"], Step(name="g", gate="go", approvals=3, ticket_pattern="INC.*")
    )
    assert three.approvals == 3 and three.ticket_patterns == ("INC.*",)


@pytest.mark.parametrize(
    ("ballot", "launcher", "before", "says"),
    [
        (
            _ballot("carol"),
            "carol",
            False,
            "carol launched this run and so cannot approve its gates in prod",
        ),
        (
            _ballot("bob"),
            "alice",
            False,
            "bob may not approve gates in prod: that needs the role change-board",
        ),
        (_ballot("mallory"), "alice", False, "mallory is not an operator"),
        (_ballot("carol"), "alice", True, "carol has already approved this gate"),
        (_ballot("carol", ticket=""), "alice", False, "need a change ticket matching CHG[0-9]{7}"),
        (
            _ballot("carol", ticket="JIRA-1"),
            "alice",
            False,
            "ticket 'JIRA-1' does not match CHG[0-9]{7}",
        ),
        (_ballot("carol", "reject"), "alice", False, "a rejection needs a reason"),
        (_ballot("bob", "reject", reason="no"), "alice", False, "bob may not decide gates in prod"),
    ],
)
def test_refusals_say_why(ballot: Ballot, launcher: str, before: bool, says: str) -> None:
    problem, _ = judge(PROD, ballot, launcher, before, NOW)
    assert problem is not None and says in problem


def test_allowed_decisions() -> None:
    assert judge(PROD, _ballot("carol"), "alice", False, NOW) == (None, False)
    assert judge(PROD, _ballot("alice", "reject", reason="bad window"), "alice", False, NOW) == (
        None,
        False,
    )


def test_a_freeze_takes_only_emergency_approvals_with_a_reason() -> None:
    problem, _ = judge(PROD, _ballot("carol"), "alice", False, XMAS)
    assert (
        problem
        and "change freeze (2026-12-24T00:00/2026-12-27T00:00)" in problem
        and "on-call" in problem
    )
    problem, _ = judge(PROD, _ballot("erin"), "alice", False, XMAS)
    assert problem and "emergency approval during the freeze of prod needs a reason" in problem
    assert judge(PROD, _ballot("erin", reason="EHR down"), "alice", False, XMAS) == (None, True)


def test_weekly_windows_wrap_over_the_weekend() -> None:
    window = check_window("Fri 18:00-Mon 06:00")
    friday = datetime(2026, 11, 27, 18, 30)
    assert in_force(window, friday.timestamp())
    assert in_force(window, (friday + timedelta(days=2)).timestamp())  # Sunday
    assert not in_force(window, (friday + timedelta(days=3, hours=1)).timestamp())  # Monday 07:30
    assert not in_force(window, datetime(2026, 11, 25, 12, 0).timestamp())  # Wednesday


@pytest.mark.parametrize(
    "bad", ["Fri 18:00", "Fry 18:00-Mon 06:00", "Fri 25:00-Mon 06:00", "2026-12-27/2026-12-24"]
)
def test_bad_windows_are_refused_in_words(bad: str) -> None:
    with pytest.raises(ValueError, match="freeze window"):
        check_window(bad)


def _decided(
    actor: str, decision: str = "approve", digest: str = "d1", reason: str = ""
) -> ev.GateDecided:
    return ev.GateDecided(
        run_id="r",
        at=NOW,
        stage="s",
        step="g",
        decision=decision,
        actor=actor,
        reason=reason,
        ticket="CHG0000001",
        plan_digest=digest,
    )


def test_tally_counts_distinct_allowed_approvals_of_this_plan_only() -> None:
    gate = Gate("s", "g", plan_digest="d1")
    gate.decisions = [
        _decided("carol"),
        _decided("carol"),  # twice counts once
        _decided("alice", digest="old"),  # approved another plan
        _decided("bob"),  # role not allowed
        _decided("dmitri"),  # unknown
    ]
    approvers, rejection = tally(PROD, gate, "erin", INVENTORY.operators)
    assert approvers == ["carol"] and rejection is None
    gate.decisions.append(_decided("alice", "reject", reason="stop"))
    assert tally(PROD, gate, "erin", INVENTORY.operators)[1] is not None


def test_policy_round_trips_through_the_event() -> None:
    assert Policy.from_dict(PROD.as_dict()) == PROD
    assert "2 approvals · roles change-board · no self-approval" in PROD.describe()
