"""The command palette's console entries: launch a pipeline, open a run or a host, jump to a pane."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.theme import ThemeProvider

from console.sanitize import printable

if TYPE_CHECKING:
    from console.model.config import Config
    from console.state import RunState


class Console(Protocol):
    """What the palette asks of the console's app."""

    @property
    def ready(self) -> bool:
        """Whether the configuration has loaded."""

    @property
    def config(self) -> Config:
        """The inventory and pipelines."""

    @property
    def runs(self) -> dict[str, RunState]:
        """Every run the console knows."""

    def launch(self, pipeline: str) -> None:
        """Open the launch form."""

    def show_run(self, run_id: str) -> None:
        """Open a run."""

    def show_host(self, host: str) -> None:
        """Open a host's row."""

    def action_pane(self, pane: str) -> None:
        """Go to a pane."""


class ConsoleCommands(Provider):
    """Pipelines, recent runs, hosts and panes, found by fuzzy search in Ctrl+P."""

    def _entries(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app: Console = self.app  # type: ignore[assignment]
        if not app.ready:
            return
        for name, pf in sorted(app.config.pipelines.items()):
            yield f"Launch {name}", partial(app.launch, name), printable(pf.pipeline.description)
        newest = sorted(app.runs.values(), key=lambda s: s.created_at or 0, reverse=True)[:50]
        for state in newest:
            text = f"Open run {state.id} ({state.pipeline}, {state.status})"
            yield printable(text), partial(app.show_run, state.id), f"launched by {state.operator}"
        for host, spec in sorted(app.config.inventory.hosts.items()):
            where = printable(f"{spec.address} · {', '.join(spec.groups) or 'no groups'}")
            yield f"Show host {printable(host)}", partial(app.show_host, host), where
        panes = (
            ("home", "Home"),
            ("run", "Run view"),
            ("gates", "Pending gates"),
            ("audit", "Audit trail"),
            ("delivery", "Delivery measures"),
        )
        for pane, label in panes:
            yield f"Go to {label}", partial(app.action_pane, pane), ""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help_text in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), action, help=help_text)

    async def discover(self) -> Hits:
        for text, action, help_text in self._entries():
            yield DiscoveryHit(text, action, help=help_text)


class ThemeChoices(ThemeProvider):
    """The theme palette: the project's themes first, in their own order, then Textual's."""

    @property
    def commands(self) -> list[tuple[str, Callable[[], None]]]:
        from console.ui.themes import load_themes

        ours = [t.name for t in load_themes()]
        stock = sorted(n for n in self.app.available_themes if n not in ours)

        def choose(name: str) -> None:
            self.app.theme = name

        return [(name, partial(choose, name)) for name in [*ours, *stock]]
