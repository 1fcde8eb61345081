"""`opsconsole` with no command: the full-screen console on the configured inventory and store."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from console.settings import Settings

if TYPE_CHECKING:
    from console.model.config import Config


def open_console(settings: Settings) -> int:
    """Open the console; it draws its first frame before the configuration has loaded."""
    # Start-up allocates a great deal and frees almost nothing: collections would only delay
    # the first frame. The app freezes what start-up built and collects again after it.
    gc.disable()
    from console.ui import make_app

    settings.require_inventory()  # a missing inventory is said before the screen opens
    app = make_app(lambda: _load(settings), settings)
    app.run()
    return app.return_code or 0


def _load(settings: Settings) -> Config:
    """The configuration, loaded in the console's thread after its first frame (the
    application layer is imported there too, not before the screen opens)."""
    from console.ops.config import load

    return load(settings)
