"""Files between hosts, through the runner's memory: read once, verified end to end, put in
place only when verified, and gone on from where a cut left off, against real sshds."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console import events as ev
from console.render.words import in_words
from console.store import open_store
from tests.conftest import Estate, on_each_store, write_estate
from tests.helpers import cells, run_cli, show_json, spawn_cli, state_of, wait_for
from tests.sshd import Sshd, share, start_sshd

SEND = """
    name = "send"
    targets = ["all"]
    [params.source]
    type = "string"
    default = "h1"
    [[stages]]
    name = "deliver"
      [[stages.steps]]
      name = "inbox"
      hosts = ["h2", "h3", "h4"]
      run = "mkdir -p {work}/{{{{ host.name }}}}"
      [[stages.steps]]
      name = "batch"
      hosts = ["h2", "h3", "h4"]
      retries = {retries}
      delay = "1s"
      transfer = {{ from = "{{{{ source }}}}", src = "{src}", dest = "{work}/{{{{ host.name }}}}/batch.tgz", mode = "0640" }}
"""


def _payload(path: Path, mib: int, marker: bytes = b"") -> bytes:
    data = marker + os.urandom((mib << 20) - len(marker))
    path.write_bytes(data)
    path.chmod(0o644)
    return data


def _point(estate: Estate, host: str, server: Sshd) -> None:
    """Serve one inventory host from another sshd (its own port, key and known host)."""
    text = estate.inventory.read_text()
    block = re.search(rf"\[hosts\.{host}\]\n(?:.+\n)*", text)
    assert block is not None
    moved = re.sub(r"port = \d+", f"port = {server.port}", block.group(0))
    moved += f'known_hosts = "{server.known_hosts}"\nidentity_file = "{server.client_key}"\n'
    estate.inventory.write_text(text.replace(block.group(0), moved))


def _sent(estate: Estate) -> list[ev.FileTransferred]:
    store = open_store(estate.store)
    try:
        run_id = store.runs(1)[0].id
        found = [s.event for s in store.read(run_id) if s.event.kind == "file_transferred"]
        return [e for e in found if isinstance(e, ev.FileTransferred)]
    finally:
        store.close()


def _fetch(estate: Estate, src: Path, dest: str) -> None:
    """A pipeline `fetch` that downloads `src` from h1 to `dest` beside the inventory."""
    estate.pipeline(
        "fetch",
        f"""
        name = "fetch"
        targets = ["h1"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "down"
          download = {{ src = "{src}", dest = "{dest}" }}
        """,
    )


def _bytes_read(server: Sshd, path: Path) -> list[int]:
    """What the sshd's SFTP log says each opening of `path` read."""
    log = (server.folder / "sftp.log").read_text()
    return [int(n) for n in re.findall(rf'close "{re.escape(str(path))}" bytes read (\d+)', log)]


@pytest.fixture
def lab(tmp_path: Path, sshd: Sshd) -> Iterator[tuple[Estate, Sshd]]:
    """Four hosts; h1, the source, on an sshd of its own that logs what SFTP reads."""
    estate = write_estate(tmp_path, sshd, hosts=4)
    source = start_sshd(tmp_path / "source-sshd", sftp_log=True)
    _point(estate, "h1", source)
    yield estate, source
    source.process.terminate()
    source.process.wait(10)


def test_a_file_goes_from_one_host_to_three_read_once_and_verified(
    lab: tuple[Estate, Sshd],
) -> None:
    estate, source = lab
    src = estate.work / "results.tgz"
    data = _payload(src, 6, marker=b"MRN-0042-CONTENT-MARKER")
    estate.pipeline("send", SEND.format(work=estate.work, src=src, retries=0))
    assert run_cli(estate, "run", "send") == 0
    digest = hashlib.sha256(data).hexdigest()
    for host in ("h2", "h3", "h4"):
        landed = estate.work / host / "batch.tgz"
        assert landed.read_bytes() == data
        assert landed.stat().st_mode & 0o777 == 0o640
        assert [p.name for p in landed.parent.iterdir()] == ["batch.tgz"]  # no part left
    assert _bytes_read(source, src) == [len(data)]  # one read for the three of them
    [sent] = _sent(estate)
    assert (sent.source, sent.size, sent.sha256) == (f"h1:{src}", len(data), digest)
    assert {h: d["result"] for h, d in sent.destinations.items()} == dict.fromkeys(
        ("h2", "h3", "h4"), "ok"
    )
    state = state_of(estate)
    assert all(c.digest == digest for c in state.cells.values() if c.step == "batch")
    records = [r for r in _audit(estate) if r.action == "file_transferred"]
    assert len(records) == 1 and records[0].details["sha256"] == digest
    assert in_words(records[0]) == f"sent h1:{src} (6.0 MiB, sha256 {digest[:16]}…) to 3 of 3"
    stored = estate.store.read_bytes()
    assert b"MRN-0042-CONTENT-MARKER" not in stored  # no content in the store


def _audit(estate: Estate):  # type: ignore[no-untyped-def]
    store = open_store(estate.store)
    try:
        return store.audit_records()
    finally:
        store.close()


def test_a_destination_whose_bytes_do_not_verify_gets_nothing_at_its_name(
    lab: tuple[Estate, Sshd], tmp_path: Path
) -> None:
    estate, _ = lab
    liar = tmp_path / "liar"
    liar.mkdir()
    for tool in ("sha256sum", "openssl"):  # whichever the host hashes with says the same
        fake = liar / tool
        fake.write_text("#!/bin/sh\ncat >/dev/null; echo " + "0" * 64 + "  -\n")
        fake.chmod(0o755)
    share(liar)
    liar.chmod(0o755)
    lying = start_sshd(tmp_path / "lying-sshd", extra=f"SetEnv PATH={liar}:/usr/bin:/bin\n")
    try:
        _point(estate, "h3", lying)
        src = estate.work / "results.tgz"
        _payload(src, 2)
        estate.pipeline("send", SEND.format(work=estate.work, src=src, retries=0))
        assert run_cli(estate, "run", "send") != 0
        state = state_of(estate)
        assert cells(state)[("batch", "h3")] == "failed"
        assert cells(state)[("batch", "h2")] == cells(state)[("batch", "h4")] == "ok"
        message = next(
            c.message for c in state.cells.values() if (c.step, c.host) == ("batch", "h3")
        )
        assert "checksum mismatch on 'h3'" in message and "nothing was put at" in message
        assert list((estate.work / "h3").iterdir()) == []  # neither the file nor its part
        [record] = [r for r in _audit(estate) if r.action == "file_transferred"]
        assert in_words(record).endswith(f"to 2 of 3; not to h3 ({message})")
        assert state.message == "stage 'deliver' failed on 1 of 3 hosts"  # h1 ran no step there
    finally:
        lying.process.terminate()


def _sessions_of(server: Sshd) -> list[str]:
    found, parents = [], [str(server.process.pid)]
    while parents:
        listed = subprocess.run(["pgrep", "-P", ",".join(parents)], capture_output=True, text=True)
        parents = listed.stdout.split()
        found += parents
    return found


def test_a_transfer_cut_part_way_goes_on_from_the_verified_bytes_on_its_retry(
    lab: tuple[Estate, Sshd], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estate, source = lab
    far = start_sshd(tmp_path / "far-sshd")
    try:
        _point(estate, "h2", far)
        src = estate.work / "dump.bin"
        data = _payload(src, 192)
        pipeline = SEND.format(work=estate.work, src=src, retries=1)
        estate.pipeline("send", pipeline.replace('["h2", "h3", "h4"]', '["h2"]'))
        cut: list[int] = []

        def cut_part_way() -> None:
            def growing() -> bool:
                parts = list((estate.work / "h2").glob(".batch.tgz.opsconsole-*.part"))
                return bool(parts) and parts[0].stat().st_size > len(data) // 4

            wait_for(growing, 120, "the part to grow")
            part = next((estate.work / "h2").glob(".batch.tgz.opsconsole-*.part"))
            cut.append(part.stat().st_size)
            subprocess.run(["kill", "-KILL", *_sessions_of(far)], check=False)

        (estate.work / "h2").mkdir()
        share(estate.work / "h2")
        cutter = threading.Thread(target=cut_part_way)
        cutter.start()
        code = run_cli(estate, "run", "send")
        cutter.join()
        assert code == 0
        assert cut and cut[0] < len(data)
        assert (estate.work / "h2" / "batch.tgz").read_bytes() == data
        first, second = _sent(estate)
        assert first.destinations["h2"]["result"] != "ok"
        assert "connection" in first.destinations["h2"]["result"]
        resumed = second.destinations["h2"]["resumed_from"]
        assert second.destinations["h2"]["result"] == "ok" and 0 < resumed < len(data)
        read = _bytes_read(source, src)
        assert read[-1] == len(data) - resumed  # the retry read only what was missing
        assert list((estate.work / "h2").iterdir()) == [estate.work / "h2" / "batch.tgz"]
        capsys.readouterr()
        assert run_cli(estate, "logs", "last", "--host", "h2") == 0
        said = capsys.readouterr().out
        assert "of 192.0 MiB (10%)" in said  # a large file tells how far it has come
        assert "going on from " in said and "received and verified before" in said
    finally:
        far.process.terminate()


@on_each_store
def test_a_transfer_from_a_host_outside_the_run_is_refused_at_launch(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    estate.pipeline(
        "send",
        f"""
        name = "send"
        targets = ["h2", "h3"]
        [params.source]
        type = "string"
        default = "h2"
        [[stages]]
        name = "deliver"
          [[stages.steps]]
          name = "batch"
          hosts = ["h3"]
          transfer = {{ from = "{{{{ source }}}}", src = "/etc/hostname", dest = "{estate.work}/x" }}
        """,
    )
    assert run_cli(estate, "run", "send", "-p", "source=h1") == 2
    err = capsys.readouterr().err
    assert (
        "step 'batch' of stage 'deliver': the transfer's source h1 is not one of this run's hosts"
        in err
    )
    assert "nothing was launched" in err and "Traceback" not in err
    store = open_store(estate.store)
    try:
        assert store.runs(5) == []
    finally:
        store.close()


def test_a_runner_killed_mid_transfer_is_resumed_from_the_verified_bytes(
    lab: tuple[Estate, Sshd],
) -> None:
    estate, source = lab
    src = estate.work / "dump.bin"
    data = _payload(src, 256)
    pipeline = SEND.format(work=estate.work, src=src, retries=0)
    estate.pipeline("send", pipeline.replace('["h2", "h3", "h4"]', '["h2"]'))
    result = spawn_cli(estate, "run", "send", "--detach")
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()

    def growing() -> bool:
        parts = list((estate.work / "h2").glob(".batch.tgz.opsconsole-*.part"))
        return bool(parts) and parts[0].stat().st_size > len(data) // 4

    wait_for(growing, 120, "the part to grow")
    pid = state_of(estate, run_id).runner_pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: show_json(estate, run_id)["status"] == "interrupted", 60, "the kill seen")
    assert not (estate.work / "h2" / "batch.tgz").exists()
    assert run_cli(estate, "resume", run_id, "--yes") == 0
    assert (estate.work / "h2" / "batch.tgz").read_bytes() == data
    [sent] = _sent(estate)  # the killed runner recorded nothing of the transfer it was in
    resumed = sent.destinations["h2"]["resumed_from"]
    assert 0 < resumed < len(data) and sent.sha256 == hashlib.sha256(data).hexdigest()
    assert _bytes_read(source, src)[-1] == len(data) - resumed


def test_an_upload_to_three_hosts_is_read_once_and_listed_in_the_evidence_pack(
    estate: Estate, tmp_path: Path
) -> None:
    data = _payload(estate.root / "release.tar", 3)
    estate.pipeline(
        "ship",
        f"""
        name = "ship"
        targets = ["all"]
        [[stages]]
        name = "deliver"
          [[stages.steps]]
          name = "release"
          upload = {{ src = "release.tar", dest = "{estate.work}/{{{{ host.name }}}}.tar" }}
        """,
    )
    assert run_cli(estate, "run", "ship") == 0
    [sent] = _sent(estate)
    assert sent.source == "bastion:release.tar" and sent.size == len(data)
    assert sorted(sent.destinations) == ["h1", "h2", "h3"]
    for host in ("h1", "h2", "h3"):
        assert (estate.work / f"{host}.tar").read_bytes() == data
        assert (estate.work / f"{host}.tar").stat().st_mode & 0o777 == 0o644  # as the source
    run_id = show_json(estate)["id"]
    pack = tmp_path / "pack"
    assert run_cli(estate, "audit", "evidence", run_id, "--out", str(pack)) == 0
    [listed] = json.loads((pack / "transfers.json").read_text())
    assert listed["sha256"] == hashlib.sha256(data).hexdigest()
    assert {h: d["result"] for h, d in listed["destinations"].items()} == dict.fromkeys(
        ("h1", "h2", "h3"), "ok"
    )
    assert "transfers.json" in (pack / "MANIFEST.sha256").read_text()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 1 MiB file system of its own."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root (CI runs as root)")
    folder = tmp_path / "small"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    share(folder)
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_download_that_would_not_fit_is_refused_before_a_byte_moves(
    estate: Estate, small_disk: Path
) -> None:
    src = estate.work / "dump.bin"
    _payload(src, 4)
    (estate.root / "got").symlink_to(small_disk)
    _fetch(estate, src, "got/dump.bin")
    assert run_cli(estate, "run", "fetch") != 0
    [cell] = state_of(estate).cells.values()
    assert cell.status == "failed"
    assert cell.message == (
        f"h1:{src} is 4.0 MiB and {estate.root / 'got'} has 1.0 MiB free; free some space "
        "there or download it elsewhere; nothing was written"
    )
    assert list(small_disk.iterdir()) == []
    [refused] = _sent(estate)  # the refusal is on the record too
    assert refused.destinations["bastion"]["result"] == cell.message and refused.size == 4 << 20


def test_a_transfer_to_a_host_without_room_is_refused_there_and_goes_on_elsewhere(
    lab: tuple[Estate, Sshd], small_disk: Path
) -> None:
    estate, _ = lab
    src = estate.work / "results.tgz"
    data = _payload(src, 4)
    (estate.work / "h3").symlink_to(small_disk)
    estate.pipeline("send", SEND.format(work=estate.work, src=src, retries=0))
    assert run_cli(estate, "run", "send") != 0
    state = state_of(estate)
    assert cells(state)[("batch", "h2")] == cells(state)[("batch", "h4")] == "ok"
    message = next(c.message for c in state.cells.values() if (c.step, c.host) == ("batch", "h3"))
    assert message == (
        f"{estate.work / 'h3'} on 'h3' has 1.0 MiB free and the file needs 4.0 MiB more; free "
        "some space there or send it elsewhere; nothing was sent"
    )
    assert list(small_disk.iterdir()) == []
    assert (estate.work / "h2" / "batch.tgz").read_bytes() == data


def test_a_part_left_by_someone_else_is_never_written_through_nor_gone_on_from(
    estate: Estate, sshd: Sshd, tmp_path: Path
) -> None:
    from console.model.load import load_config
    from console.transport.broadcast import send
    from console.transport.landing import Landing
    from console.transport.sftp import local_source
    from console.transport.ssh import SshPool
    from console.transport.target import host_target

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    data = _payload(private / "release.tar", 3)
    digest = hashlib.sha256(data).hexdigest()
    victim = estate.work / "victim"
    victim.write_bytes(b"not to be touched\n")
    config = load_config(estate.inventory)

    async def deliver(dest: Path, plant: Callable[[Path], None]) -> Landing:
        pool = SshPool()
        target = host_target(config.inventory, "h1", config.base_dir)
        landing = Landing(target, str(dest), 0o640, "sametag", keep_part=True)
        plant(Path(landing.part))
        try:
            async with local_source(private / "release.tar", "release.tar", False, digest) as src:
                await send(pool, src, [landing], digest)
        finally:
            await pool.close()
        return landing

    def symlink(part: Path) -> None:  # a link where the part goes, to a file of someone else's
        part.symlink_to(victim)

    def forged(part: Path) -> None:  # a private-looking part whose bytes are not the source's
        part.write_bytes(b"\0" * (2 << 20))
        part.chmod(0o600)
        shutil.chown(part, user=sshd.user)

    def open_to_all(part: Path) -> None:  # a part others could have written
        part.write_bytes(data[: 2 << 20])
        part.chmod(0o666)

    for name, plant in (("a", symlink), ("b", forged), ("c", open_to_all)):
        landing = asyncio.run(deliver(estate.work / name, plant))
        assert landing.delivered and landing.error is None, (name, landing.error)
        assert landing.resumed_from == 0  # nothing it did not write itself is gone on from
        assert (estate.work / name).read_bytes() == data
        assert victim.read_bytes() == b"not to be touched\n"
    assert not list(estate.work.glob(".*.part"))


def test_a_download_lands_readable_by_its_operator_alone(estate: Estate) -> None:
    src = estate.work / "results.tgz"
    data = _payload(src, 1)
    _fetch(estate, src, "got/results.tgz")
    assert run_cli(estate, "run", "fetch") == 0
    got = estate.root / "got" / "results.tgz"
    assert got.read_bytes() == data
    assert got.stat().st_mode & 0o777 == 0o600  # patients' data, on a machine operators share
    assert [p.name for p in got.parent.iterdir()] == ["results.tgz"]
    [sent] = _sent(estate)
    assert sent.source == f"h1:{src}" and sent.destinations["bastion"]["result"] == "ok"


def test_an_upload_whose_file_is_gone_when_it_is_sent_is_recorded_as_refused(
    estate: Estate,
) -> None:
    release = estate.root / "release.tar"
    _payload(release, 1)
    estate.pipeline(
        "ship",
        f"""
        name = "ship"
        targets = ["h1", "h2"]
        [[stages]]
        name = "pause"
          [[stages.steps]]
          name = "wait for the test"
          run = "while [ ! -e {estate.work}/go ]; do sleep 0.05; done"
        [[stages]]
        name = "deliver"
          [[stages.steps]]
          name = "release"
          upload = {{ src = "release.tar", dest = "{estate.work}/{{{{ host.name }}}}.tar" }}
        """,
    )
    result = spawn_cli(estate, "run", "ship", "--detach")
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    wait_for(lambda: show_json(estate, run_id)["status"] == "running", 60, "the run")
    release.unlink()  # the file the launch bound is gone before it is sent
    (estate.work / "go").touch()
    wait_for(lambda: show_json(estate, run_id)["finished_at"] is not None, 60, "the run's end")
    [refused] = _sent(estate)
    why = "the local file release.tar does not exist; nothing was sent"
    assert {h: d["result"] for h, d in refused.destinations.items()} == {"h1": why, "h2": why}
    assert (refused.source, refused.size, refused.sha256) == ("bastion:release.tar", 0, "")
    assert not list(estate.work.glob("h*.tar"))


def test_a_source_that_failed_an_earlier_stage_is_not_read(lab: tuple[Estate, Sshd]) -> None:
    estate, source = lab
    src = estate.work / "results.tgz"
    _payload(src, 1)
    pipeline = SEND.format(work=estate.work, src=src, retries=0)
    failing = """
    [[stages]]
    name = "prepare"
    max_fail_percentage = 50
      [[stages.steps]]
      name = "bundle"
      run = "test {{ host.name }} != h1"
    """
    estate.pipeline(
        "send",
        pipeline.replace(
            '[[stages]]\n    name = "deliver"',
            failing.strip() + '\n    [[stages]]\n    name = "deliver"',
            1,
        ),
    )
    assert run_cli(estate, "run", "send") != 0
    state = state_of(estate)
    assert cells(state)[("bundle", "h1")] == "failed"
    for host in ("h2", "h3", "h4"):
        cell = next(c for c in state.cells.values() if (c.step, c.host) == ("batch", host))
        assert cell.status == "failed"
        assert (
            cell.message == "the transfer's source h1 failed earlier in this run; nothing was sent"
        )
    assert _bytes_read(source, src) == []  # a batch it may not have bundled is never read
