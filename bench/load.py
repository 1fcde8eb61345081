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
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.sshd import Sshd, start_sshd

VENV_BIN = Path(sys.executable).parent
LINES = 20
CONNECT_TIMEOUT = 5


def black_hole() -> tuple[socket.socket, list[socket.socket], int]:
    """A port whose SYNs are dropped: a listener with a full queue that never accepts."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the queue: later handshakes get no answer at all
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.2)
    return listener, fillers, port


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="load-"))
    sshd = start_sshd(root / "sshd")
    listener, fillers, hole = black_hole()
    try:
        folders = {}
        for name, faulty in (("healthy", False), ("faulty", True)):
            folders[name] = root / name
            write_inputs(folders[name], sshd, args.hosts, faulty, hole)
        results: dict[str, list[tuple[float, int, int]]] = {"healthy": [], "faulty": []}
        for _ in range(args.rounds):
            for name, folder in folders.items():
                results[name].append(run_once(folder))
    finally:
        for s in [listener, *fillers]:
            s.close()
        sshd.process.terminate()
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


if __name__ == "__main__":
    main()
