"""`opsconsole rerun RUN [--failed] [--use-current]`: the same change again, or its failed hosts."""

from __future__ import annotations

from tests.conftest import Estate, on_each_store
from tests.helpers import cells, run_cli, spawn_cli, state_of, wait_for

FLAKY = """
    name = "flaky"
    targets = ["all"]
    [params.tag]
    default = "a"
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "check"
      run = "test {{ host.name }} != h2 && echo {{ tag }}"
"""


@on_each_store
def test_rerun_repeats_params_and_targets_and_says_which_run_it_repeats(
    estate: Estate, capsys
) -> None:
    estate.pipeline("flaky", FLAKY)
    assert run_cli(estate, "run", "flaky", "--param", "tag=b7") == 1
    first = state_of(estate)
    assert cells(first)[("check", "h2")] == "failed"
    assert run_cli(estate, "rerun", first.id) == 1
    again = state_of(estate)
    assert again.id != first.id and again.launched is not None
    assert again.launched.repeats == first.id
    assert again.params == {"tag": "b7"} and again.targets == ["h1", "h2", "h3"]
    assert run_cli(estate, "rerun", first.id, "--failed") == 1
    failed_only = state_of(estate)
    assert failed_only.targets == ["h2"] and failed_only.launched.repeats == first.id  # type: ignore[union-attr]
    assert run_cli(estate, "audit", "export", "--run", failed_only.id) == 0
    assert f'"repeats":"{first.id}"' in capsys.readouterr().out


def test_a_changed_pipeline_is_shown_as_a_diff_and_not_run_unless_asked(
    estate: Estate, capsys
) -> None:
    estate.pipeline("flaky", FLAKY)
    assert run_cli(estate, "run", "flaky") == 1
    first = state_of(estate).id
    estate.pipeline("flaky", FLAKY.replace("echo {{ tag }}", "echo changed"))
    capsys.readouterr()
    assert run_cli(estate, "rerun", first) == 2
    err = capsys.readouterr().err
    assert "changed since run" in err and "--use-current" in err and "--stored" in err
    diff = err.splitlines()
    assert any(line.startswith("-") and "echo {{ tag }}" in line for line in diff)
    assert any(line.startswith("+") and "echo changed" in line for line in diff)
    assert state_of(estate).id == first  # nothing was launched
    assert run_cli(estate, "rerun", first, "--use-current") == 1
    assert state_of(estate).launched.repeats == first  # type: ignore[union-attr]
    capsys.readouterr()
    assert run_cli(estate, "logs", "last", "--host", "h1") == 0
    assert "changed" in capsys.readouterr().out


def test_a_changed_pipeline_can_be_run_again_as_it_ran(estate: Estate, capsys) -> None:
    estate.pipeline("flaky", FLAKY)
    assert run_cli(estate, "run", "flaky", "--param", "tag=as-it-ran") == 1
    first = state_of(estate)
    estate.pipeline("flaky", FLAKY.replace("echo {{ tag }}", "echo changed"))
    result = spawn_cli(estate, "rerun", first.id, "--stored", "--detach")  # the runner reads it
    assert result.returncode == 0, result.stderr
    wait_for(lambda: state_of(estate, result.stdout.strip()).is_final, 60, "the re-run")
    again = state_of(estate, result.stdout.strip())
    assert again.launched is not None and again.launched.stored_version
    assert again.launched.pipeline_digest == first.launched.pipeline_digest  # type: ignore[union-attr]
    capsys.readouterr()
    assert run_cli(estate, "logs", again.id, "--host", "h1") == 0
    out = capsys.readouterr().out
    assert "as-it-ran" in out and "changed" not in out
    assert "changed" in (estate.pipelines / "flaky.toml").read_text()  # the file is left alone


def test_the_stored_version_runs_its_scripts_as_they_ran(estate: Estate, capsys) -> None:
    (estate.root / "hello.sh").write_text("echo hello\n")
    scripted = """
        name = "scripted"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "hello"
          script = "hello.sh"
    """
    estate.pipeline("scripted", scripted)
    assert run_cli(estate, "run", "scripted") == 0
    estate.pipeline("scripted", scripted.replace('name = "hello"', 'name = "greet"'))
    (estate.root / "hello.sh").write_text("echo bye\n")
    capsys.readouterr()
    assert run_cli(estate, "rerun", "last", "--stored") == 0
    assert run_cli(estate, "logs", "last") == 0
    assert capsys.readouterr().out.strip().endswith("hello")  # the bytes it ran, not the file's


def test_a_run_without_failures_has_nothing_to_rerun_with_failed(estate: Estate, capsys) -> None:
    estate.pipeline("flaky", FLAKY.replace("!= h2", "!= nowhere"))
    assert run_cli(estate, "run", "flaky") == 0
    assert run_cli(estate, "rerun", "last", "--failed") == 2
    assert "has no failed or unreachable host" in capsys.readouterr().err
