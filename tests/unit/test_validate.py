"""`opsconsole validate`: every problem at once, each with its file, line, key path and a hint."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from console.cli import main
from console.errors import ConfigError
from console.model.load import load_config

INVENTORY = """\
[inventory]
name = "t"

[environments.prod]
approvals = 2

[environments.dev]

[groups.web]
environment = "prod"
children = ["api"]

[groups.api]
children = ["web"]

[groups.devbox]
environment = "dev"

[hosts.web-01]
address = "10.0.0.1"
groups = ["web", "devbox"]

[hosts.db-01]
address = "10.0.0.2"
groups = ["databse"]
proxy_jump = "bastoin"
"""

PIPELINE = """\
name = "deploy"
targets = ["web", "nosuch"]

[params.version]
type = "string"
pattern = "^[0-9]+$"
default = "abc"

[[stages]]
name = "one"
strategy = "rolling"
batch = "150%"
  [[stages.steps]]
  name = "a"
  run = "echo {{ versoin }}"
  timeout = "5 minutes"
  [[stages.steps]]
  name = "b"
  runn = "ls"
  [[stages.steps]]
  name = "c"
  run = "echo '{{ version }}'"
  check = "true"
"""


def _write(tmp_path: Path, inventory: str, pipelines: dict[str, str]) -> Path:
    (tmp_path / "pipelines").mkdir()
    for name, text in pipelines.items():
        (tmp_path / "pipelines" / f"{name}.toml").write_text(text)
    path = tmp_path / "inventory.toml"
    path.write_text(inventory)
    return path


def _problems(path: Path) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [(Path(p.file).name, p.line, p.message) for p in caught.value.problems]


def test_inventory_problems_are_all_reported_with_lines(tmp_path: Path) -> None:
    found = _problems(_write(tmp_path, INVENTORY, {}))
    text = "\n".join(f"{f}:{line}: {m}" for f, line, m in found)
    assert "inventory.toml:25: unknown group 'databse'" in text
    assert "inventory.toml:26: unknown jump host 'bastoin'" in text
    assert "groups nest in a cycle (api -> web -> api)" in text or "(web -> api -> web)" in text
    assert (
        "inventory.toml:21: host 'web-01' is in groups of different environments (dev, prod)"
        in text
    )


def test_pipeline_problems_name_line_key_and_suggest(tmp_path: Path) -> None:
    good_inventory = (
        "[inventory]\nname = 't'\n[groups.web]\n[hosts.w1]\naddress = 'x'\ngroups = ['web']\n"
    )
    path = _write(tmp_path, good_inventory, {"deploy": PIPELINE})
    found = _problems(path)
    text = "\n".join(f"{f}:{line}: {m}" for f, line, m in found)
    # structural problems come from the first pass, with their lines
    assert "deploy.toml:12: '150%' is not a batch size" in text
    assert "deploy.toml:16: '5 minutes' is not a duration" in text
    assert "deploy.toml:19: unknown key 'runn'; did you mean 'run'?" in text
    assert "deploy.toml:20: step 'c' has 2 kinds (run, check); give it exactly one" in text


def test_cross_file_problems_in_pipelines(tmp_path: Path) -> None:
    good_inventory = (
        "[inventory]\nname = 't'\n[groups.web]\n[hosts.w1]\naddress = 'x'\ngroups = ['web']\n"
    )
    pipeline = textwrap.dedent("""\
        name = "deploy"
        targets = ["web", "wbe"]

        [params.version]
        pattern = "^[0-9]+$"
        default = "abc"

        [[stages]]
        name = "one"
          [[stages.steps]]
          name = "a"
          run = "echo {{ versoin }} {{ vars.nope }}"
          [[stages.steps]]
          name = "quoted"
          run = "echo '{{ version }}'"
          [[stages.steps]]
          name = "s"
          script = "scripts/missing.sh"
        """)
    found = _problems(_write(tmp_path, good_inventory, {"deploy": pipeline}))
    text = "\n".join(f"{f}:{line}: {m}" for f, line, m in found)
    assert "deploy.toml:2: unknown group or host 'wbe'; did you mean 'web'?" in text
    assert "deploy.toml:6: the default is invalid: param 'version' = 'abc' does not match" in text
    assert "deploy.toml:12: unknown template name 'versoin'; did you mean 'version'?" in text
    assert "deploy.toml:12: unknown template name 'vars.nope'" in text
    assert "deploy.toml:15: {{ version }} is inside quotes" in text
    assert "deploy.toml:18: the script 'scripts/missing.sh' does not exist" in text


def test_syntax_error_has_its_line(tmp_path: Path) -> None:
    found = _problems(_write(tmp_path, "[inventory]\nname = 't'\n\nbroken = = 1\n", {}))
    assert found[0][1] == 4
    assert "not valid TOML" in found[0][2]


def test_duplicate_pipeline_names_and_missing_required_keys(tmp_path: Path) -> None:
    base = "[inventory]\nname = 't'\n[hosts.a]\naddress = 'x'\n"
    one = 'name = "same"\ntargets = ["a"]\n[[stages]]\nname = "s"\n  [[stages.steps]]\n  name = "x"\n  run = "true"\n'
    found = _problems(_write(tmp_path, base, {"a": one, "b": one, "c": 'name = "c"\n'}))
    text = "\n".join(f"{f}:{line}: {m}" for f, line, m in found)
    assert "b.toml:1: pipeline 'same' is also defined in a.toml" in text
    assert "c.toml:None: 'targets' is required here" in text


def test_validate_command_prints_problems_and_exits_2(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, INVENTORY, {})
    assert main(["validate", "--inventory", str(path)]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "problems found; nothing was run" in err
    assert "Traceback" not in err


def test_validate_accepts_the_sample(capsys) -> None:
    root = Path(__file__).resolve().parents[2]
    assert main(["validate", "--inventory", str(root / "sample_inventory.toml")]) == 0
    assert "6 pipelines" in capsys.readouterr().out


def test_missing_inventory_is_a_sentence(tmp_path: Path, capsys) -> None:
    assert main(["validate", "--inventory", str(tmp_path / "nope.toml")]) == 2
    assert "the inventory file does not exist; pass --inventory PATH" in capsys.readouterr().err


def test_a_promotion_rule_names_an_environment_that_is_declared(tmp_path: Path) -> None:
    inventory = (
        "[inventory]\nname = 't'\n[environments.staging]\n[environments.prod]\n"
        "requires = { environment = 'stagign', same = ['version'], within = '14d' }\n"
        "[environments.qa]\nrequires = { environment = 'qa' }\n"
    )
    text = "\n".join(
        f"{f}:{line}: {m}" for f, line, m in _problems(_write(tmp_path, inventory, {}))
    )
    assert "inventory.toml:5: unknown environment 'stagign'; did you mean 'staging'?" in text
    assert "inventory.toml:7: environment 'qa' cannot require itself" in text


def test_a_notification_target_names_secrets_and_environments_that_exist(tmp_path: Path) -> None:
    inventory = (
        "[inventory]\nname = 't'\n[environments.prod]\n[secrets.hook]\nenv = 'HOOK'\n"
        "[notify.board]\nwebhook = 'https://chat.example/hook'\ntoken = 'hok'\n"
        "on = ['gate_opened']\nenvironments = ['prdo']\n"
    )
    found = _problems(_write(tmp_path, inventory, {}))
    text = "\n".join(f"{f}:{line}: {m}" for f, line, m in found)
    assert "inventory.toml:8: unknown secret 'hok'; did you mean 'hook'?" in text
    assert "inventory.toml:10: unknown environment 'prdo'; did you mean 'prod'?" in text
    both = (
        "[notify.both]\nwebhook = 'https://x.example/'\ncommand = ['true']\non = ['run_failed']\n"
    )
    (tmp_path / "inventory.toml").write_text("[inventory]\nname = 't'\n" + both)
    text = "\n".join(m for _, _, m in _problems(tmp_path / "inventory.toml"))
    assert "a notification target has exactly one of webhook, email or command" in text
