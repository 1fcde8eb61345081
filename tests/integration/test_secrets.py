"""Secrets: read from their source at run time, handed over on stdin, masked in every spelling."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import Estate, write_estate
from tests.helpers import cells, run_cli, state_of
from tests.sshd import Sshd

SECRET = "pa55-w/rd&z%9!xyzzy"
LINES = "first-line-of-key\nsecond-line-of-key"

LEAKS = '''
    name = "leaky"
    targets = ["h1"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "forms"
      run = """
    printf '%s\\n' {{ secret.db_password }}
    printf %s {{ secret.db_password }} | base64
    printf %s {{ secret.db_password }} | python3 -c 'import sys, urllib.parse as u; print(u.quote(sys.stdin.read(), ""))'
    printf %s {{ secret.db_password }} | python3 -c 'import sys; print(sys.stdin.read().encode().hex())'
    printf %s {{ secret.db_password }} | python3 -c 'import sys, json; print(json.dumps({"pw": sys.stdin.read()}))'
    printf '%s\\n' {{ secret.key }}
    """
      [[stages.steps]]
      name = "split"
      run = """
    s={{ secret.db_password }}
    printf %s "${s%?????????}"; sleep 0.4; printf '%s\\n' "${s#"${s%?????????}"}"
    """
      [[stages.steps]]
      name = "quiet"
      run = "sleep 1.5; printf %s {{ secret.db_password }} | wc -c"
'''


def _estate(tmp_path: Path, sshd: Sshd) -> Estate:
    key = tmp_path / "key.txt"
    key.write_text(LINES + "\n")
    key.chmod(0o600)
    extra = f"""
    [secrets.db_password]
    env = "TEST_DB_PASSWORD"

    [secrets.key]
    file = "{key}"
    """
    estate = write_estate(tmp_path, sshd, extra=extra)
    estate.pipeline("leaky", LEAKS)
    return estate


def _spellings() -> dict[str, bytes]:
    raw = SECRET.encode()
    return {
        "raw": raw,
        "base64": base64.b64encode(raw),
        "url": urllib.parse.quote(SECRET, safe="").encode(),
        "hex": raw.hex().encode(),
        "json": json.dumps(SECRET)[1:-1].encode(),
        "key line 1": b"first-line-of-key",
        "key line 2": b"second-line-of-key",
    }


def _store_bytes(estate: Estate) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{estate.store}{suffix}")
        if path.exists():
            data += path.read_bytes()
    return data


def test_no_spelling_of_a_secret_reaches_the_store_the_logs_or_a_command_line(
    tmp_path: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("TEST_DB_PASSWORD", SECRET)
    estate = _estate(tmp_path, sshd)
    seen: list[str] = []

    def watch_ps() -> None:  # every account's view of every command line, while it runs
        for _ in range(30):
            seen.append(
                subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
            )
            threading.Event().wait(0.1)

    watcher = threading.Thread(target=watch_ps)
    watcher.start()
    assert run_cli(estate, "run", "leaky", "--plain") == 0
    watcher.join()
    assert set(cells(state_of(estate)).values()) == {"ok"}
    printed = capsys.readouterr().out
    assert run_cli(estate, "logs", "last") == 0
    logs = capsys.readouterr().out
    assert "<secret db_password masked>" in logs and "<secret key masked>" in logs
    assert "19\n" in logs  # the command saw the whole value, 19 characters
    stored = _store_bytes(estate)
    for form, spelling in _spellings().items():
        assert spelling not in stored, f"the {form} spelling is in the store"
        assert spelling.decode() not in logs + printed, f"the {form} spelling was printed"
        assert not any(spelling.decode() in ps for ps in seen), f"{form} was on a command line"
    assert run_cli(estate, "export", "last", "--format", "cast") == 0
    assert SECRET not in capsys.readouterr().out


def test_a_secret_that_cannot_be_read_fails_the_run_in_words(
    tmp_path: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("TEST_DB_PASSWORD", raising=False)
    estate = _estate(tmp_path, sshd)
    assert run_cli(estate, "run", "leaky", "--plain") == 1
    assert "comes from $TEST_DB_PASSWORD, which is not set" in state_of(estate).message
    monkeypatch.setenv("TEST_DB_PASSWORD", SECRET)
    (tmp_path / "key.txt").chmod(0o644)
    assert run_cli(estate, "run", "leaky", "--plain") == 1
    message = state_of(estate).message
    assert "other accounts may read" in message and "chmod 600" in message
    assert set(cells(state_of(estate)).values()) == {"skipped"}  # nothing ran


def test_secrets_come_from_a_command_and_stay_out_of_the_pipeline_file(
    tmp_path: Path, sshd: Sshd, capsys
) -> None:
    estate = write_estate(
        tmp_path, sshd, extra='[secrets.token]\ncommand = "printf from-the-vault-42"\n'
    )
    estate.pipeline(
        "vault",
        """
        name = "vault"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "use"
          run = "test $(printf %s {{ secret.token }} | wc -c) -eq 17 && echo {{ secret.token }}"
          [[stages.steps]]
          name = "upload"
          upload = { src = "{{ secret.token }}", dest = "/tmp/x" }
        """,
    )
    assert run_cli(estate, "validate") == 2
    assert "secrets may be used only in run and check commands" in capsys.readouterr().err
    (estate.pipelines / "vault.toml").write_text(
        (estate.pipelines / "vault.toml")
        .read_text()
        .split('  [[stages.steps]]\n  name = "upload"')[0]
    )
    assert run_cli(estate, "run", "vault", "--plain") == 0
    capsys.readouterr()
    assert run_cli(estate, "logs", "last") == 0
    assert "<secret token masked>" in capsys.readouterr().out
    assert b"from-the-vault-42" not in _store_bytes(estate)
