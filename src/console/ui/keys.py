"""Where each of the console's keys works: one key does one thing per pane, and the footer
shows a key only where it does something."""

from __future__ import annotations

WHERE: dict[str, tuple[str, ...]] = {
    "launch": ("home:pipelines",),
    "filter": ("home", "gates", "audit"),
    "decide": ("gates:gate-list",),
    "recheck": ("gates:gate-list",),
    "cancel_run": ("run",),
    "replay": ("run", "home:runs"),
    "rerun": ("run", "home:runs"),
    "cursor_across": ("gates", "audit", "home"),
    "delivery_period": ("delivery",),
}
"""The panes (and, after a colon, the widget that must have the keyboard) where an action
applies; an action not listed applies everywhere."""

REPLAY_KEYS = ("quit", "keys", "show_help_panel", "hide_help_panel", "command_palette")
"""What the console's own keys may still do while a replay screen is over it."""


def applies(action: str, pane: str, focused: str | None) -> bool:
    """Whether a console action does something on this pane with this widget focused."""
    places = WHERE.get(action)
    if places is None:
        return True
    for place in places:
        where, _, widget = place.partition(":")
        if where == pane and (not widget or widget == focused):
            return True
    return False
