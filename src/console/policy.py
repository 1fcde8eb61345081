"""Who may decide a gate, and what a decision needs: the one place these rules live.

The runner works out a gate's policy when it opens the gate and records it in the event, so
the console, the CLI and the runner all judge decisions by the same rules. A refusal is a
sentence that says why.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from console import events as ev
from console import freeze
from console.state import Gate

if TYPE_CHECKING:  # the rules need no pydantic: the console draws its first frame without it
    from console.model.inventory import Environment, Inventory, Operator, Promotion
    from console.model.pipeline import Step

PRODUCTION = ("prod", "production")
"""Environment names that mean production: a launch there needs the name typed."""

SELF_APPROVAL_OFF = (*PRODUCTION, "staging")
"""Environments where, unless the inventory says otherwise, nobody approves their own run."""


@dataclass(frozen=True)
class Policy:
    """The rules a gate's decisions must meet, merged over the environments the run touches."""

    environments: tuple[str, ...] = ()
    approvals: int = 1
    approver_roles: tuple[str, ...] = ()
    self_approval: bool = True
    ticket_patterns: tuple[str, ...] = ()
    gate_timeout: float | None = None
    freeze: tuple[str, ...] = ()
    emergency_roles: tuple[str, ...] = ()
    signed_approvals: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the GateOpened event."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        """Back from the event (an empty dict is the permissive policy of older runs)."""
        fields: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})

    @property
    def where(self) -> str:
        """The environments, for sentences."""
        return ", ".join(self.environments) or "this run"

    def describe(self) -> str:
        """One line for people: `2 approvals · roles change-board · no self-approval · ticket CHG\\d+`."""
        parts = [f"{self.approvals} approval{'s' if self.approvals != 1 else ''}"]
        if self.approver_roles:
            parts.append("roles " + "/".join(self.approver_roles))
        if not self.self_approval:
            parts.append("no self-approval")
        parts += [f"ticket {p}" for p in self.ticket_patterns]
        if self.freeze:
            parts.append("freeze " + "; ".join(self.freeze))
        if self.signed_approvals:
            parts.append("signed")
        return " · ".join(parts)


def automatic_problem(policy: Policy, step: Step) -> str | None:
    """Why a gate cannot be decided: it needs no approvals and has no checks to decide it
    (None when it can)."""
    if policy.approvals or step.has_checks:
        return None
    where = ", ".join(policy.environments) or "its environment"
    return (
        f"gate '{step.name}' needs no approvals in {where} (approvals = 0) and has no checks "
        "to decide it; give the gate checks, or set approvals"
    )


def _self_approval(name: str, env: Environment) -> bool:
    return env.self_approval if env.self_approval is not None else name not in SELF_APPROVAL_OFF


def _narrow(current: tuple[str, ...], more: list[str] | None) -> tuple[str, ...]:
    """Role lists combine by intersection: an approver must satisfy every environment."""
    if not more:
        return current
    return tuple(r for r in current if r in more) if current else tuple(more)


def gate_policy(inventory: Inventory, environments: list[str], step: Step | None = None) -> Policy:
    """The strictest combination of the environments' policies and the gate step's own settings."""
    governed = any(name in inventory.environments for name in environments)
    # approvals start from none where environments govern them: each one's count raises it
    policy = Policy(environments=tuple(environments), approvals=0 if governed else 1)
    for name in environments:
        env = inventory.environments.get(name)
        if env is None:
            continue
        timeouts = [t for t in (policy.gate_timeout, env.gate_timeout) if t]
        policy = Policy(
            environments=policy.environments,
            approvals=max(policy.approvals, env.approvals),
            approver_roles=_narrow(policy.approver_roles, env.approver_roles),
            self_approval=policy.self_approval and _self_approval(name, env),
            ticket_patterns=policy.ticket_patterns
            + ((env.ticket_pattern,) if env.ticket_pattern else ()),
            gate_timeout=min(timeouts) if timeouts else None,
            freeze=policy.freeze + tuple(env.freeze),
            emergency_roles=_narrow(policy.emergency_roles, env.emergency_roles),
            signed_approvals=policy.signed_approvals or env.signed_approvals,
        )
    return _tighten(policy, step) if step is not None else policy


def for_store(policy: Policy, others_may_write: str | None) -> Policy:
    """The gate's policy in a store other accounts may write (a shared SQLite file, where
    anyone who can write it can append a decision in anyone's name): a gate that needs more
    than one approval counts only signed decisions there."""
    if others_may_write is None or policy.approvals < 2 or policy.signed_approvals:
        return policy
    return replace(policy, signed_approvals=True)


def shared_file_warning(where: str, others: str) -> str:
    """What a command says once about a store file other accounts may write."""
    return (
        f"the store {where} may be written by {others}: decisions in it are only as "
        "trustworthy as every account that can write the file, so gates that need more than "
        "one approval count only signed decisions here. A team's runs belong in a team store "
        "in PostgreSQL, where the database decides who wrote what (`opsconsole store init`)"
    )


def _tighten(policy: Policy, step: Step) -> Policy:
    timeouts = [t for t in (policy.gate_timeout, step.gate_timeout) if t]
    return Policy(
        environments=policy.environments,
        approvals=max(policy.approvals, step.approvals or 0),
        approver_roles=_narrow(policy.approver_roles, step.approver_roles),
        self_approval=policy.self_approval and step.self_approval is not False,
        ticket_patterns=policy.ticket_patterns
        + ((step.ticket_pattern,) if step.ticket_pattern else ()),
        gate_timeout=min(timeouts) if timeouts else None,
        freeze=policy.freeze,
        emergency_roles=policy.emergency_roles,
        signed_approvals=policy.signed_approvals or bool(step.signed_approvals),
    )


def may_launch(inventory: Inventory, environments: list[str], actor: str) -> str | None:
    """Why `actor` may not launch into these environments (None when they may).

    Re-running, resuming and cancelling a run are the same right: whoever may not start a
    change in an environment may not start it again, carry it on or stop it there either.
    """
    governed = [e for e in environments if e in inventory.environments]
    if not governed:
        return None
    known = inventory.operators.get(actor)
    if known is None:
        return (
            f"{actor} is not an operator in the inventory's [operators] table, so may watch "
            f"but not launch into {', '.join(governed)}; ask for an [operators.{actor}] entry"
        )
    for name in governed:
        roles = inventory.environments[name].launch_roles
        if roles and not set(known.roles) & set(roles):
            has = "/".join(known.roles) or "no roles"
            return (
                f"{actor} may not launch into {name}: that needs the role {'/'.join(roles)} "
                f"(they have {has})"
            )
    return None


@dataclass(frozen=True)
class Earlier:
    """A run that may satisfy a promotion rule: what it was, where, with which params, and
    how and when it ended."""

    run_id: str
    pipeline: str
    environments: tuple[str, ...]
    params: dict[str, Any]
    status: str
    ended_at: float | None


def promotion_rules(
    inventory: Inventory, environments: list[str], params: set[str]
) -> list[tuple[str, Promotion]]:
    """The rules a launch into these environments must meet: each environment's `requires`,
    where the pipeline declares every param the rule names (others are not held by it)."""
    found = []
    for name in environments:
        env = inventory.environments.get(name)
        if env is not None and env.requires is not None and set(env.requires.same) <= params:
            found.append((name, env.requires))
    return found


def promotes(
    rule: Promotion, pipeline: str, params: dict[str, Any], earlier: Earlier, now: float
) -> bool:
    """Whether an earlier run meets a promotion rule for this launch: the same pipeline, the
    same values of the params the rule names, succeeded in its environment, recently enough."""
    return (
        earlier.pipeline == pipeline
        and earlier.status == "succeeded"
        and rule.environment in earlier.environments
        and all(earlier.params.get(k) == params.get(k) for k in rule.same)
        and earlier.ended_at is not None
        and (rule.within is None or earlier.ended_at >= now - rule.within)
    )


def promotion_refusal(
    environment: str, rule: Promotion, pipeline: str, params: dict[str, Any]
) -> str:
    """Why a launch into an environment is refused: what it releases has not succeeded where
    the environment's rule says it must first."""
    what = " ".join(f"{k}={params.get(k)}" for k in rule.same)
    when = f" in the last {_span(rule.within)}" if rule.within else ""
    return (
        f"{pipeline} {what}".rstrip() + f" has not succeeded in {rule.environment}{when}, and "
        f"{environment} takes only what did; launch it into {rule.environment} first"
    )


