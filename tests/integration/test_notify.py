"""Notifications as the runner sends them: to a real HTTP server and a real SMTP server
(aiosmtpd) on loopback, and to a command; a target that refuses or hangs is tried again and
then recorded as failed, and the run is not held up by it."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from console.store import open_store
from tests.conftest import Estate, write_estate
from tests.helpers import run_cli, state_of, wait_for
from tests.sshd import Sshd, free_port

GATED = """
    name = "gated"
    targets = ["all"]
    release = "version"
    [params.version]
    type = "string"
    required = true
    [[stages]]
    name = "board"
      [[stages.steps]]
      name = "change board"
      gate = "Release {{ version }} for patient MRN 12345678"
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "say"
      run = "echo PRIVATE-OUTPUT-LINE {{ version }}"
"""


class Hooks(BaseHTTPRequestHandler):
    """A webhook receiver: takes /ok, refuses /refuse, answers /hang too late."""

    got: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.got.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path == "/hang":
            time.sleep(3)
        status = 503 if self.path == "/refuse" else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def hooks() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []
    handler = type("Hooks", (Hooks,), {"got": got})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()


class Mailbox:
    """An SMTP server's handler that keeps what it is sent."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.mails.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, box
    controller.stop()


def _estate(tmp_path: Path, sshd: Sshd, url: str, smtp_port: int, out: Path) -> Estate:
    command = [
        sys.executable,
        "-c",
        f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())",
    ]
    extra = f"""
    [secrets.hook_token]
    env = "HOOK_TOKEN"

    [redact]
    mrn = 'MRN (?P<redact>[0-9]+)'

    [notify.board-hook]
    webhook = "{url}/ok"
    token = "hook_token"
    on = ["gate_opened", "run_succeeded", "run_failed"]

    [notify.chat]
    webhook = "{url}/ok"
    format = "slack"
    on = ["gate_opened"]
    environments = ["test"]

    [notify.elsewhere]
    webhook = "{url}/ok"
    on = ["gate_opened"]
    environments = ["nowhere"]

    [notify.mail]
    email = {{ smtp = "127.0.0.1:{smtp_port}", from = "opsconsole@mercy.test", to = ["board@mercy.test"], starttls = false }}
    on = ["run_succeeded"]

    [notify.pager]
    command = {json.dumps(command)}
    on = ["gate_opened"]

    [notify.broken]
    webhook = "{url}/refuse"
    on = ["run_succeeded"]
    attempts = 2

    [notify.slow]
    webhook = "{url}/hang"
    on = ["run_succeeded"]
    timeout = "1s"
    attempts = 2

    [environments.nowhere]
    """
    made = write_estate(tmp_path, sshd, hosts=1, extra=extra)
    made.pipeline("gated", GATED)
    return made


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_runner_tells_every_target_and_records_each_try(  # type: ignore[no-untyped-def]
    tmp_path: Path, sshd: Sshd, hooks, smtp, monkeypatch, request, kind: str
) -> None:
    url, got = hooks
    port, box = smtp
    out = tmp_path / "paged.json"
    monkeypatch.setenv("HOOK_TOKEN", "tok-5f1e9c")
    estate = _estate(tmp_path, sshd, url, port, out)
    if kind == "postgresql":
        from dataclasses import replace

        estate = replace(estate, store=request.getfixturevalue("team_store"))
    assert run_cli(estate, "run", "gated", "-p", "version=7.1.0", "--detach") == 0
    run_id = state_of(estate).id
    wait_for(lambda: state_of(estate).status == "waiting", what="the gate to open")
    wait_for(lambda: out.exists() and len(got) >= 2, what="the gate's notifications")
    assert run_cli(estate, "approve", run_id, "--reason", "tested") == 0
    wait_for(lambda: state_of(estate).status == "succeeded", what="the run to succeed")
    ended = state_of(estate).finished_at
    wait_for(lambda: _final(estate, run_id) >= 7, 30, "every target's last try")

    opened = [json.loads(h["body"]) for h in got if h["path"] == "/ok" and b'"notice"' in h["body"]]
    first = next(m for m in opened if m["notice"] == "gate_opened")
    assert first["run_id"] == run_id and first["pipeline"] == "gated"
    assert first["environments"] == ["test"] and first["release"] == "7.1.0"
    assert first["waiting_for"] == "Release 7.1.0 for patient MRN <mrn redacted> (1 approval(s))"
    assert first["approve_command"].startswith(f"opsconsole approve {run_id} --gate 'change board'")
    assert any(m["notice"] == "run_succeeded" for m in opened)
    assert all(
        h["headers"].get("Authorization") == "Bearer tok-5f1e9c"
        for h in got
        if h["path"] == "/ok" and b'"notice"' in h["body"]  # board-hook's, the one with a token
    )
    slack = [json.loads(h["body"]) for h in got if b'"text"' in h["body"]]
    assert len(slack) == 1 and run_id in slack[0]["text"]  # `chat` hears its environment only
    assert len([h for h in got if h["path"] == "/ok"]) == 3  # board-hook ×2, chat, not elsewhere
    paged = json.loads(out.read_text())
    assert paged["notice"] == "gate_opened" and paged["run_id"] == run_id
    (mail_from, to, text) = box.mails[0]
    assert mail_from == "opsconsole@mercy.test" and to == ["board@mercy.test"]
    assert f"gated 7.1.0 in test succeeded (run {run_id})" in text
    everything = json.dumps([h["body"].decode() for h in got]) + text + out.read_text()
    assert "PRIVATE-OUTPUT-LINE" not in everything and "12345678" not in everything

    with open_store(estate.store) as store:
        records = [r for r in store.audit_records() if r.action.startswith("notice_")]
    tries = [(r.details["target"], r.action, r.details["attempt"]) for r in records]
    assert ("broken", "notice_failed", 1) in tries and ("broken", "notice_failed", 2) in tries
    assert ("slow", "notice_failed", 2) in tries
    assert {t for t, a, _ in tries if a == "notice_sent"} == {"board-hook", "chat", "mail", "pager"}
    last = next(r for r in records if r.details["target"] == "broken" and r.details["final"])
    assert "HTTP 503" in last.details["detail"]
    slow = next(r for r in records if r.details["target"] == "slow" and r.details["final"])
    assert "no answer within 1 s" in slow.details["detail"] or "timed out" in slow.details["detail"]
    assert state_of(estate).status == "succeeded" and state_of(estate).finished_at == ended
    with open_store(estate.store) as store:  # the token is in no event and no record
        events = [s.event for s in store.read(run_id)]
        assert "tok-5f1e9c" not in repr(events) + repr(store.audit_records())


