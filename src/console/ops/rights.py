"""Who may act on a run: refusals said in a sentence and kept on the audit trail."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, NoReturn

from console.audit import Entry
from console.errors import GateRefused, LaunchRefused, Refused, StoreError
from console.policy import may_launch
from console.state import RunState
from console.store import Store

if TYPE_CHECKING:
    from console.model.inventory import Inventory

LAUNCH_RIGHTS = {"cancel": "cancel", "rerun": "re-run", "resume": "resume"}
"""Actions on a run that only someone who may launch it may take, and their verbs."""


REFUSALS: dict[str, type[Refused]] = {"approve": GateRefused, "reject": GateRefused}
"""The error each refused action raises; the rest are launch rights (`LaunchRefused`)."""


def refuse(
    store: Store, actor: str, action: str, subject: str, why: str, **details: object
) -> NoReturn:
    """Raise the sentence that refuses `actor` an action, having recorded who tried what and
    why it was refused (when this account may write the store at all)."""
    entry = Entry(time.time(), actor, f"{action}_refused", subject, {"why": why, **details})
    with contextlib.suppress(StoreError):
        store.audit([entry])
    raise REFUSALS.get(action, LaunchRefused)(why)


def authorize(store: Store, inventory: Inventory, actor: str, action: str, state: RunState) -> None:
    """Refuse, in words and on the audit trail, an account that may not launch into the run's
    environments: re-running, resuming and cancelling are launch rights."""
    why = may_launch(inventory, state.environments, actor)
    if why:
        verb = LAUNCH_RIGHTS[action]
        refuse(store, actor, action, state.id, f"{actor} may not {verb} run {state.id}: {why}")
