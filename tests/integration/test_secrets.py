"""Secrets: read from their source at run time, handed over on stdin, masked in every spelling."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
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


ENCODED = {
    "base64, 1 byte before": "printf 'u%s\\n' @S | base64",
    "base64, 2 bytes before": "printf 'us%s\\n' @S | base64",
    "base64, 3 bytes before": "printf 'use%s\\n' @S | base64",
    "a base64'd file": "{ seq 1 58; printf 'pwd=%s\\n' @S; seq 1 40; } | base64",
    "base64 -w 76": "{ seq 1 20; printf %s @S; } | base64 -w 76",
    "PEM (64)": "echo '-----BEGIN KEY-----'; { seq 1 17; printf %s @S; } | base64 -w 64; echo '-----END KEY-----'",
    "PEM (64), CRLF": "{ seq 1 13; printf %s @S; } | base64 -w 64 | sed 's/$/\\r/'",
    "url-safe": "printf 'ab%s' @S | base64 -w 0 | tr '+/' '-_'; echo",
    "HTTP Basic": "b=$(printf 'deploy:%s' @S | base64 -w 0); printf 'Authorization: Basic %s\\n' \"$b\"",
    "base64 cut by a pause": (  # the host waits with a partial line: it goes on alone
        "o=$(printf 'us%s' @S | base64 -w 0); h=${o%?????????????}; "
        'printf %s "$h"; sleep 0.4; printf \'%s\\n\' "${o#"$h"}"'
    ),
    "xxd -p": "{ seq 1 12; printf %s @S; } | xxd -p",
    "xxd": "{ seq 1 7; printf %s @S; echo; } | xxd",
    "xxd, the secret over two lines": "{ printf 'user:'; printf %s @S; echo; } | xxd",
    "od -An -tx1": "{ seq 1 5; printf %s @S; } | od -An -tx1",
    "od -tx1": "{ seq 1 6; printf %s @S; } | od -tx1",
    "hexdump -C": "{ seq 1 3; printf %s @S; } | hexdump -C",
}
"""Steps that print the secret as hosts encode it (`@S` stands for the secret)."""


def _encoded_pipeline() -> str:
    steps = []
    for n, command in enumerate(ENCODED.values()):
        run = command.replace("@S", "{{ secret.db_password }}")
        steps.append(f"  [[stages.steps]]\n  name = 'step{n}'\n  run = '''{run}'''\n")
    return 'name = "encoded"\ntargets = ["h1"]\n[[stages]]\nname = "s"\n' + "".join(steps)


def _printed(command: str, secret: bytes) -> bytes:
    """What a step prints, run here with this value for the secret."""
    return subprocess.run(
        ["sh", "-c", command.replace("@S", '"$S"')],
        env={"PATH": os.environ["PATH"], "S": secret},  # type: ignore[dict-item]
        capture_output=True,
        check=True,
    ).stdout


def _secret_parts(command: str) -> list[bytes]:
    """Every run of what the step prints that depends on the secret (found by printing it again
    with each of the secret's bits flipped), alone and with the single spaces between such
    characters on a line (a dump's groups): none of them may be kept anywhere. Runs shorter
    than 8 characters are left out, as a store holds hex hashes that any 4 digits may be in."""
    printed = _printed(command, SECRET.encode())
    other = _printed(command, bytes(b ^ 0xFF for b in SECRET.encode()))
    assert len(printed) == len(other)
    marked = bytes(c if c != o else 0 for c, o in zip(printed, other, strict=True))
    runs = re.findall(rb"[^\x00]+", marked)
    spaced = re.findall(rb"[^\x00 ](?:[^\x00 ]| (?=[^\x00 ]))*", _spaces_kept(printed, marked))
    return [run for run in [*runs, *spaced] if len(run) >= 8]


def _spaces_kept(printed: bytes, marked: bytes) -> bytes:
    return bytes(c if m or c == 0x20 else 0 for c, m in zip(printed, marked, strict=True))


def _cast_text(lines: str) -> str:
    """The output a cast recording plays, its colours left out."""
    frames = [json.loads(line) for line in lines.splitlines()[1:] if line.startswith("[")]
    text = "".join(f[2] for f in frames if f[1] == "o")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_no_encoding_of_a_secret_reaches_the_store_the_logs_or_an_export(
    tmp_path: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    for tool in ("base64", "xxd", "od", "hexdump", "seq", "sed", "tr"):
        if shutil.which(tool) is None:
            pytest.skip(f"the hosts here have no {tool}")
    monkeypatch.setenv("TEST_DB_PASSWORD", SECRET)
    estate = _estate(tmp_path, sshd)
    estate.pipeline("encoded", _encoded_pipeline())
    assert run_cli(estate, "run", "encoded", "--plain") == 0
    assert set(cells(state_of(estate)).values()) == {"ok"}
    capsys.readouterr()
    assert run_cli(estate, "logs", "last") == 0
    logs = capsys.readouterr().out
    assert logs.count("<secret db_password masked>") >= len(ENCODED)
    assert run_cli(estate, "export", "last", "--format", "cast") == 0
    played = _cast_text(capsys.readouterr().out)
    stored = _store_bytes(estate)
    for form, command in ENCODED.items():
        for part in _secret_parts(command):
            assert part not in stored, f"{form}: {part!r} is in the store"
            text = part.decode("latin-1")
            assert text not in logs, f"{form}: {part!r} was in the logs"
            assert text not in played, f"{form}: {part!r} was in the cast"