def _final(estate: Estate, run_id: str) -> int:
    with open_store(estate.store) as store:
        return sum(
            1
            for r in store.audit_records()
            if r.action.startswith("notice_") and r.subject == run_id and r.details["final"]
        )


def test_approvers_hear_before_a_gate_expires_and_when_the_run_ends_expired(
    tmp_path: Path,
    sshd: Sshd,
    hooks,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    url, got = hooks
    extra = f"""
    [notify.board]
    webhook = "{url}/ok"
    on = ["gate_expiring", "run_failed"]
    """
    estate = write_estate(tmp_path, sshd, hosts=1, extra=extra)
    text = estate.inventory.read_text()
    timed = text.replace(
        "[environments.test]\napprovals = 1",
        '[environments.test]\napprovals = 1\ngate_timeout = "4s"',
    )
    assert timed != text
    estate.inventory.write_text(timed)
    estate.pipeline("gated", GATED)
    assert run_cli(estate, "run", "gated", "-p", "version=7.2.0") != 0, capsys.readouterr()
    assert state_of(estate).status == "expired"
    said = [json.loads(h["body"]) for h in got]
    assert [m["notice"] for m in said] == ["gate_expiring", "run_failed"]
    assert said[0]["gate"] == "change board" and said[1]["status"] == "expired"
    assert said[1]["headline"].endswith(f"ended expired (run {state_of(estate).id})")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_whoever_finds_a_runner_gone_tells_of_the_interruption(  # type: ignore[no-untyped-def]
    tmp_path: Path, sshd: Sshd, hooks, request, kind: str
) -> None:
    import os
    import signal

    from tests.helpers import show_json

    url, got = hooks
    extra = f"""
    [notify.board]
    webhook = "{url}/ok"
    on = ["run_interrupted"]
    """
    estate = write_estate(tmp_path, sshd, hosts=1, extra=extra)
    estate.pipeline("gated", GATED)
    if kind == "postgresql":
        from dataclasses import replace

        estate = replace(estate, store=request.getfixturevalue("team_store"))
    assert run_cli(estate, "run", "gated", "-p", "version=7.3.0", "--detach") == 0
    run_id = state_of(estate).id
    wait_for(lambda: state_of(estate).status == "waiting", what="the gate to open")
    os.kill(state_of(estate).runner_pid or 0, signal.SIGKILL)
    wait_for(lambda: show_json(estate, run_id)["status"] == "interrupted", 30, "interrupted")
    assert not got  # seen is not recorded: nobody tells of it yet
    from console.ops.interrupted import spawn_teller
    from console.ops.runs import record_lost_runner

    with open_store(estate.store) as store:  # what a console watching the run does
        record_lost_runner(store, run_id, spawn_teller)
    wait_for(lambda: bool(got), 30, "the interruption's notification")
    said = json.loads(got[0]["body"])
    assert said["notice"] == "run_interrupted" and said["run_id"] == run_id
    assert said[
        "headline"
    ] == f"gated 7.2.0 in test was cut off (its runner is gone) (run {run_id})".replace(
        "7.2.0", "7.3.0"
    )
    wait_for(lambda: _final(estate, run_id) == 1, 30, "the try's record")
    with open_store(estate.store) as store:
        record = next(r for r in store.audit_records() if r.action == "notice_sent")
    assert record.details["target"] == "board" and record.details["notice"] == "run_interrupted"