def _span(seconds: float) -> str:
    """A rule's span of time as it was most likely written: 14 days, 12 hours, 90 minutes."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def one_environment(spanned: list[str], chosen: list[str] | None) -> str | None:
    """Why a launch may not go ahead until its environment is chosen: a run goes into one
    environment at a time unless the person names several; None when it may."""
    if chosen is not None or len(spanned) < 2:
        return None
    return f"its targets are in {words_list(spanned)}, and a run goes into one at a time"


def words_list(names: list[str]) -> str:
    """Names as a sentence lists them: `a`, `a and b`, `a, b and c`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def typed_confirmation(inventory: Inventory, environments: list[str]) -> str | None:
    """The environment whose name must be typed before a launch goes into it: production, or
    one whose changes need a change ticket; None when a launch needs no such care."""
    for name in environments:
        env = inventory.environments.get(name)
        if name in PRODUCTION or (env is not None and env.ticket_pattern):
            return name
    return None


def cancel_confirmation(inventory: Inventory, environments: list[str]) -> str | None:
    """The environment in which cancelling a run must be confirmed first (a stray `c` stops
    production mid-change): the same environments as a typed launch; None when none."""
    return typed_confirmation(inventory, environments)


@dataclass(frozen=True)
class Ballot:
    """A decision someone wants to record, with who they are according to the inventory."""

    actor: str
    roles: tuple[str, ...] | None  # None: the inventory does not know this account
    decision: ev.Decision
    reason: str = ""
    ticket: str = ""
    signed: bool = False


