"""The full-screen console (Textual): a client of the application layer, holding no rules.

`make_app` is the one factory the command line, the demo and the tests use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from console.paths import StoreAddress

if TYPE_CHECKING:  # the app itself is imported when one is made
    from console.model.config import Config
    from console.ops.runner import Spawner
    from console.settings import Settings
    from console.ui.app import OpsConsoleApp


def make_app(
    config: Config | Callable[[], Config],
    settings: Settings,
    spawn: Spawner | None = None,
    clock: Callable[[], float] = time.time,
) -> OpsConsoleApp:
    """The one factory the CLI, the demo and the tests use.

    `config` may be a function that loads it: the console then draws its first frame at once
    and loads the inventory and pipelines in a thread. `spawn` starts a runner process for a
    recorded run (`ops.runner.spawn_runner` unless a test says otherwise).
    """
    from console.ui.app import OpsConsoleApp
    from console.ui.themes import check_theme

    check_theme(settings.theme)
    return OpsConsoleApp(config, settings, spawn or _spawn_runner, clock)


def _spawn_runner(run_id: str, store: StoreAddress, accept_new: bool) -> None:
    """Start a runner process (the runner's module is imported on the first launch, not
    before the first frame)."""
    from console.ops.runner import spawn_runner

    spawn_runner(run_id, store, accept_new)


def warm_up() -> None:
    """Import what the console needs after its first frame, off the UI's thread."""
    from console.store import warm_up as warm_store

    warm_store()
    import console.ops.decide
    import console.ui.actions
    import console.ui.dialogs.decision
    import console.ui.feed
    import console.ui.live
    import console.ui.screens.audit
    import console.ui.screens.panes  # noqa: F401
