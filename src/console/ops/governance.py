"""The policy that governs gates, kept in a team store: an admin publishes the inventory's, and
launches, decisions and runners refuse an inventory that differs from it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.policy import governing, policy_differences, policy_refusal
from console.store import Store, open_store

if TYPE_CHECKING:
    from console.model.config import Config
    from console.model.inventory import Inventory
    from console.paths import StoreAddress


def publish(where: StoreAddress, config: Config) -> str:
    """Publish the inventory's environments and operators as the policy that governs gates."""
    policy = governing(config.inventory)
    with open_store(where) as store:
        digest = store.publish_policy(policy)
    envs, people = len(policy["environments"]), len(policy["operators"])
    return (
        f"published the policy of {config.source.path} ({envs} environments, {people} "
        f"operators) as {digest[:16]}; its record is in the audit trail"
    )


def refusal(store: Store, inventory: Inventory, environments: list[str]) -> str | None:
    """Why this inventory may not govern a launch or decision in these environments (it
    differs from the published policy), or None."""
    published = store.published_policy()
    if published is None:
        return None
    found = policy_differences(published, inventory, environments)
    governed = [e for e in environments if e in published.get("environments", {})]
    return policy_refusal(found, governed) if found else None
