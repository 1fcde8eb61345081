"""Every step kind against a real sshd: run, check, script, upload, download and gate."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from console.store.sqlite import SQLiteStore
from tests.conftest import Estate, on_each_store
from tests.helpers import cells, run_cli, state_of


@on_each_store
def test_run_step_streams_output_and_records_exit_codes(estate: Estate, capsys) -> None:
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["all"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "greet"
          run = "echo hello from {{ host.name }}; echo oops >&2"
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    state = state_of(estate)
    assert state.status == "succeeded"
    assert all(c.status == "ok" and c.exit_code == 0 for c in state.cells.values())
    capsys.readouterr()
    assert run_cli(estate, "logs", "last", "--host", "h2") == 0
    out = capsys.readouterr().out
    assert "h2 greet| hello from h2" in out
    assert "h2 greet!| oops" in out
    assert "h1" not in out


@on_each_store
def test_failing_command_is_failed_not_unreachable(estate: Estate) -> None:
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "bad"
          run = "exit 3"
          [[stages.steps]]
          name = "after"
          run = "true"
    """,
    )
    assert run_cli(estate, "run", "p") == 1
    state = state_of(estate)
    cell = state.cells[("s", "bad", "h1")]
    assert (cell.status, cell.exit_code) == ("failed", 3)
    assert state.cells[("s", "after", "h1")].status == "skipped"
    assert state.status == "failed"


@on_each_store
def test_check_retries_until_it_succeeds(estate: Estate) -> None:
    counter = estate.work / "tries"
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "health"
          check = "echo x >> {counter}; test $(wc -l < {counter}) -ge 3"
          retries = 5
          delay = "0.1s"
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    cell = state_of(estate).cells[("s", "health", "h1")]
    assert (cell.status, cell.attempts) == ("ok", 3)
    assert counter.read_text().count("x") == 3


def test_check_gives_up_after_its_retries(estate: Estate) -> None:
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "health"
          check = "false"
          retries = 2
          delay = "0.05s"
    """,
    )
    assert run_cli(estate, "run", "p") == 1
    cell = state_of(estate).cells[("s", "health", "h1")]
    assert (cell.status, cell.attempts) == ("failed", 3)


@on_each_store
def test_script_is_uploaded_run_with_params_and_removed(estate: Estate) -> None:
    script = estate.root / "scripts" / "hello.sh"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        'echo "v=$OPSCONSOLE_VERSION on $OPSCONSOLE_HOST_NAME" > "$OPSCONSOLE_VARS_WORK/$OPSCONSOLE_HOST_NAME.out"\n'
        'echo "$0" > "$OPSCONSOLE_VARS_WORK/path"\n'
    )
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["h1"]
        [params.version]
        default = "1.0; rm -rf /"
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "script"
          script = "scripts/hello.sh"
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    assert (estate.work / "h1.out").read_text() == "v=1.0; rm -rf / on h1\n"
    remote_path = Path((estate.work / "path").read_text().strip())
    assert remote_path.name.startswith(".opsconsole-script-")
    assert not remote_path.exists()


@on_each_store
def test_upload_and_download_verify_checksums_and_leave_no_temp_files(estate: Estate) -> None:
    payload = estate.root / "artifact.bin"
    payload.write_bytes(bytes(range(256)) * 4000)
    remote = estate.work / "remote"
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "mkdir"
          run = "mkdir -p {remote}"
          [[stages.steps]]
          name = "up"
          upload = {{ src = "artifact.bin", dest = "{remote}/{{{{ host.name }}}}.bin", mode = "0640" }}
          [[stages.steps]]
          name = "down"
          download = {{ src = "{remote}/{{{{ host.name }}}}.bin", dest = "fetched/{{{{ host.name }}}}.bin" }}
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    uploaded = remote / "h1.bin"
    assert uploaded.read_bytes() == payload.read_bytes()
    assert oct(uploaded.stat().st_mode & 0o777) == "0o640"
    fetched = estate.root / "fetched" / "h1.bin"
    assert (
        hashlib.sha256(fetched.read_bytes()).digest()
        == hashlib.sha256(payload.read_bytes()).digest()
    )
    assert sorted(p.name for p in remote.iterdir()) == ["h1.bin"]
    assert sorted(p.name for p in fetched.parent.iterdir()) == ["h1.bin"]


def test_upload_of_a_missing_local_file_is_refused_at_launch(estate: Estate, capsys) -> None:
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "up"
          upload = {{ src = "nope.bin", dest = "{estate.work}/x" }}
    """,
    )
    assert run_cli(estate, "run", "p") == 2
    err = capsys.readouterr().err
    assert "the upload source nope.bin does not exist" in err and "nothing was launched" in err
    assert not estate.store.exists() or not SQLiteStore(estate.store).runs()


