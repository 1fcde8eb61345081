"""`opsconsole export RUN --format cast`: an asciicast v2 recording with the real timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from console import events as ev
from console.cli import main
from console.store.sqlite import SQLiteStore
from tests.ui import seed

RUN = "20261117-090000-aaaa"
HOSTILE = "20261117-120000-eeee"
ASCIINEMA = str(Path(sys.executable).with_name("asciinema"))


def _recorded(tmp_path: Path) -> Path:
    """The seeded finished run, one host's output carrying colour and hostile sequences."""
    path = tmp_path / "store.db"
    store = seed.estate(path)
    store.close()
    store = SQLiteStore(path)
    seed.launch(store, HOSTILE, seed.T0 + 100)
    store.append(
        [
            ev.Output(
                run_id=HOSTILE,
                at=seed.T0 + 101.2,
                stage="preflight",
                step="disk space",
                host="ehr-web-stg-02",
                stream="stdout",
                data=b"\x1b[31mred\x1b[0m \x1b]52;c;ZXZpbA==\x07\x1b]0;pwned\x07title\x1b[2J\n",
            )
        ]
    )
    store.close()
    return path


def _export(path: Path, *extra: str, run: str = RUN) -> list[list[object]]:
    out = path.parent / "run.cast"
    assert (
        main(["export", run, "--format", "cast", "--out", str(out), "--store", str(path), *extra])
        == 0
    )
    header, *frames = out.read_text().splitlines()
    assert json.loads(header)["version"] == 2
    return [json.loads(f) for f in frames]


def test_the_recording_keeps_the_real_timing_and_only_safe_text(tmp_path: Path) -> None:
    path = _recorded(tmp_path)
    frames = _export(path)
    header = json.loads((tmp_path / "run.cast").read_text().splitlines()[0])
    assert header["timestamp"] == int(seed.T0) and RUN in header["title"]
    times = [f[0] for f in frames]
    assert times == sorted(times)
    output = [f for f in frames if f[1] == "o" and "use 41%" in str(f[2])]
    assert len(output) == 2 and output[0][0] == 1.0  # one second after the launch
    assert str(output[0][2]).startswith("ehr-web-stg-01 disk space| use 41%")
    hostile = next(f for f in _export(path, run=HOSTILE) if "red" in str(f[2]))
    assert hostile[0] == pytest.approx(1.2)
    text = str(hostile[2])
    assert "\x1b[31mred" in text and "title" in text
    assert "\x1b]" not in text and "\x1b[2J" not in text and "\x07" not in text
    assert [frames[-2][1], frames[-2][2]] == ["m", "run succeeded"] and frames[-2][0] == 30.0


def test_asciinema_plays_it_back(tmp_path: Path) -> None:
    path = _recorded(tmp_path)
    _export(path, "--host", "ehr-web-stg-01")
    played = subprocess.run(
        [ASCIINEMA, "cat", str(tmp_path / "run.cast")], capture_output=True, text=True, check=True
    ).stdout
    assert "ehr-web-stg-01 disk space| use 41%" in played
    assert "ehr-web-stg-02" not in played and "run succeeded" in played


def test_a_missing_folder_is_said_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _recorded(tmp_path)
    target = tmp_path / "nowhere" / "run.cast"
    code = main(["export", RUN, "--format", "cast", "--out", str(target), "--store", str(path)])
    assert code == 2 and "the folder" in capsys.readouterr().err
    assert not target.parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("store.db")) == []


def test_an_export_gets_the_mode_a_shell_redirection_would(tmp_path: Path) -> None:
    path = _recorded(tmp_path)
    _export(path)
    assert (tmp_path / "run.cast").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_text_a_host_hides_by_its_colours_is_shown_in_the_recording(tmp_path: Path) -> None:
    from rich.text import Text

    path = tmp_path / "store.db"
    seed.estate(path).close()
    store = SQLiteStore(path)
    seed.launch(store, HOSTILE, seed.T0 + 100)
    hidden = b"\x1b[8mrm -rf /\x1b[0m \x1b[37;47mapprove\x1b[0m \x1b[31m\x1b[41mme\x1b[0m\n"
    store.append(
        [
            ev.Output(
                run_id=HOSTILE,
                at=seed.T0 + 101,
                stage="preflight",
                step="disk space",
                host="ehr-web-stg-02",
                stream="stdout",
                data=data,
            )
            for data in (hidden[:20], hidden[20:])
        ]
    )
    store.close()
    text = "".join(str(f[2]) for f in _export(path, run=HOSTILE) if f[1] == "o")
    assert "ehr-web-stg-02 disk space| rm -rf /" in text
    assert "\x1b[8m" not in text and "\x1b[37;47m" not in text
    shown = Text.from_ansi(text.replace("\r\n", "\n"))  # as a terminal replaying it draws it
    assert "| rm -rf / \n" in shown.plain and "| approve me\n" in shown.plain  # the pause shows
    for span in shown.spans:
        style = span.style
        assert not isinstance(style, str) and not style.conceal
        assert not (style.color and style.bgcolor), style
