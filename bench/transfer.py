"""Transfer benchmark: how fast files move, opsconsole beside the tools people would use instead.

Two cases against one local OpenSSH sshd, every host of the inventory pointing at it:

- one local random file (200 MiB, `--upload-mb`) sent from the bastion to ten hosts, each its
  own destination: `opsconsole run` with one upload step in the foreground, timed whole (launch
  included); bare asyncssh `SFTPClient.put` to the ten hosts in parallel, in a process of its
  own that opens the connections and SFTP sessions before its clock starts (asyncssh's
  defaults, no verification: the baseline), and the same with the cipher set to aes128-gcm;
  ten `scp` and ten `rsync` processes in parallel.
- a random file (2 GiB, `--h2h-mb`) on h1 sent to h2: `opsconsole run` with one transfer step
  (the bytes pass through the runner), `scp -3` (the baseline) and `scp -3 -c aes128-gcm`.

Every contender runs once per round, in an order that rotates each round, after one warm-up
round that is not counted (page cache, bytecode, the sshd's first forks); destinations are
removed before every run, so each writes fresh files. The tables give medians over the rounds,
each median's ratio to the case's baseline, and the median peak RSS of the largest process a
contender started (`ru_maxrss` from `os.wait4`; a process's count starts from its parent's,
so one no larger than this bench's own is shown as `≤` that).

    .venv/bin/python -m bench.transfer --rounds 5
    .venv/bin/python -m bench.transfer --rounds 1 --upload-mb 20 --h2h-mb 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.conftest import Estate, write_estate
from tests.sshd import Sshd, share, start_sshd

from bench import SRC
from bench.upload import write_case

HOSTS = 10
"""Hosts the upload case sends to."""

TUNED = "aes128-gcm@openssh.com"
"""The cipher of the tuned contenders."""

TIMEOUT = 1800
"""Seconds after which a contender's processes are killed."""

ROOT = Path(__file__).resolve().parents[1]
"""This checkout, where `bench` and `tests` are imported from."""


@dataclass
class Measure:
    """One run of a contender: its seconds and the largest peak RSS among its processes."""

    seconds: float
    peak: int | None = None
    """KiB, from `os.wait4`; at least this bench's own peak at the spawn, since a process's
    count starts from its parent's (so a floor, not a figure, for a small process)."""
    bounded: bool = False
    """The peak is no more than this bench's own: the process's own was at most that."""


@dataclass
class Case:
    """One case: its contenders (each runs once and measures itself), the baseline among
    them, and what clears the destinations before a run."""

    title: str
    contenders: dict[str, Callable[[], Measure]]
    baseline: str
    clear: Callable[[], None]
    notes: list[str] = field(default_factory=list)


def write_random(path: Path, mb: int) -> Path:
    """A file of `mb` MiB of fresh random bytes, readable by every account."""
    with path.open("wb") as out:
        for _ in range(mb):
            out.write(os.urandom(1 << 20))
    path.chmod(0o644)
    return path


def emptied(folder: Path) -> None:
    """Remove everything inside `folder`, keeping the folder."""
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def tail(log: IO[bytes]) -> str:
    """The last 2000 characters a process wrote to `log`."""
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]


def spawned(commands: list[list[str]], env: dict[str, str] | None = None) -> tuple[Measure, str]:
    """Seconds until every command has exited (all started together), the largest peak RSS
    among them, and what the first wrote to stdout; each must succeed."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with contextlib.ExitStack() as stack:
        outs = [stack.enter_context(tempfile.TemporaryFile()) for _ in commands]
        errs = [stack.enter_context(tempfile.TemporaryFile()) for _ in commands]
        start = time.perf_counter()
        processes = [
            subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
            for command, out, err in zip(commands, outs, errs, strict=True)
        ]

        def kill() -> None:
            """Kill every process still running."""
            for process in processes:
                process.kill()

        timer = threading.Timer(TIMEOUT, kill)
        timer.start()
        peak = 0
        for process in processes:
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            peak = max(peak, usage.ru_maxrss)
        took = time.perf_counter() - start
        timer.cancel()
        for command, process, out, err in zip(commands, processes, outs, errs, strict=True):
            if process.returncode != 0:
                raise RuntimeError(
                    f"{shlex.join(command)}\nexited {process.returncode}\n"
                    f"--- stdout (tail)\n{tail(out)}\n--- stderr (tail)\n{tail(err)}"
                )
        bounded = peak <= own + (own >> 4)
        return Measure(took, peak, bounded), tail(outs[0])


def together(commands: list[list[str]]) -> Measure:
    """The measure of `commands` started together, as `spawned` takes it."""
    return spawned(commands)[0]


def console_run(estate: Estate, pipeline: str) -> Measure:
    """`opsconsole run PIPELINE` in the foreground with this checkout's code, launch included."""
    command = [sys.executable, "-m", "console", "run", pipeline, "--plain"]
    command += ["--inventory", str(estate.inventory), "--store", str(estate.store)]
    return spawned([command], {**os.environ, "PYTHONPATH": str(SRC)})[0]


