"""A scrolling window of output lines with their colours, search matches highlighted."""

from __future__ import annotations

import bisect
from typing import ClassVar

from rich.cells import cell_len
from rich.color import Color
from rich.style import Style
from rich.text import Span, Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console import sgr
from console.ui.widgets.logtext import LineKey, plain


class LogView(ScrollView, can_focus=True):
    """Holds a window of lines (the store holds the rest) and says when the reader reaches an edge."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "logview--match",
        "logview--current",
        "logview--empty",
    }
    DEFAULT_CSS = """
    LogView { background: $surface; color: $text; overflow: auto; }
    LogView:focus { background-tint: $foreground 5%; }
    LogView > .logview--match { background: $warning 45%; }
    LogView > .logview--empty { color: $text-muted; text-style: italic; }
    LogView > .logview--current { background: $accent; color: $text; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
    ]

    class Edge(Message):
        """The reader pushed past the first or last line of the window."""

        def __init__(self, older: bool) -> None:
            super().__init__()
            self.older = older

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: list[str] = []
        self.empty = ""
        """What the pane says while it has no line (why it is empty)."""
        self.keys: list[LineKey] = []
        self.needle = ""
        self.current: LineKey | None = None
        self._width = 0
        self._cache: LRUCache[int, Strip] = LRUCache(1024)

    # ── content ─────────────────────────────────────────────────────────────
    def replace(self, pairs: list[tuple[LineKey, str]], centre: LineKey | None = None) -> None:
        """Show these lines instead, centred on a line or scrolled to the end."""
        self.lines = [line for _, line in pairs]
        self.keys = [key for key, _ in pairs]
        self._width = max((cell_len(plain(line)) for line in self.lines), default=0)
        self._changed()
        index = self.index_of(centre) if centre else None
        target = len(self.lines) if index is None else index - self.size.height // 2
        self._scroll_to_line(target)

    def append(self, pairs: list[tuple[LineKey, str]], limit: int, follow: bool) -> None:
        """Add lines at the end, dropping the oldest beyond the limit."""
        self.lines.extend(line for _, line in pairs)
        self.keys.extend(key for key, _ in pairs)
        self._width = max(self._width, *(cell_len(plain(line)) for _, line in pairs), 0)
        excess = len(self.lines) - limit
        if excess > 0:
            self.drop(excess, oldest=True)
        self._changed(keep_cache=excess <= 0)
        if follow:
            self._scroll_to_line(len(self.lines))

    def prepend(self, pairs: list[tuple[LineKey, str]], limit: int) -> None:
        """Add older lines at the top without moving what the reader sees."""
        self.lines[:0] = [line for _, line in pairs]
        self.keys[:0] = [key for key, _ in pairs]
        self._width = max(self._width, *(cell_len(plain(line)) for _, line in pairs), 0)
        excess = len(self.lines) - limit
        if excess > 0:
            self.drop(excess, oldest=False)
        self._changed()
        self._scroll_to_line(round(self.scroll_y) + len(pairs))

    def drop(self, count: int, oldest: bool) -> None:
        """Forget lines at one end of the window (the store still has them)."""
        if oldest:
            del self.lines[:count], self.keys[:count]
            self._scroll_to_line(round(self.scroll_y) - count)
        else:
            del self.lines[-count:], self.keys[-count:]

    def index_of(self, key: LineKey) -> int | None:
        """Where a line is in the window, if it is there."""
        index = bisect.bisect_left(self.keys, key)
        return index if index < len(self.keys) and self.keys[index] == key else None

    def mark(self, needle: str, current: LineKey | None) -> None:
        """Highlight a search term, and the line of the current match more strongly."""
        self.needle, self.current = needle.lower(), current
        self._changed()
        index = self.index_of(current) if current else None
        if index is not None and not (self.scroll_y <= index < self.scroll_y + self.size.height):
            self._scroll_to_line(index - self.size.height // 2)

    def clear(self) -> None:
        """Empty the window."""
        self.replace([])

    # ── scrolling ───────────────────────────────────────────────────────────
    def _changed(self, keep_cache: bool = False) -> None:
        if not keep_cache:
            self._cache.clear()
        self.virtual_size = Size(self._width, len(self.lines))
        self.refresh()

    def _scroll_to_line(self, y: int) -> None:
        self.scroll_to(y=max(0, y), animate=False, immediate=True)

    def on_mouse_scroll_up(self) -> None:
        self._push(older=True)

    def on_mouse_scroll_down(self) -> None:
        self._push(older=False)

    def action_scroll_up(self) -> None:
        self._push(older=True)
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._push(older=True)
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._push(older=True)
        super().action_scroll_home()

    def action_scroll_down(self) -> None:
        self._push(older=False)
        super().action_scroll_down()

    def action_page_down(self) -> None:
        self._push(older=False)
        super().action_page_down()

    def action_scroll_end(self) -> None:
        self._push(older=False)
        super().action_scroll_end()

    def _push(self, older: bool) -> None:
        """Say so when the reader pushes at an edge (keys or wheel; never a programmatic scroll)."""
        at_edge = self.scroll_y <= 0 if older else self.scroll_y >= self.max_scroll_y
        if at_edge:
            self.post_message(self.Edge(older=older))

    # ── drawing ─────────────────────────────────────────────────────────────
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width, style = self.size.width, self.rich_style
        if index >= len(self.lines):
            if index == 0 and self.empty:  # an empty pane says why
                said = Text(self.empty, style=self.get_component_rich_style("logview--empty"))
                return Strip(said.render(self.app.console), said.cell_len).crop_extend(
                    0, width, style
                )
            return Strip.blank(width, style)
        strip = self._cache.get(index)
        if strip is None:
            strip = self._cache[index] = self._strip(index)
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, index)

    def _strip(self, index: int) -> Strip:
        text = Text.from_ansi(self.lines[index], style=self.rich_style, no_wrap=True)
        text.expand_tabs()
        readable(text, self.rich_style.bgcolor)
        if self.needle:
            current = self.current is not None and self.keys[index] == self.current
            kind = "logview--current" if current else "logview--match"
            mark = self.get_component_rich_style(kind)
            haystack, size, start = text.plain.lower(), len(self.needle), 0
            while (found := haystack.find(self.needle, start)) >= 0:
                text.stylize(mark, found, found + size)
                start = found + size
        return Strip(text.render(self.app.console), text.cell_len)

    def notify_style_update(self) -> None:  # a theme changes the background text is read on
        super().notify_style_update()
        self._cache.clear()


def readable(text: Text, background: Color | None) -> None:
    """Drop a host's foreground colour where it is too close to the pane's own background to
    read (the sanitizer cannot know the background a view draws on)."""
    if background is None:
        return
    back = background.get_truecolor(foreground=False)
    for index, span in enumerate(text.spans):
        style = span.style
        if not isinstance(style, Style) or style.color is None or style.bgcolor or style.reverse:
            continue
        fore = style.color.get_truecolor(foreground=True)
        if sgr.indistinct(sgr.truecolour(*fore), sgr.truecolour(*back)):
            text.spans[index] = Span(span.start, span.end, style.without_color)
