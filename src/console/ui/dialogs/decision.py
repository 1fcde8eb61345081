"""Approve or reject a gate: a modal that asks for the reason and, when wanted, a ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label

from console.policy import Judged, Policy, counted
from console.sanitize import printable
from console.state import Gate
from console.ui.widgets.literal import Plain

if TYPE_CHECKING:
    from console.events import Decision


@dataclass(frozen=True)
class Entered:
    """What the person entered."""

    decision: Decision
    reason: str
    ticket: str
    plan_digest: str = ""


class DecisionDialog(ModalScreen[Entered | None]):
    """Asks for a reason (required to reject) and a change ticket."""

    DEFAULT_CSS = """
    DecisionDialog { align: center middle; }
    DecisionDialog > Vertical { width: 72; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    DecisionDialog Label.title { text-style: bold; margin-bottom: 1; }
    DecisionDialog Label.problem { color: $text-error; background: transparent; height: auto; }
    DecisionDialog Label { width: 100%; }
    DecisionDialog Label.detail { color: $text-muted; height: auto; }
    DecisionDialog Horizontal { height: auto; margin-top: 1; }
    DecisionDialog Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(
        self,
        decision: Decision,
        run_id: str,
        gate: Gate,
        found: list[Judged],
        promoted: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.promoted = promoted or []
        """What satisfied the run's promotion rules: the earlier run each names."""
        self.decision, self.run_id, self.gate = decision, run_id, gate.step
        self.message, self.plan_digest = gate.message, gate.plan_digest
        self.policy = Policy.from_dict(gate.policy)
        self.ticket_hint = " or ".join(self.policy.ticket_patterns)
        self.approvers, self.parts = counted(found), gate.digest_parts
        self.ignored = [f"{j.decision.actor} ({j.problem})" for j in found if j.problem]

    def compose(self) -> ComposeResult:
        verb = "Approve" if self.decision == "approve" else "Reject"
        with Vertical():
            yield Plain(
                f"{verb} gate '{printable(self.gate)}' of run {self.run_id}", classes="title"
            )
            yield Plain(printable(self.message))
            so_far = ", ".join(self.approvers) or "none yet"
            ignored = f"; ignored: {'; '.join(self.ignored)}" if self.ignored else ""
            yield Plain(
                printable(f"Policy: {self.policy.describe()} — approved so far: {so_far}{ignored}"),
                classes="detail",
            )
            yield Plain(plan_summary(self.plan_digest, self.parts), classes="detail")
            for said in self.promoted:
                yield Plain(printable(f"Promoted: {said}"), classes="detail")
            yield Input(
                placeholder="reason" + (" (required)" if self.decision == "reject" else ""),
                id="reason",
            )
            yield Input(placeholder=f"change ticket {self.ticket_hint}".strip(), id="ticket")
            yield Plain("", id="error", classes="problem")
            with Horizontal():
                yield Button(
                    verb, variant="primary" if self.decision == "approve" else "error", id="ok"
                )
                yield Button("Cancel", id="cancel")
        yield Footer()  # the dialog's own keys, over the console's

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        ticket = self.query_one("#ticket", Input).value.strip()
        if self.decision == "reject" and not reason:
            self.query_one("#error", Label).update("A rejection needs a reason.")
            return
        self.dismiss(Entered(self.decision, reason, ticket, self.plan_digest))

    def action_cancel(self) -> None:
        self.dismiss(None)


def plan_summary(digest: str, parts: dict[str, Any]) -> str:
    """What the approval is bound to, in one or two lines."""
    if not digest:
        return "Plan: not recorded for this gate"
    params = ", ".join(f"{k}={v}" for k, v in parts.get("params", {}).items()) or "no params"
    targets = parts.get("targets", {})
    keys = sum(1 for fingerprints in parts.get("host_keys", {}).values() if fingerprints)
    files = {**parts.get("scripts", {}), **parts.get("uploads", {})}
    listed = "; ".join(f"{name} {_short(str(sha))}" for name, sha in sorted(files.items()))
    return printable(
        f"Plan {digest[:12]}: pipeline {str(parts.get('pipeline', ''))[:12]}, {params}, "
        f"{len(targets)} target(s), known host keys for {keys}"
        + (f"; files {listed}" if listed else "")
    )


def _short(shown: str) -> str:
    """A file's digest as people compare it, or where the file comes from."""
    return shown if shown.startswith("from ") else shown[:12]