def ssh_options(sshd: Sshd) -> list[str]:
    """The client key and known hosts of the sshd, never asking anything."""
    return [
        "-i",
        str(sshd.client_key),
        "-o",
        f"UserKnownHostsFile={sshd.known_hosts}",
        "-o",
        "BatchMode=yes",
    ]


def remote(sshd: Sshd, path: str | Path) -> str:
    """`user@127.0.0.1:path` on the sshd."""
    return f"{sshd.user}@127.0.0.1:{path}"


async def _put(args: argparse.Namespace) -> float:
    """Seconds of `SFTPClient.put` of a file to every destination in parallel, one connection
    each, opened (with its SFTP session) before the clock starts."""
    import asyncssh  # here, so that the bench itself stays small (see `Measure.peak`)

    connections = await asyncio.gather(
        *(
            asyncssh.connect(
                "127.0.0.1",
                port=args.port,
                username=args.user,
                known_hosts=args.known,
                client_keys=[args.key],
                config=[],
                agent_path=None,
                encryption_algs=args.cipher or (),
            )
            for _ in args.dests
        )
    )
    try:
        clients = await asyncio.gather(*(c.start_sftp_client() for c in connections))
        start = time.perf_counter()
        await asyncio.gather(
            *(client.put(args.src, d) for client, d in zip(clients, args.dests, strict=True))
        )
        return time.perf_counter() - start
    finally:
        for connection in connections:
            connection.close()
        await asyncio.gather(*(c.wait_closed() for c in connections))


def put_main(argv: list[str]) -> None:
    """`python -m bench.transfer put ...`: the bare asyncssh put, printing its seconds."""
    parser = argparse.ArgumentParser(prog="bench.transfer put")
    parser.add_argument("--port", type=int, required=True)
    for name in ("user", "key", "known"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--cipher", action="append")
    parser.add_argument("src")
    parser.add_argument("dests", nargs="+")
    print(f"{asyncio.run(_put(parser.parse_args(argv))):.6f}")


def bare_put(sshd: Sshd, src: Path, dests: list[str], ciphers: Sequence[str] = ()) -> Measure:
    """The bare asyncssh put in a process of its own, timed from inside it."""
    command = [sys.executable, "-m", "bench.transfer", "put", "--port", str(sshd.port)]
    command += ["--user", sshd.user, "--key", str(sshd.client_key)]
    command += ["--known", str(sshd.known_hosts)]
    for cipher in ciphers:
        command += ["--cipher", cipher]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), str(SRC)))}
    measure, out = spawned([[*command, str(src), *dests]], env)
    return Measure(float(out), measure.peak, measure.bounded)


def upload_case(root: Path, sshd: Sshd, mb: int) -> Case:
    """One local file of `mb` MiB to ten hosts: opsconsole, bare asyncssh, scp and rsync."""
    estate = write_case(root, sshd, HOSTS, mb << 20)  # the upload benchmark's estate
    src = estate.root / "image.raw"
    dests = [f"{estate.work}/h{i}.raw" for i in range(1, HOSTS + 1)]
    scp = ["scp", "-q", "-P", str(sshd.port), *ssh_options(sshd)]
    transport = shlex.join(["ssh", "-p", str(sshd.port), *ssh_options(sshd)])
    contenders: dict[str, Callable[[], Measure]] = {
        "asyncssh put ×10 (baseline)": lambda: bare_put(sshd, src, dests),
        f"asyncssh put ×10, tuned cipher ({TUNED})": lambda: bare_put(sshd, src, dests, [TUNED]),
        "opsconsole run, upload step": lambda: console_run(estate, "ship"),
        "scp ×10": lambda: together([[*scp, str(src), remote(sshd, d)] for d in dests]),
    }
    notes = []
    if shutil.which("rsync"):
        contenders["rsync ×10"] = lambda: together(
            [["rsync", "-e", transport, str(src), remote(sshd, d)] for d in dests]
        )
    else:
        notes.append("rsync is not installed: left out.")
    return Case(
        f"{mb} MiB to {HOSTS} hosts",
        contenders,
        "asyncssh put ×10 (baseline)",
        lambda: emptied(estate.work),
        notes,
    )


