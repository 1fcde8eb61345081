"""The configuration a use case works with: loaded from the settings' files, and recorded in
the audit trail when it is new to it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from console.audit import Entry

if TYPE_CHECKING:  # pydantic only where a configuration is loaded
    from console.model.config import Config
    from console.model.inventory import Operator
    from console.settings import Settings
    from console.store import Store


def load(settings: Settings) -> Config:
    """The validated inventory and pipelines the settings point at."""
    from console.model.load import load_config

    return load_config(settings.require_inventory(), settings.pipelines)


def operators(settings: Settings) -> dict[str, Operator] | None:
    """The inventory's operators, to judge decisions with (their keys check signatures); None
    when no inventory loads, and only what the records themselves show is judged."""
    from console.errors import ConsoleError

    try:
        return dict(load(settings).inventory.operators)
    except ConsoleError:
        return None


def note_config(store: Store, config: Config, actor: str) -> None:
    """Record the configuration's files and their SHA-256 when they differ from the last record."""
    files = {str(config.source.path.resolve()): config.source.digest}
    for pf in config.pipelines.values():
        files[str(pf.source.path.resolve())] = pf.source.digest
    subject = str(config.source.path.resolve())
    last = store.last_audit("config_loaded", subject)
    if last is None or last.details.get("files") != files:
        store.audit([Entry(time.time(), actor, "config_loaded", subject, {"files": files})])