def standing(
    policy: Policy, ballot: Ballot, launcher: str, approved_before: bool, now: float
) -> str | None:
    """Why this person may not make this decision at all, whatever reason or ticket they give
    (not an operator, the role, a freeze, their own run, approved already); None when they may."""
    who, where = ballot.actor, policy.where
    if ballot.roles is None:
        return f"{who} is not an operator in the inventory's [operators] table, so may watch but not decide gates"
    if ballot.decision == "reject":
        return _role_problem(policy.approver_roles, ballot, where, "decide")
    window = freeze.active(policy.freeze, now)
    if window is not None:
        if not set(ballot.roles) & set(policy.emergency_roles):
            allowed = "/".join(policy.emergency_roles) or "nobody (no emergency_roles are set)"
            return (
                f"{where} is in a change freeze ({window}); only {allowed} may approve while it "
                "lasts, as an emergency change with a reason"
            )
    elif problem := _role_problem(policy.approver_roles, ballot, where, "approve"):
        return problem
    if who == launcher and not policy.self_approval:
        return f"{who} launched this run and so cannot approve its gates in {where}: a second person must"
    if approved_before:
        return f"{who} has already approved this gate; an approver counts once"
    return None


def checks_problem(gate: Gate, decision: str) -> str | None:
    """Why a gate cannot be approved yet: its checks have not passed (None when they have, or
    it has none, or the decision is a rejection, which needs no checks)."""
    if decision != "approve" or not gate.has_checks or gate.checks_passed:
        return None
    if gate.checks_passed is None:
        return "its checks are still running; approve once they pass"
    failed = "; ".join(
        f"{r.get('check')} on {r.get('where')}: {r.get('detail')}" for r in gate.failing
    )
    return (
        f"approval waits until its checks pass, and some failed ({failed}); run them again "
        "with c on the gates pane, or opsconsole recheck"
    )


