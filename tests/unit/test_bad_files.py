"""Hostile or broken configuration files: one clear sentence naming the file, never a traceback."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli import main
from console.errors import ConfigError
from console.model.load import load_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "sample_inventory.toml").read_text()
HOST = '\n[hosts.{name}]\naddress = "{address}"\ngroups = ["ehr-web"]\n'

BROKEN = {
    "a key given twice": SAMPLE + '\n[inventory]\nname = "again"\n',
    "2,000-deep nesting": SAMPLE + "\ndeep = " + "[" * 2000 + "]" * 2000 + "\n",
    "a 5,000-digit integer": SAMPLE.replace("[ssh]", "[ssh]\nport = " + "9" * 5000, 1),
    "a NUL": SAMPLE.replace("[ssh]", "[ssh]\x00", 1),
    "port 0": SAMPLE.replace("[ssh]", "[ssh]\nport = 0", 1),
    "port 65536": SAMPLE.replace("[ssh]", "[ssh]\nport = 65536", 1),
    "a host named like an option": SAMPLE
    + HOST.format(name='"-oProxyCommand=x"', address="10.0.0.9"),
    "an address like an option": SAMPLE + HOST.format(name="odd", address="-oProxyCommand=x"),
    "a host name with a space": SAMPLE + HOST.format(name='"web 01"', address="10.0.0.9"),
    "a host name with a newline": SAMPLE + HOST.format(name='"web\\n01"', address="10.0.0.9"),
    "a host name with a bidi override": SAMPLE
    + HOST.format(name='"web\\u202e10"', address="10.0.0.9"),
    "a user like an option": SAMPLE
    + '\n[hosts.odd]\naddress = "10.0.0.9"\nuser = "-oX"\ngroups = ["ehr-web"]\n',
}


def _validate(inventory: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["validate", "--inventory", str(inventory), "--pipelines", str(ROOT / "pipelines")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "nothing was run" in err
    return err


def test_names_from_the_file_are_shown_escaped(tmp_path: Path, capsys) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(BROKEN["a host name with a newline"])
    err = _validate(inventory, capsys)
    assert "web␤01" in err and "a name holds only letters, digits" in err
    inventory.write_text(BROKEN["a host name with a bidi override"])
    assert "<U+202E>" in _validate(inventory, capsys)


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_broken_file_is_one_located_sentence(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(BROKEN[case])
    err = _validate(inventory, capsys)
    assert f"error: {inventory}" in err and len(err.splitlines()) == 2  # one problem, one line


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path: Path, capsys) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_bytes(SAMPLE.encode().replace(b"[ssh]", b"# caf\xe9\n[ssh]", 1))
    err = _validate(inventory, capsys)
    line = SAMPLE[: SAMPLE.index("[ssh]")].count("\n") + 1
    assert f"{inventory}:{line}: the inventory file is not UTF-8 text" in err


def test_a_world_writable_inventory_or_known_hosts_is_refused(tmp_path: Path, capsys) -> None:
    inventory = tmp_path / "inventory.toml"
    known = tmp_path / "known_hosts"
    known.write_text("")
    inventory.write_text(
        re.sub(r'(?m)^known_hosts = ".*"$', f'known_hosts = "{known}"', SAMPLE, count=1)
    )
    inventory.chmod(0o666)
    assert "every account on this machine could change it" in _validate(inventory, capsys)
    inventory.chmod(0o644)
    known.chmod(0o666)
    err = _validate(inventory, capsys)
    assert f"the known_hosts file {known} is refused" in err and "chmod go-w" in err


@pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to make a folder owned by another account"
)
def test_a_link_into_another_accounts_folder_is_refused(tmp_path: Path, capsys) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "inventory.toml").write_text(SAMPLE)
    os.chown(theirs, 65534, 65534)
    link = tmp_path / "inventory.toml"
    link.symlink_to(theirs / "inventory.toml")
    err = _validate(link, capsys)
    assert f"the folder {theirs} may be written by its owner nobody (uid 65534)" in err


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    at=st.integers(0, len(SAMPLE.encode())),
    cut=st.integers(0, 40),
    insert=st.binary(max_size=40),
)
def test_any_damage_to_the_inventory_is_a_config_error(
    tmp_path: Path, at: int, cut: int, insert: bytes
) -> None:
    data = SAMPLE.encode()
    inventory = tmp_path / "inventory.toml"
    inventory.write_bytes(data[:at] + insert + data[at + cut :])
    try:
        load_config(inventory, ROOT / "pipelines")
    except ConfigError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)


def test_a_transfer_from_nowhere_or_with_another_hosts_names_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(SAMPLE.replace('pipelines = "pipelines"', 'pipelines = "own"', 1))
    (tmp_path / "own").mkdir()
    sample = (ROOT / "pipelines" / "transfer-lab-results.toml").read_text()
    (tmp_path / "own" / "lab.toml").write_text(
        sample.replace('from = "{{ source }}"', 'from = "lab-stg-09"').replace(
            "{{ vars.spool_dir }}/results", "{{ vars.spool_dri }}/results"
        )
    )
    code = main(["validate", "--inventory", str(inventory)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert (
        "[stages[1].steps[1].transfer.from]: the transfer's source 'lab-stg-09' is neither" in err
    )
    # `src` is a path on the source host: its names are the lab hosts' (filetransfer has none)
    assert (
        "[stages[1].steps[1].transfer.src]: unknown template name 'vars.spool_dri'; "
        "did you mean 'vars.spool_dir'?" in err
    )
