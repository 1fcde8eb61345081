"""Status lines redraw in place and ask for a layout only when their height changes."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from console.ui.widgets.steady import Steady


class _One(App[None]):
    def compose(self) -> ComposeResult:
        yield Steady("starting", id="line")


async def test_a_line_that_keeps_its_height_is_redrawn_without_a_layout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layouts: list[bool] = []
    redraw = Steady.refresh

    def recorded(self, *args, layout: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        layouts.append(layout)
        return redraw(self, *args, layout=layout, **kwargs)

    app = _One()
    async with app.run_test(size=(40, 10)) as pilot:
        line = app.query_one(Steady)
        await pilot.pause()
        monkeypatch.setattr(Steady, "refresh", recorded)
        line.update(Text("⠋ deploy 0:01"))
        line.update(Text("⠙ deploy 0:02"))
        line.update(Text("⠹ deploy 0:03 " + "x" * 40))  # now two rows at 40 columns
        line.update(Text("⠸ deploy 0:04 " + "y" * 40))
        assert layouts == [True, False, True, False]