def judge(
    policy: Policy, ballot: Ballot, launcher: str, approved_before: bool, now: float
) -> tuple[str | None, bool]:
    """Why the decision cannot count (None when it can), and whether it is an emergency change."""
    problem = standing(policy, ballot, launcher, approved_before, now)
    if problem:
        return problem, False
    if ballot.decision == "reject":
        if not ballot.reason.strip():
            return "a rejection needs a reason; say why the change must not go ahead", False
        return None, False
    emergency = freeze.active(policy.freeze, now) is not None
    if emergency and not ballot.reason.strip():
        return f"an emergency approval during the freeze of {policy.where} needs a reason", True
    return _form_problem(policy, ballot), emergency


def _form_problem(policy: Policy, ballot: Ballot) -> str | None:
    """What an approval lacks that the person gives with it: the ticket, the signature."""
    where = policy.where
    for pattern in policy.ticket_patterns:
        if not ballot.ticket:
            return f"gates in {where} need a change ticket matching {pattern}; give one with the approval"
        if not re.fullmatch(pattern, ballot.ticket):
            return f"ticket '{ballot.ticket}' does not match {pattern}, the change ticket format for {where}"
    if policy.signed_approvals and not ballot.signed:
        return must_be_signed(where)
    return None


def must_be_signed(where: str, why: str = "") -> str:
    """The refusal of a decision without the signature its environment requires."""
    because = f", and {why}" if why else ""
    return (
        f"decisions in {where} must be signed with the approver's SSH key through ssh-agent"
        f"{because}; start ssh-agent and ssh-add your key"
    )


def _role_problem(roles: tuple[str, ...], ballot: Ballot, where: str, verb: str) -> str | None:
    if not roles or set(ballot.roles or ()) & set(roles):
        return None
    has = "/".join(ballot.roles or ()) or "no roles"
    needs = "/".join(roles)
    return f"{ballot.actor} may not {verb} gates in {where}: that needs the role {needs} (they have {has})"


@dataclass(frozen=True)
class Judged:
    """A recorded decision, judged again: why it does not count (None when it does)."""

    decision: ev.GateDecided
    problem: str | None


def judged(
    policy: Policy, gate: Gate, launcher: str, operators: dict[str, Operator] | None
) -> list[Judged]:
    """Every decision of a gate judged by the rules as they apply at its moment.

    A decision written into the store by any other means than `record_decision` still
    counts only if it is allowed. With `operators` None (no inventory to hand) only what the
    record itself shows is judged: the plan it was given for, and whether it is signed.
    """
    found: list[Judged] = []
    approvers: list[str] = []
    for decision in gate.decisions:
        if decision.automatic:  # the checks' decision: no person, so none of a person's rules
            found.append(Judged(decision, _automatic_problem(policy, gate, decision)))
            continue
        problem = unsigned(policy, decision, operators)
        if problem is None and not gate.binds(decision):
            problem = "given for an earlier plan"
        if problem is None and operators is not None:
            known = operators.get(decision.actor)
            ballot = Ballot(
                decision.actor,
                tuple(known.roles) if known else None,
                decision.decision,
                decision.reason,
                decision.ticket,
                signed=True,  # judged above
            )
            problem, _ = judge(policy, ballot, launcher, decision.actor in approvers, decision.at)
        elif problem is None and decision.actor in approvers:
            problem = f"{decision.actor} has already approved this gate; an approver counts once"
        if problem is None and decision.decision == "approve":
            approvers.append(decision.actor)
        found.append(Judged(decision, problem))
    return found


def _automatic_problem(policy: Policy, gate: Gate, decision: ev.GateDecided) -> str | None:
    """Why a decision said to be the checks' does not count: only where no approvals are
    needed, for the plan the gate shows, on checks that all passed."""
    if policy.approvals:
        return f"an automatic decision counts only where no approvals are needed ({policy.where} needs {policy.approvals})"
    if not gate.binds(decision):
        return "given for an earlier plan"
    if decision.decision != "approve" or not gate.checks_passed or not decision.evidence:
        return "an automatic decision stands only on checks that all passed"
    return None


def judge_gate(gate: Gate, launcher: str, operators: dict[str, Operator] | None) -> list[Judged]:
    """A gate's decisions judged by the policy recorded when it opened: what every view shows."""
    return judged(Policy.from_dict(gate.policy), gate, launcher, operators)


