"""The footer: recomposed only when the keys it shows change, and saying when it first shows them."""

from __future__ import annotations

from collections.abc import Hashable

from textual.message import Message
from textual.widgets import Footer


class ConsoleFooter(Footer):
    """Textual's footer, minus redundant recomposes, plus a message once its keys are composed.

    Textual's footer rebuilds its keys each time the screen's bindings are refreshed (focus
    moves, a widget shows or hides), several times over while the console starts; each costs
    a frame's worth of time, so a rebuild that would show the same keys is skipped.
    """

    class Drawn(Message):
        """The footer has its keys; the next refresh draws them."""

    _shown: Hashable = None
    _told = False

    def _keys(self) -> Hashable:
        """What the footer would show: each key with its label and whether it is enabled."""
        return tuple(
            (b.key, b.key_display, b.description, b.show, enabled, tooltip)
            for (_, b, enabled, tooltip) in self.screen.active_bindings.values()
        )

    async def recompose(self) -> None:
        keys = self._keys()
        if keys == self._shown and self.children:
            return
        self._shown = keys
        await super().recompose()
        if self.children and not self._told:
            self._told = True
            self.post_message(self.Drawn())
