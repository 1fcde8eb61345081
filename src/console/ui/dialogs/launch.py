"""Launch a pipeline: typed params checked as you type, targets narrowed, a preview, a confirm."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Static, Switch

from console.engine.plan import RunPlan
from console.errors import ConsoleError, EnvironmentUnchosen
from console.model.config import Config
from console.model.params import ParamError, coerce
from console.model.pipeline import Param
from console.ops import launch
from console.policy import typed_confirmation, words_list
from console.sanitize import printable
from console.ui.widgets.literal import Plain


@dataclass(frozen=True)
class LaunchRequest:
    """A checked plan the person confirmed."""

    plan: RunPlan


class LaunchDialog(ModalScreen[LaunchRequest | None]):
    """The launch form for one pipeline."""

    DEFAULT_CSS = """
    LaunchDialog { align: center middle; }
    LaunchDialog > Vertical { width: 90; max-width: 100%; max-height: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1; }
    LaunchDialog VerticalScroll { height: auto; max-height: 1fr; }
    LaunchDialog Label { width: 100%; height: auto; }
    LaunchDialog .title { text-style: bold; }
    LaunchDialog .hint { color: $text-muted; }
    LaunchDialog .error { color: $error; }
    LaunchDialog Input.-invalid { border: tall $error; }
    LaunchDialog Horizontal { height: auto; margin-top: 1; dock: bottom; }  /* always in view */
    LaunchDialog RadioSet { layout: horizontal; width: 100%; }
    LaunchDialog RadioSet > RadioButton { width: auto; margin-right: 3; }
    LaunchDialog Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(
        self,
        config: Config,
        pipeline: str,
        operator: str,
        promotion: Callable[[RunPlan], list[tuple[bool, str]]] | None = None,
    ) -> None:
        super().__init__()
        self.config, self.pipeline_name, self.operator = config, pipeline, operator
        self._promotion = promotion
        """Whether a plan meets its environments' promotion rules (reads the store: a thread)."""
        self._unmet: dict[tuple[object, ...], str] = {}
        """Promotion rules found unmet, by what they depend on (environments and params)."""
        self.pipeline = config.pipelines[pipeline].pipeline
        self.spanned = launch.environments(config, pipeline)
        """The environments the targets are in: one is chosen when there are several."""
        self.plan: RunPlan | None = None
        self._touched: set[str] = set()
        self._tried = False
        """Errors show for the fields the person typed in, and for all once they try to launch."""

    def compose(self) -> ComposeResult:
        with Vertical():  # the fields scroll; the buttons always show
            with VerticalScroll():
                yield Plain(f"Launch {printable(self.pipeline.name)}", classes="title")
                yield Plain(printable(self.pipeline.description), classes="hint")
                for name, param in self.pipeline.params.items():
                    hint = f"{name} ({param.type}{', required' if param.required else ''})"
                    if param.choices:
                        hint += f": {' | '.join(param.choices)}"
                    yield Plain(
                        printable(hint + (f" — {param.description}" if param.description else ""))
                    )
                    default = "" if param.default is None else str(param.default)
                    if param.type == "bool":  # yes or no: a switch, nothing to mistype
                        yield Switch(value=default.lower() == "true", id=f"param-{name}")
                    else:
                        yield Input(value=default, placeholder=example(param), id=f"param-{name}")
                if len(self.spanned) > 1:
                    yield Plain(
                        f"environment: the targets are in {words_list(self.spanned)}; "
                        "a run goes into one (or all, when chosen)"
                    )
                    yield RadioSet(*self._environment_buttons(), id="environment")
                yield Plain(
                    "limit (host, group, glob or key=value; comma-separated; empty for all targets)"
                )
                yield Input(placeholder=", ".join(self.pipeline.targets), id="limit")
                yield Static("", id="preview", markup=False)
                yield Static("", id="promotion", markup=False)
                yield Plain("", id="confirm-label")
                yield Input(placeholder="type the environment's name", id="confirm")
                yield Plain("", id="error", classes="error")
            with Horizontal():
                yield Button("Launch", variant="primary", id="launch")
                yield Button("Cancel", id="cancel")
        yield Footer()  # the dialog's own keys, over the console's

    def _environment_buttons(self) -> list[RadioButton]:
        names = [printable(e) for e in self.spanned]
        labels = [*names, "all of them" if len(names) > 2 else "both"]
        return [RadioButton(label, id=f"env-{i}") for i, label in enumerate(labels)]

    def chosen_environments(self) -> list[str] | None:
        """The environments chosen on the form (None: not chosen yet, or nothing to choose)."""
        if len(self.spanned) < 2:
            return None
        index = self.query_one("#environment", RadioSet).pressed_index
        if index < 0:
            return None
        return self.spanned if index == len(self.spanned) else [self.spanned[index]]

    def on_radio_set_changed(self) -> None:
        self._check()

    def on_mount(self) -> None:
        self._check()
        first = self.query(Input).first()
        first.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "confirm":
            if event.input.has_focus:  # typed by the person, not filled in by the form
                self._touched.add(event.input.id or "")
            self._check()

    def _values(self) -> dict[str, str]:
        return {name: self._value(name) for name in self.pipeline.params}

    def _value(self, name: str) -> str:
        """What a param's field holds, as the text a command line would give."""
        field = self.query_one(f"#param-{name}")
        if isinstance(field, Switch):
            return "true" if field.value else "false"
        assert isinstance(field, Input)
        return field.value

    def on_switch_changed(self) -> None:
        self._check()

    def _check(self) -> None:
        errors: list[str] = []
        waiting = False  # a required param the person has not come to yet
        for name, param in self.pipeline.params.items():
            box = self.query_one(f"#param-{name}")
            if isinstance(box, Switch):
                continue  # a switch is always a valid bool
            try:
                value = self._value(name)
                if value or param.required:
                    coerce(name, param, value)
                box.remove_class("-invalid")
            except ParamError as exc:
                if not (self._tried or box.id in self._touched):  # no error before typing
                    waiting = True
                    continue
                box.add_class("-invalid")
                errors.append(str(exc))
        limit = self.query_one("#limit", Input).value.strip() or None
        self.plan = None
        if not errors and not waiting:
            try:
                given = {k: v for k, v in self._values().items() if v != ""}
                self.plan = launch.plan(
                    self.config,
                    self.pipeline_name,
                    given,
                    self.operator,
                    limit,
                    self.chosen_environments(),
                )
            except EnvironmentUnchosen as exc:
                if self._tried:
                    errors.append(
                        f"Choose the environment to launch into: {words_list(exc.spanned)}."
                    )
            except ConsoleError as exc:
                errors.append(str(exc))
        self.query_one("#error", Label).update("\n".join(printable(e) for e in errors))
        self._preview()

    def _preview(self) -> None:
        confirm = self.query_one("#confirm", Input)
        if self.plan is None:
            self.query_one("#preview", Static).update("")
            self.query_one("#promotion", Static).update("")
            confirm.display = False
            self.query_one("#confirm-label", Label).update("")
            return
        self._judge_promotion(self.plan)
        hosts = self.plan.hosts
        shown = ", ".join(hosts[:12]) + (f" and {len(hosts) - 12} more" if len(hosts) > 12 else "")
        stages = " → ".join(printable(s.name) for s in self.pipeline.stages)
        envs = ", ".join(self.plan.environments()) or "no environment"
        self.query_one("#preview", Static).update(
            f"{len(hosts)} host(s) in {envs}: {shown}\nstages: {stages}"
        )
        protected = typed_confirmation(self.config.inventory, self.plan.environments())
        confirm.display = protected is not None
        label = (
            f"This launches into {protected}: type '{protected}' to confirm." if protected else ""
        )
        self.query_one("#confirm-label", Label).update(label)

    @work(thread=True, exclusive=True, group="promotion")
    def _judge_promotion(self, plan: RunPlan) -> None:
        """Say whether the plan meets its environments' promotion rules, from the store."""
        if self._promotion is None:
            return
        found = self._promotion(plan)
        self.app.call_from_thread(self._show_promotion, plan, found)

    def _show_promotion(self, plan: RunPlan, found: list[tuple[bool, str]]) -> None:
        if self.plan is None or _promoted_by(plan) != _promoted_by(self.plan):
            return  # the form changed since: a newer judgement is on its way
        unmet = [said for met, said in found if not met]
        if unmet:
            self._unmet[_promoted_by(plan)] = unmet[0]
        lines = [f"{'✓' if met else '✗'} {printable(said)}" for met, said in found]
        shown = self.query_one("#promotion", Static)
        shown.update("\n".join(lines))
        shown.set_class(bool(unmet), "error")
        if lines:  # below the fields on a small terminal: brought into view
            self.call_after_refresh(shown.scroll_visible, animate=False)

    def on_input_submitted(self) -> None:
        self._launch()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "launch":
            self._launch()
        else:
            self.dismiss(None)

    def _launch(self) -> None:
        self._tried = True
        self._check()
        if self.plan is None:
            return
        unmet = self._unmet.get(_promoted_by(self.plan))
        if unmet:
            error = self.query_one("#error", Label)
            error.update(printable(unmet))
            self.call_after_refresh(error.scroll_visible, animate=False)
            return
        protected = typed_confirmation(self.config.inventory, self.plan.environments())
        if protected and self.query_one("#confirm", Input).value.strip() != protected:
            self.query_one("#error", Label).update(
                f"Type '{protected}' to launch into {protected}."
            )
            self.query_one("#confirm", Input).focus()
            return
        self.dismiss(LaunchRequest(self.plan))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _promoted_by(plan: RunPlan) -> tuple[object, ...]:
    """What a plan's promotion rules depend on: where it goes and with which params."""
    return (tuple(plan.environments()), tuple(sorted(plan.params.items())))


def example(param: Param) -> str:
    """What to type, for people: the example in the param's description (`e.g. 4.2.0`), its
    choices or range, else its type (never its regular expression)."""
    found = re.search(r"\be\.g\.,?\s*(\S+)", param.description)
    if found:
        return f"e.g. {found.group(1).rstrip('.,;)')}"
    if param.choices:
        return " | ".join(param.choices)
    if param.type == "int" and (param.min is not None or param.max is not None):
        low = "…" if param.min is None else param.min
        high = "…" if param.max is None else param.max
        return f"a whole number from {low} to {high}"
    return {"bool": "true or false", "int": "a whole number"}.get(param.type, "text")
