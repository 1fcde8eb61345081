"""Getting a message to a notification target: a webhook (an HTTP POST), mail (SMTP, with
STARTTLS unless told otherwise) or a command (no shell; the message as JSON on its stdin).
Each try has a time limit and says in words how it went."""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage

from console.model.inventory import Email, NotifyTarget
from console.notify.message import Notice, as_json, mail_text, webhook_body


class NotSent(Exception):
    """A try did not get the message through; the text says why."""


async def deliver(target: NotifyTarget, notice: Notice, secrets: Mapping[str, str]) -> str:
    """Send the message once; what the target answered, or NotSent with why."""
    try:
        if target.webhook is not None:
            return await asyncio.wait_for(
                asyncio.to_thread(_post, target, notice, secrets), target.timeout
            )
        if target.email is not None:
            return await asyncio.wait_for(
                asyncio.to_thread(_mail, target.email, notice, secrets, target.timeout),
                target.timeout,
            )
        return await _command(target, notice)
    except TimeoutError:
        raise NotSent(f"no answer within {target.timeout:g} s") from None


def _post(target: NotifyTarget, notice: Notice, secrets: Mapping[str, str]) -> str:
    assert target.webhook is not None
    request = urllib.request.Request(
        target.webhook,
        data=webhook_body(notice, target.format),
        headers={"Content-Type": "application/json", "User-Agent": "opsconsole"},
        method="POST",
    )
    if target.token is not None:
        request.add_header("Authorization", f"Bearer {secrets[target.token]}")
    try:
        with urllib.request.urlopen(request, timeout=target.timeout) as answer:
            return f"HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        raise NotSent(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise NotSent(f"could not reach {target.webhook}: {getattr(exc, 'reason', exc)}") from None


def _mail(email: Email, notice: Notice, secrets: Mapping[str, str], timeout: float) -> str:
    host, _, port = email.smtp.rpartition(":")
    subject, body = mail_text(notice)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = email.sender, ", ".join(email.to), subject
    message.set_content(body)
    try:
        with smtplib.SMTP(host, int(port), timeout=timeout) as server:
            if email.starttls:
                server.starttls(context=ssl.create_default_context())
            if email.user and email.password:
                server.login(email.user, secrets[email.password])
            refused = server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise NotSent(f"mail through {email.smtp} failed: {exc}") from None
    if refused:
        raise NotSent(f"{email.smtp} refused {', '.join(sorted(refused))}")
    return f"accepted by {email.smtp} for {len(email.to)} recipient(s)"


async def _command(target: NotifyTarget, notice: Notice) -> str:
    assert target.command is not None
    try:
        process = await asyncio.create_subprocess_exec(
            *target.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise NotSent(f"could not start {target.command[0]}: {exc.strerror}") from None
    data = json.dumps(as_json(notice), sort_keys=True).encode()
    try:
        _, err = await asyncio.wait_for(process.communicate(data), target.timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise NotSent(f"{target.command[0]} did not finish within {target.timeout:g} s") from None
    if process.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise NotSent(f"{target.command[0]} exited {process.returncode}: {said[0][:200]}")
    return f"{target.command[0]} took it"