def h2h_case(root: Path, sshd: Sshd, mb: int) -> Case:
    """A file of `mb` MiB on h1 to another path on h2: opsconsole's transfer step and scp -3."""
    estate = write_estate(root, sshd, hosts=2)
    src = write_random(estate.work / "src.bin", mb)
    out = estate.work / "out"
    out.mkdir()
    share(out)
    dest = out / "dst.bin"
    estate.pipeline(
        "move",
        f"""
        name = "move"
        targets = ["h1", "h2"]
        [[stages]]
        name = "copy"
          [[stages.steps]]
          name = "move"
          hosts = ["h2"]
          transfer = {{ from = "h1", src = "{src}", dest = "{dest}", mode = "0640" }}
        """,
    )
    scp = ["scp", "-3", "-q", "-P", str(sshd.port), *ssh_options(sshd)]
    ends = [remote(sshd, src), remote(sshd, dest)]
    return Case(
        f"{mb} MiB host to host",
        {
            "scp -3 (baseline)": lambda: together([[*scp, *ends]]),
            f"scp -3 -c {TUNED}": lambda: together([[*scp, "-c", TUNED, *ends]]),
            "opsconsole run, transfer step": lambda: console_run(estate, "move"),
        },
        "scp -3 (baseline)",
        lambda: emptied(out),
    )


def bench(case: Case, rounds: int) -> dict[str, list[Measure]]:
    """Run every contender `rounds` times in rotating order after a warm-up; the measures of
    each (none for one that failed, which is left out of later rounds)."""
    measures: dict[str, list[Measure]] = {name: [] for name in case.contenders}
    failed: set[str] = set()

    def once(name: str) -> Measure | None:
        """One run of a contender on cleared destinations, or None if it failed."""
        case.clear()
        try:
            return case.contenders[name]()
        except RuntimeError as error:
            print(f"{case.title}: {name} failed:\n{error}", file=sys.stderr, flush=True)
            failed.add(name)
            measures[name].clear()
            return None

    names = list(case.contenders)
    for name in names:  # warm-up: page cache, bytecode, the sshd's first forks
        once(name)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            if name not in failed and (measure := once(name)) is not None:
                measures[name].append(measure)
    case.clear()
    return measures


def report(case: Case, measures: dict[str, list[Measure]], rounds: int) -> str:
    """A markdown table of medians, ratios to the baseline and median peaks."""
    lines = [
        f"### {case.title}",
        "",
        "| contender | median s | min s | max s | × baseline | peak MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    base = measures.get(case.baseline)
    floor = statistics.median(m.seconds for m in base) if base else None
    for name, values in measures.items():
        if not values:
            lines.append(f"| {name} | failed | | | | |")
            continue
        seconds = [m.seconds for m in values]
        median = statistics.median(seconds)
        ratio = f"{median / floor:.2f}" if floor else ""
        peaks = [m.peak for m in values if m.peak is not None]
        peak = f"{statistics.median(peaks) / 1024:.0f}" if peaks else ""
        if peak and any(m.bounded for m in values):
            peak = f"≤ {peak}"
        lines.append(
            f"| {name} | {median:.2f} | {min(seconds):.2f} | {max(seconds):.2f} | {ratio} | "
            f"{peak} |"
        )
    lines += [
        "",
        f"Medians of {rounds} rounds after one warm-up round. Peak: the largest `ru_maxrss` "
        "(`os.wait4`) among a contender's processes; a process's count starts from its "
        "parent's, so `≤ N` marks one no larger than this bench's own at the spawn.",
        *case.notes,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--upload-mb", type=int, default=200, help="MiB sent to ten hosts")
    parser.add_argument("--h2h-mb", type=int, default=2048, help="MiB sent from h1 to h2")
    parser.add_argument("--only", choices=("upload", "h2h"), help="run one case only")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="transfer-"))
    sshd = start_sshd(root / "sshd")
    tables = []
    try:
        makers: dict[str, Callable[[], Case]] = {
            "upload": lambda: upload_case(root / "upload", sshd, args.upload_mb),
            "h2h": lambda: h2h_case(root / "h2h", sshd, args.h2h_mb),
        }
        for key, make in makers.items():
            if args.only not in (None, key):
                continue
            case = make()
            for note in case.notes:
                print(note, file=sys.stderr, flush=True)
            tables.append(report(case, bench(case, args.rounds), args.rounds))
            print(tables[-1], file=sys.stderr, flush=True)
            shutil.rmtree(root / key, ignore_errors=True)
    finally:
        sshd.process.terminate()
        sshd.process.wait()
        shutil.rmtree(root, ignore_errors=True)
    print("\n".join(tables))


if __name__ == "__main__":
    if sys.argv[1:2] == ["put"]:
        put_main(sys.argv[2:])
    else:
        main()