def counted(found: list[Judged]) -> list[str]:
    """The approvers that count, in order."""
    return [
        j.decision.actor for j in found if j.problem is None and j.decision.decision == "approve"
    ]


def unsigned(
    policy: Policy, decision: ev.GateDecided, operators: dict[str, Operator] | None
) -> str | None:
    """Why a decision does not carry the signature its gate's policy requires, or None."""
    if not policy.signed_approvals:
        return None
    if not decision.signature:
        return "not signed"
    if operators is None:
        return None  # signed; the key to check it against is in an inventory not to hand
    known = operators.get(decision.actor)
    key = known.ssh_public_key if known else None
    if not signed_by(decision, key):
        return f"badly signed: it does not verify with {decision.actor}'s key in the inventory"
    return None


def tally(
    policy: Policy, gate: Gate, launcher: str, operators: dict[str, Operator]
) -> tuple[list[str], ev.GateDecided | None]:
    """The approvers that count under the policy, and the first valid rejection if there is one."""
    approvers: list[str] = []
    for found in judged(policy, gate, launcher, operators):
        if found.problem is not None:
            continue
        if found.decision.decision == "reject":
            return approvers, found.decision
        approvers.append(found.decision.actor)
    return approvers, None


_CHECKED: dict[tuple[str, bytes, str, str], bool] = {}


def signed_by(decision: ev.GateDecided, key: str | None) -> bool:
    """Whether the decision carries a valid signature by the operator's key (checked once each)."""
    if not decision.signature or not key:
        return False
    from console.audit import decision_document
    from console.signing import SigningError, verify

    document = decision_document(decision)
    cache = (decision.signature, document, decision.actor, key)  # a copied signature is new
    if cache not in _CHECKED:
        try:
            _CHECKED[cache] = verify(document, decision.signature, decision.actor, key)
        except SigningError:
            return False
    return _CHECKED[cache]


def governing(inventory: Inventory) -> dict[str, Any]:
    """What in an inventory governs who may launch and decide: each environment's policy and
    each operator's roles and signing key (what an admin publishes to a team store)."""
    return {
        "environments": {
            name: env.model_dump(mode="json") for name, env in inventory.environments.items()
        },
        "operators": {
            name: {"roles": sorted(op.roles), "ssh_public_key": op.ssh_public_key}
            for name, op in inventory.operators.items()
        },
    }


def policy_differences(
    published: dict[str, Any], inventory: Inventory, environments: list[str]
) -> list[str]:
    """How an inventory differs from the published policy where it governs these
    environments (their policies, and every operator), as `where: published …, here …`;
    nothing when none of them is governed by it."""
    governed = [e for e in environments if e in published.get("environments", {})]
    if not governed:
        return []
    mine = governing(inventory)
    found = []
    for name in governed:
        found += _differ(
            f"environments.{name}", published["environments"][name], mine["environments"].get(name)
        )
    theirs, ours = published.get("operators", {}), mine["operators"]
    for name in sorted(set(theirs) | set(ours)):
        found += _differ(f"operators.{name}", theirs.get(name), ours.get(name))
    return found


def _differ(where: str, published: Any, here: Any) -> list[str]:
    """The fields of one table that differ, in words."""
    if published is None or here is None:
        return [
            f"{where}: {'not in the published policy' if published is None else 'missing here'}"
        ]
    return [
        f"{where}.{key}: published {published.get(key)!r}, here {here.get(key)!r}"
        for key in sorted(set(published) | set(here))
        if published.get(key) != here.get(key)
    ]


def policy_refusal(differences: list[str], environments: list[str]) -> str:
    """Why a launch or decision with an inventory that differs from the published policy is
    refused, showing the difference."""
    shown = "; ".join(differences[:5])
    more = f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
    return (
        f"this inventory's policy for {', '.join(environments)} differs from the one published "
        f"in the team store ({shown}{more}); use the inventory the policy was published from, "
        "or have an admin publish this one (`opsconsole policy publish`)"
    )
