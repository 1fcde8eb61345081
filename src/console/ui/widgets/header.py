"""The console's top line: inventory, operator, pending approvals (always visible) and clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class ConsoleHeader(Static):
    """Inventory name, who is acting with their roles, open gates and the time."""

    DEFAULT_CSS = """
    ConsoleHeader { height: 1; background: $panel; color: $text; padding: 0 1; }
    """
    pending: reactive[int] = reactive(0)

    def __init__(
        self, inventory: str, operator: str, roles: list[str], clock: Callable[[], float]
    ) -> None:
        super().__init__()
        self._inventory, self._operator, self._roles, self._clock = (
            inventory,
            operator,
            roles,
            clock,
        )

    def describe(self, inventory: str, roles: list[str]) -> None:
        """Name the inventory and the operator's roles once the configuration is loaded."""
        self._inventory, self._roles = inventory, roles
        self.refresh()

    def on_mount(self) -> None:
        self.set_interval(1, self.refresh)

    def render(self) -> Text:
        """The line, giving up the inventory's name first and the roles next when the screen
        is narrow: the pending approvals and the clock always show."""
        gates = f"⏸ {self.pending} pending approval{'s' if self.pending != 1 else ''}"
        clock = time.strftime("%H:%M:%S", time.localtime(self._clock()))
        right = Text.assemble((gates, "bold reverse" if self.pending else ""), "  │  ", clock)
        roles = f" ({', '.join(self._roles) or 'no roles'})"
        room = self.size.width - 2 if self.size.width else 10_000  # 2: the padding
        for inventory, who in ((f"  {self._inventory}", roles), ("", roles), ("", "")):
            left = Text.assemble(
                ("Ops Console", "bold"), inventory, "  │  ", (self._operator, "bold"), who, "  │  "
            )
            if left.cell_len + right.cell_len <= room:
                break
        return left + right
