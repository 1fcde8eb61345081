"""What a notification says about a run: its ids, pipeline, environments, release, who launched
it, what it waits for and the command that approves it; never its output, params or secrets,
and the gate's words masked as output is."""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass
from typing import Any

from console.redact import Redactor

HEADLINES = {
    "gate_opened": "waits for approval",
    "gate_expiring": "has a gate about to expire",
    "run_failed": "failed",
    "run_succeeded": "succeeded",
    "run_interrupted": "was cut off (its runner is gone)",
}


@dataclass(frozen=True)
class Notice:
    """One thing to tell people about a run."""

    notice: str
    run_id: str
    pipeline: str
    environments: list[str]
    release: str | None
    launched_by: str
    waiting_for: str = ""
    """The gate's words and the approvals it needs, for a gate's notices."""
    gate: str = ""
    status: str = ""
    expires_at: float | None = None

    @property
    def headline(self) -> str:
        """One line: the run, what happened, where."""
        release = f" {self.release}" if self.release else ""
        where = ", ".join(self.environments) or "no environment"
        what = HEADLINES.get(self.notice, self.notice)
        if self.notice == "run_failed" and self.status and self.status != "failed":
            what = f"ended {self.status}"
        return f"{self.pipeline}{release} in {where} {what} (run {self.run_id})"

    @property
    def approve_command(self) -> str:
        """The exact command that approves the gate (empty when there is no gate)."""
        if not self.gate:
            return ""
        return (
            f"opsconsole approve {self.run_id} --gate {shlex.quote(self.gate)} "
            '--reason "…" --ticket "…"'
        )


def masked(text: str, patterns: dict[str, str]) -> str:
    """Text with the inventory's [redact] patterns masked, as output is before it is stored."""
    if not patterns:
        return text
    redactor = Redactor(patterns)
    return (redactor.feed(text.encode()) + redactor.finish()).decode(errors="replace")


def as_json(notice: Notice) -> dict[str, Any]:
    """The message as a JSON object (webhooks in the json format, commands on stdin)."""
    return {
        **asdict(notice),
        "headline": notice.headline,
        "approve_command": notice.approve_command,
    }


def webhook_body(notice: Notice, form: str) -> bytes:
    """The body a webhook of this format takes: our JSON, Slack's or Teams' message."""
    lines = [notice.headline]
    if notice.waiting_for:
        lines.append(f"Waiting for: {notice.waiting_for}")
    lines.append(f"Launched by {notice.launched_by}")
    if notice.approve_command:
        lines.append(f"Approve with: {notice.approve_command}")
    if form == "slack":
        body: dict[str, Any] = {"text": "\n".join(lines)}
    elif form == "teams":
        body = {"@type": "MessageCard", "summary": notice.headline, "text": "\n\n".join(lines)}
    else:
        body = as_json(notice)
    return json.dumps(body, sort_keys=True).encode()


def mail_text(notice: Notice) -> tuple[str, str]:
    """A mail's subject and plain-text body."""
    lines = [
        notice.headline,
        "",
        f"Run:          {notice.run_id}",
        f"Pipeline:     {notice.pipeline}",
        f"Environments: {', '.join(notice.environments) or '-'}",
        f"Release:      {notice.release or '-'}",
        f"Launched by:  {notice.launched_by}",
    ]
    if notice.waiting_for:
        lines.append(f"Waiting for:  {notice.waiting_for}")
    if notice.approve_command:
        lines += ["", "Approve with:", f"  {notice.approve_command}"]
    return f"[opsconsole] {notice.headline}", "\n".join(lines) + "\n"
