"""Load benchmark: 500 inventory hosts running a three-step pipeline with output, healthy and
with 10% of the hosts refusing connections and 5% black-holed, side by side in one run.

Every host is the one local sshd; a refusing host is a closed port, and a black-holed one is
a listening socket whose accept queue is full, so the kernel drops its SYNs and a connection
attempt hangs until the connect timeout (5 s here), as a firewalled address does. Each
round runs `opsconsole run load --plain` for both inventories and checks that every line the
healthy hosts printed is in the store. Medians over the rounds.

    .venv/bin/python -m bench.load --hosts 500 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.net import black_hole
from tests.pty import Terminal, onto_first_cell
from tests.sshd import Sshd, start_sshd

VENV_BIN = Path(sys.executable).parent
LINES = 20
CONNECT_TIMEOUT = 5


def closed_port() -> int:
    """A port nothing listens on: connections are refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_inputs(folder: Path, sshd: Sshd, hosts: int, faulty: bool, hole: int) -> None:
    """An inventory of `hosts` hosts (some refusing or black-holed when `faulty`) and the pipeline."""
    (folder / "pipelines").mkdir(parents=True)
    refused = closed_port()
    lines = [
        "[inventory]",
        'name = "load"',
        "[ssh]",
        f'user = "{sshd.user}"',
        f'known_hosts = "{sshd.known_hosts}"',
        f'identity_file = "{sshd.client_key}"',
        f'connect_timeout = "{CONNECT_TIMEOUT}s"',
        "[groups.all]",
    ]
    for i in range(hosts):
        port = sshd.port
        if faulty and i % 20 in (0, 1):
            port = refused  # 10%
        elif faulty and i % 20 == 2:
            port = hole  # 5%
        lines += [f"[hosts.h{i}]", 'address = "127.0.0.1"', f"port = {port}", 'groups = ["all"]']
    (folder / "inventory.toml").write_text("\n".join(lines) + "\n")
    steps = "".join(
        f'  [[stages.steps]]\n  name = "s{n}"\n  run = "seq 1 {LINES}"\n' for n in range(3)
    )
    (folder / "pipelines" / "load.toml").write_text(
        'name = "load"\ntargets = ["all"]\n[[stages]]\nname = "fan"\nmax_fail_percentage = 100\n'
        + steps
    )
    slow = "".join(
        f'  [[stages.steps]]\n  name = "s{n}"\n'
        f"  run = 'perl -e \"\\$|=1; for (1..{LINES}) {{ print qq(line \\$_\\\\n); select(undef, undef, undef, 0.2) }}\"'\n"
        for n in range(3)
    )
    (folder / "pipelines" / "slowload.toml").write_text(
        'name = "slowload"\ntargets = ["all"]\n[[stages]]\nname = "fan"\n' + slow
    )


def run_once(folder: Path) -> tuple[float, int, int]:
    """Seconds for the run, output lines stored, and the runner's peak RSS in MiB."""
    store = folder / "store.db"
    for suffix in ("", "-wal", "-shm"):  # a stale WAL beside a new file would be read into it
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    command = [
        str(VENV_BIN / "opsconsole"),
        "run",
        "load",
        "--plain",
        "--inventory",
        str(folder / "inventory.toml"),
        "--store",
        str(store),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    took = time.perf_counter() - start
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) // 1024
    db = sqlite3.connect(store)
    stored = sum(
        (blob or b"").count(b"\n")
        for (blob,) in db.execute("SELECT blob FROM events WHERE kind = 'output'")
    )
    db.close()
    return took, stored, peak


def key_latency(folder: Path, presses: int, own_core: bool, sshd_pid: int) -> list[float]:
    """Seconds from a key to the logs pane following the cell it moved to, in a console open on
    a many-host run while it runs (each host printing a line every 0.2 s for 12 s); with
    `own_core`, the console has core 0 and the runner and the hosts' sessions share core 1."""
    everything = os.sched_getaffinity(0)
    if own_core:
        os.sched_setaffinity(0, {1})  # the runner launched from here inherits it
        os.sched_setaffinity(sshd_pid, {1})  # and the hosts' sessions, forked from the listener
    store = folder / "store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    where = ["--inventory", str(folder / "inventory.toml"), "--store", str(store)]
    launched = subprocess.run(
        [str(VENV_BIN / "opsconsole"), "run", "slowload", "--detach", *where],
        capture_output=True,
        text=True,
        check=True,
    )
    run_id = launched.stdout.strip()
    term = Terminal([str(VENV_BIN / "opsconsole"), *where], XDG_CONFIG_HOME=str(folder / "cfg"))
    if own_core:
        os.sched_setaffinity(term.process.pid, {0})
    try:
        term.wait_for("Quit", term.started)
        time.sleep(0.5)
        term.wait_for("output of", term.press("\t\r"))  # the newest run, in the run view
        time.sleep(0.5)
        row = onto_first_cell(term, "h0 · s0", "h1 · s0")
        samples = []
        for i in range(presses):
            key, row = ("j", row + 1) if i % 2 == 0 else ("k", row - 1)
            sent = term.press(key)
            samples.append(term.wait_for(f"h{row} · s0", sent, timeout=10) - sent)
            time.sleep(0.15)
        return samples
    finally:
        term.close()
        subprocess.run(
            [str(VENV_BIN / "opsconsole"), "cancel", run_id, *where], capture_output=True
        )
        _until_gone(run_id)  # a runner still stopping would take CPU from the next round
        os.sched_setaffinity(0, everything)
        os.sched_setaffinity(sshd_pid, everything)


