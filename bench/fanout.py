"""Fan-out benchmark: one-step and five-step pipelines over many inventory hosts, side by side.

Contenders, each run as a command the way a person would run it, against one local sshd:
the bare asyncssh floor (bench/floor.py), `opsconsole run`, `pyinfra exec` and
`ansible -m raw -f N`. Every contender runs once per round in a rotating order, and the
table reports medians over the rounds and each median's ratio to the floor's.

    .venv/bin/python -m bench.fanout --hosts 50,200 --rounds 5

`--against SRC` adds an earlier opsconsole (the `src` folder of a checkout of it, such as
`git worktree add ../before HEAD~5`) as one more contender, run with this interpreter and
its own store: the same pipelines before and after a change, side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.sshd import Sshd, start_sshd

from bench import add_against

VENV_BIN = Path(sys.executable).parent
COMMAND = "echo fanout"


def write_inputs(folder: Path, sshd: Sshd, hosts: int) -> None:
    """Inventory and pipelines for opsconsole, pyinfra and ansible, all pointing at one sshd."""
    (folder / "pipelines").mkdir(parents=True)
    lines = [
        "[inventory]",
        'name = "bench"',
        "[ssh]",
        f'user = "{sshd.user}"',
        f'known_hosts = "{sshd.known_hosts}"',
        f'identity_file = "{sshd.client_key}"',
        f"connect_concurrency = {hosts}",
        "[groups.all]",
    ]
    for i in range(1, hosts + 1):
        lines += [
            f"[hosts.h{i}]",
            'address = "127.0.0.1"',
            f"port = {sshd.port}",
            'groups = ["all"]',
        ]
    (folder / "inventory.toml").write_text("\n".join(lines) + "\n")
    for steps in (1, 5):
        body = "".join(
            f'  [[stages.steps]]\n  name = "s{i}"\n  run = "{COMMAND}"\n' for i in range(steps)
        )
        (folder / "pipelines" / f"echo{steps}.toml").write_text(
            f'name = "echo{steps}"\ntargets = ["all"]\n[[stages]]\nname = "fan"\n{body}'
        )
    pyinfra_hosts = ",\n".join(
        f'("h{i}", {{"ssh_hostname": "127.0.0.1", "ssh_port": {sshd.port}, "ssh_user": "{sshd.user}", '
        f'"ssh_key": "{sshd.client_key}", "ssh_known_hosts_file": "{sshd.known_hosts}", '
        f'"ssh_strict_host_key_checking": "yes"}})'
        for i in range(1, hosts + 1)
    )
    (folder / "pyinfra_inventory.py").write_text(f"hosts = [\n{pyinfra_hosts}\n]\n")
    ansible = [f"h{i} ansible_host=127.0.0.1 ansible_port={sshd.port}" for i in range(1, hosts + 1)]
    ansible += [
        "[all:vars]",
        f"ansible_user={sshd.user}",
        f"ansible_ssh_private_key_file={sshd.client_key}",
        f"ansible_ssh_common_args='-o UserKnownHostsFile={sshd.known_hosts} -o StrictHostKeyChecking=yes'",
    ]
    (folder / "ansible.ini").write_text("\n".join(ansible) + "\n")


def contenders(
    folder: Path, sshd: Sshd, hosts: int, against: Path | None = None, team: str | None = None
) -> dict[str, list[str]]:
    """The command line of each contender (with `team`, opsconsole on a team store too)."""
    floor = [
        sys.executable,
        "-m",
        "bench.floor",
        "--port",
        str(sshd.port),
        "--hosts",
        str(hosts),
        "--user",
        sshd.user,
        "--key",
        str(sshd.client_key),
        "--known",
        str(sshd.known_hosts),
        "--command",
        COMMAND,
    ]
    console = [
        str(VENV_BIN / "opsconsole"),
        "run",
        "--plain",
        "--inventory",
        str(folder / "inventory.toml"),
        "--store",
        str(folder / "store.db"),
    ]
    found = {
        "asyncssh floor, 1 step": [*floor, "--steps", "1"],
        "opsconsole, 1 step": [*console, "echo1"],
        "asyncssh floor, 5 steps": [*floor, "--steps", "5"],
        "opsconsole, 5 steps": [*console, "echo5"],
    }
    if team is not None:
        on_team = [*console[:-1], team]
        found["opsconsole on a team store, 1 step"] = [*on_team, "echo1"]
        found["opsconsole on a team store, 5 steps"] = [*on_team, "echo5"]
    if against is not None:
        before = earlier(against, folder)
        found["opsconsole before, 1 step"] = [*before, "echo1"]
        found["opsconsole before, 5 steps"] = [*before, "echo5"]
    if shutil.which("pyinfra", path=str(VENV_BIN)):
        found["pyinfra exec, 1 step"] = [
            str(VENV_BIN / "pyinfra"),
            "-y",
            "--parallel",
            str(hosts),
            str(folder / "pyinfra_inventory.py"),
            "exec",
            "--",
            COMMAND,
        ]
    if shutil.which("ansible", path=str(VENV_BIN)):
        found["ansible -m raw, 1 step"] = [
            str(VENV_BIN / "ansible"),
            "all",
            "-i",
            str(folder / "ansible.ini"),
            "-m",
            "raw",
            "-a",
            COMMAND,
            "-f",
            str(hosts),
        ]
    return found


def earlier(src: Path, folder: Path) -> list[str]:
    """`opsconsole run` of the checkout whose `src` is given, with a store of its own (an
    earlier schema would refuse a newer store)."""
    return [
        "env",
        f"PYTHONPATH={src.resolve()}",
        sys.executable,
        "-m",
        "console",
        "run",
        "--plain",
        "--inventory",
        str(folder / "inventory.toml"),
        "--store",
        str(folder / "store-before.db"),
    ]


def timed(command: list[str], folder: Path) -> float:
    """Wall-clock seconds of one command, which must succeed."""
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(folder / "ansible-home"),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPersist=no",
        "ANSIBLE_STDOUT_CALLBACK": "minimal",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=folder, timeout=600
    )
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(
            f"{command[0]} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return took


def bench(
    sshd: Sshd, hosts: int, rounds: int, against: Path | None = None, team: str | None = None
) -> dict[str, list[float]]:
    """Run every contender `rounds` times in rotating order; returns the times of each."""
    folder = Path(tempfile.mkdtemp(prefix=f"fanout-{hosts}-"))
    write_inputs(folder, sshd, hosts)
    commands = contenders(folder, sshd, hosts, against, team)
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for name in names:  # one warm-up each: caches, bytecode, the sshd's first forks
        timed(commands[name], folder)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(timed(commands[name], folder))
    shutil.rmtree(folder, ignore_errors=True)
    return times


def report(results: dict[int, dict[str, list[float]]], rounds: int) -> str:
    """A markdown table of medians and ratios to the floor."""
    lines = [
        "| hosts | contender | median s | min s | max s | × floor |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for hosts, times in results.items():
        for name, values in times.items():
            floor_name = (
                "asyncssh floor, 5 steps" if "5 steps" in name else "asyncssh floor, 1 step"
            )
            ratio = statistics.median(values) / statistics.median(times[floor_name])
            lines.append(
                f"| {hosts} | {name} | {statistics.median(values):.2f} | {min(values):.2f} | "
                f"{max(values):.2f} | {ratio:.2f} |"
            )
    return "\n".join(lines) + f"\n\nMedians of {rounds} rounds after one warm-up round.\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", default="50,200")
    parser.add_argument("--rounds", type=int, default=5)
    add_against(parser)
    parser.add_argument(
        "--team", action="store_true", help="opsconsole on a private PostgreSQL team store too"
    )
    args = parser.parse_args()
    sshd = start_sshd(Path(tempfile.mkdtemp(prefix="fanout-sshd-")))
    cluster = team = None
    if args.team:
        from tests.pg import start_cluster

        from console.identity import current_operator
        from console.store import pgadmin

        cluster = start_cluster(Path(tempfile.mkdtemp(prefix="fanout-pg-")), durable=True)
        pgadmin.init(cluster.dsn())
        pgadmin.grant(cluster.dsn(), current_operator())
        team = cluster.dsn(user="")
    try:
        results = {}
        for n in map(int, args.hosts.split(",")):
            results[n] = bench(sshd, n, args.rounds, args.against, team)
            print(report({n: results[n]}, args.rounds), file=sys.stderr, flush=True)
    finally:
        sshd.process.terminate()
        if cluster is not None:
            cluster.stop()
    print(report(results, args.rounds))


if __name__ == "__main__":
    main()
