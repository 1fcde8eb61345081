"""A placeholder that builds its widget when asked, importing what the widget needs then."""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget


class Deferred(Widget):
    """Stands in for a hidden pane until the app has drawn its first frame, then becomes it.

    Unlike Textual's `Lazy`, the widget is not even constructed at compose time, so its
    module (and the engine it imports) need not be loaded before the first frame.
    """

    DEFAULT_CSS = "Deferred { display: none; }"

    def __init__(self, build: Callable[[], Widget]) -> None:
        super().__init__()
        self._build = build

    async def become(self) -> None:
        """Mount the real widget in this one's place."""
        parent = self.parent
        if isinstance(parent, Widget) and self.is_attached:
            await parent.mount(self._build(), after=self)
            await self.remove()