def _until_gone(run_id: str, timeout: float = 60.0) -> None:
    """Wait for the run's runner process to end; kill it (and say so) if it will not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-f", f"_runner {run_id}"], capture_output=True).returncode:
            return
        time.sleep(0.2)
    subprocess.run(["pkill", "-KILL", "-f", f"_runner {run_id}"], check=False)
    print(
        f"the runner of {run_id} was still there {timeout:.0f} s after its cancel", file=sys.stderr
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--keys-only", action="store_true", help="only the console's keys")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="load-"))
    sshd = start_sshd(root / "sshd")
    try:
        with black_hole() as hole:
            results, keys = _measure(root, sshd, args, hole)
    finally:
        sshd.process.terminate()
    _report(args, results, keys)


Runs = dict[str, list[tuple[float, int, int]]]
Keys = dict[str, list[float]]


def _measure(root: Path, sshd: Sshd, args: argparse.Namespace, hole: int) -> tuple[Runs, Keys]:
    """Every round of both runs, then the console's keys: sharing the cores with the hosts'
    sessions at full weight, with them lowered, and lowered with a core of its own."""
    folders = {}
    for name, faulty in (("healthy", False), ("faulty", True)):
        folders[name] = root / name
        write_inputs(folders[name], sshd, args.hosts, faulty, hole)
    results: Runs = {"healthy": [], "faulty": []}
    for _ in range(0 if args.keys_only else args.rounds):
        for name, folder in folders.items():
            results[name].append(run_once(folder))
    keys: Keys = {}
    for where in ("shared", "lowered", "own"):
        with stand_off(sshd.process.pid) if where != "shared" else contextlib.nullcontext("-"):
            keys[where] = [
                t
                for _ in range(args.rounds)
                for t in key_latency(
                    folders["healthy"], args.presses, where == "own", sshd.process.pid
                )
            ]
    return results, keys


@contextlib.contextmanager
def stand_off(pid: int, share: int = 110) -> Iterator[str]:
    """Put the process `pid` and everything it starts from now on into a CPU group of its own
    with `share`/1024 of the weight of a session at nice 0 (110 is what nice 10 weighs).

    The 500 hosts live on this machine: their sshd sessions take the cores from the console
    as remote hosts never could. Nice alone does not lower them: the kernel puts every new
    session (each SSH connection and each remote command) in a group of its own weighing
    as much as the console's (autogroup), whatever the process's nice. A cgroup holds them
    all as one entity. Yields how they were lowered, for the report.
    """
    v1 = Path("/sys/fs/cgroup/cpu")
    group = v1 / f"opsconsole-hosts-{pid}"
    try:
        group.mkdir()
        (group / "cpu.shares").write_text(f"{share}\n")
        (group / "cgroup.procs").write_text(f"{pid}\n")
    except OSError as e:
        with contextlib.suppress(OSError):
            group.rmdir()
        print(
            f"(the hosts' sessions could not be put in a cgroup v1 CPU group: {e}; they are only"
            " niced, which where sessions are grouped (autogroup) lowers nothing: read the"
            " 'lowered' figures as full weight)"
        )
        os.setpriority(os.PRIO_PROCESS, pid, 10)
        yield "nice 10 (no CPU group)"
        os.setpriority(os.PRIO_PROCESS, pid, 0)
        return
    try:
        yield f"a CPU group weighing {share}/1024"
    finally:
        _leave(group)


def _leave(group: Path) -> None:
    """Move every process in `group` back to the root group and remove it."""
    root = group.parent / "cgroup.procs"
    for _ in range(50):
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                root.write_text(f"{pid}\n")
        with contextlib.suppress(OSError):
            group.rmdir()
            return
        time.sleep(0.1)
    print(f"(could not remove {group})")


def _report(args: argparse.Namespace, results: Runs, keys: Keys) -> None:
    if results["healthy"]:
        _report_runs(args, results)
    _report_keys(args, keys)


def _report_runs(args: argparse.Namespace, results: Runs) -> None:
    healthy_hosts = {"healthy": args.hosts, "faulty": args.hosts - (args.hosts * 3 + 19) // 20}
    print(f"{args.hosts} hosts, 3 steps of {LINES} lines each, {args.rounds} rounds\n")
    print("| inventory | median s | min s | max s | lines stored | lines printed | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, rows in results.items():
        times = [r[0] for r in rows]
        expected = healthy_hosts[name] * 3 * LINES
        stored = {r[1] for r in rows}
        print(
            f"| {name} | {statistics.median(times):.2f} | {min(times):.2f} | {max(times):.2f} | "
            f"{', '.join(str(s) for s in sorted(stored))} | {expected} | {max(r[2] for r in rows)} |"
        )
    gap = statistics.median(r[0] for r in results["faulty"]) - statistics.median(
        r[0] for r in results["healthy"]
    )
    print(f"\nfaulty minus healthy: {gap:.2f} s (connect timeout {CONNECT_TIMEOUT} s)")


def _report_keys(args: argparse.Namespace, keys: Keys) -> None:
    wheres = {
        "shared": "sharing both cores with the hosts' sessions at full weight",
        "lowered": "sharing both cores, the hosts' sessions lowered",
        "own": "on a core of its own, the hosts' sessions lowered",
    }
    for where, samples in keys.items():
        ordered = sorted(samples)
        p95 = ordered[int(len(ordered) * 0.95)]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"\nconsole keys during the {args.hosts}-host run, {wheres[where]} "
            f"({len(samples)} presses): median {statistics.median(samples) * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