def test_download_of_a_missing_remote_file_writes_nothing(estate: Estate) -> None:
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "down"
          download = {{ src = "{estate.work}/missing", dest = "got/x" }}
    """,
    )
    assert run_cli(estate, "run", "p") == 1
    assert cells(state_of(estate))[("down", "h1")] == "failed"
    assert not (estate.root / "got" / "x").exists()


def test_a_download_named_to_leave_its_folder_writes_nothing_there(tmp_path, sshd) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import write_estate

    estate = write_estate(
        tmp_path / "estate", sshd, hosts=1, host_extra='vars = { name = "../../escaped" }'
    )
    (estate.work / "payload").write_text("from the host\n")
    link = estate.root / "link"
    link.symlink_to(tmp_path)  # a folder inside that points outside
    for dest in ("got/{{ vars.name }}", "/tmp/escaped-absolute", "link/escaped-by-link"):
        estate.pipeline(
            "p",
            f"""
            name = "p"
            targets = ["h1"]
            [[stages]]
            name = "s"
              [[stages.steps]]
              name = "down"
              download = {{ src = "{estate.work}/payload", dest = "{dest}" }}
        """,
        )
        assert run_cli(estate, "run", "p") == 1
        cell = state_of(estate).cells[("s", "down", "h1")]
        assert cell.status == "failed" and "leads outside the inventory's folder" in cell.message
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "escaped-by-link").exists()
    assert not Path("/tmp/escaped-absolute").exists()


def test_step_hosts_narrow_the_targets(estate: Estate) -> None:
    estate.pipeline(
        "p",
        """
        name = "p"
        targets = ["all"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "only two"
          hosts = ["n=2"]
          run = "true"
          [[stages.steps]]
          name = "everyone"
          run = "true"
    """,
    )
    assert run_cli(estate, "run", "p") == 0
    got = cells(state_of(estate))
    assert [h for (step, h) in got if step == "only two"] == ["h2"]
    assert sorted(h for (step, h) in got if step == "everyone") == ["h1", "h2", "h3"]


def test_a_download_cut_in_the_middle_leaves_nothing_at_its_destination(
    estate: Estate, sshd
) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import threading

    from tests.helpers import wait_for

    payload = estate.work / "big.bin"
    with payload.open("wb") as out:  # large enough to be caught in flight on loopback
        for _ in range(48):
            out.write(os.urandom(1 << 22))
    folder = estate.root / "got"
    estate.pipeline(
        "p",
        f"""
        name = "p"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "down"
          download = {{ src = "{payload}", dest = "got/big.bin" }}
    """,
    )
    cut: list[bool] = []

    def cut_when_it_flows() -> None:  # end the test sshd's sessions once the temporary file grows
        wait_for(
            lambda: any(p.stat().st_size > 0 for p in folder.glob(".big.bin.opsconsole-*")),
            60,
            "the transfer to start",
        )
        sessions, parents = [], [str(sshd.process.pid)]
        while parents:  # the listener's children ([priv]) and theirs (the session itself)
            found = subprocess.run(
                ["pgrep", "-P", ",".join(parents)], capture_output=True, text=True
            )
            parents = found.stdout.split()
            sessions += parents
        subprocess.run(["kill", "-KILL", *sessions], check=False)
        cut.append(True)

    thread = threading.Thread(target=cut_when_it_flows)
    thread.start()
    assert run_cli(estate, "run", "p") == 1
    thread.join()
    assert cut
    cell = state_of(estate).cells[("s", "down", "h1")]
    assert cell.status in ("unreachable", "failed")
    assert list(folder.iterdir()) == []  # neither the file nor its temporary name
