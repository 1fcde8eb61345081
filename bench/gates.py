"""What approvals cost apart from the humans: gate resume latency, run time around a gate, audit writes.

1. A 20-host pipeline with a gate between two stages, launched detached and approved from
   another process as soon as the gate opens. From the stored events: the time from the
   decision being recorded to the next stage starting, and the run's time minus the time the
   gate waited for its decision, against the same pipeline without the gate.
2. Appending one event per transaction, with an audit record chained to it (a decision)
   against without (a step starting).

    .venv/bin/python -m bench.gates --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.sshd import Sshd, start_sshd
from tests.unit.test_state import _launched

from console import events as ev
from console.identity import current_operator
from console.store.sqlite import SQLiteStore

OPSCONSOLE = str(Path(sys.executable).with_name("opsconsole"))
HOSTS = 20
STAGE = '[[stages]]\nname = "{name}"\n  [[stages.steps]]\n  name = "{name}"\n  run = "true"\n'
GATE = '[[stages]]\nname = "approval"\n  [[stages.steps]]\n  name = "board"\n  gate = "go?"\n'


def write_inputs(folder: Path, sshd: Sshd) -> None:
    """An inventory of HOSTS hosts in one governed environment, and the two pipelines."""
    (folder / "pipelines").mkdir(parents=True)
    lines = [
        '[inventory]\nname = "bench"',
        f'[ssh]\nuser = "{sshd.user}"\nknown_hosts = "{sshd.known_hosts}"',
        f'identity_file = "{sshd.client_key}"',
        "[environments.test]\napprovals = 1\nself_approval = true",
        f'[operators.{current_operator()}]\nroles = ["ops"]',
        '[groups.all]\nenvironment = "test"',
    ]
    for i in range(1, HOSTS + 1):
        lines.append(f'[hosts.h{i}]\naddress = "127.0.0.1"\nport = {sshd.port}\ngroups = ["all"]')
    (folder / "inventory.toml").write_text("\n".join(lines) + "\n")
    head = 'name = "{}"\ntargets = ["all"]\n'
    first, last = STAGE.format(name="first"), STAGE.format(name="last")
    (folder / "pipelines" / "plain.toml").write_text(head.format("plain") + first + last)
    (folder / "pipelines" / "gated.toml").write_text(head.format("gated") + first + GATE + last)


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`opsconsole ARGS` on the bench's inventory and store."""
    files = ["--inventory", str(folder / "inventory.toml"), "--store", str(folder / "store.db")]
    return subprocess.run([OPSCONSOLE, *args, *files], capture_output=True, text=True, check=True)


def events_of(folder: Path, run_id: str) -> list[ev.Event]:
    """A run's events (output excepted)."""
    store = SQLiteStore(folder / "store.db")
    try:
        return [s.event for s in store.read(run_id, exclude=("output",))]
    finally:
        store.close()


def first(events: list[ev.Event], kind: type[ev.Event], **match: str) -> float:
    """When the first event of a kind (with the given fields) happened."""
    return next(
        e.at
        for e in events
        if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items())
    )


def run_time(events: list[ev.Event]) -> float:
    """From the runner starting to the run finishing."""
    return first(events, ev.RunFinished) - first(events, ev.RunStarted)


def gated_round(folder: Path) -> tuple[float, float]:
    """Resume latency, and the run's time without its wait for a decision."""
    run_id = cli(folder, "run", "gated", "--detach").stdout.strip()
    while not any(isinstance(e, ev.GateOpened) for e in events_of(folder, run_id)):
        time.sleep(0.02)
    cli(folder, "approve", run_id, "--reason", "bench")
    while not any(isinstance(e, ev.RunFinished) for e in events_of(folder, run_id)):
        time.sleep(0.05)
    events = events_of(folder, run_id)
    decided = first(events, ev.GateDecided)
    resumed = first(events, ev.StageStarted, stage="last")
    waited = decided - first(events, ev.GateOpened)
    return resumed - decided, run_time(events) - waited


def appends(folder: Path, audited: bool, count: int) -> float:
    """Median seconds per one-event transaction."""
    store = SQLiteStore(folder / "append.db")
    samples = []
    for i in range(count):
        event: ev.Event
        if audited:
            event = ev.GateDecided(
                run_id="r",
                at=time.time(),
                stage="g",
                step="board",
                decision="approve",
                actor="a",
                reason=f"{i}",
            )
        else:
            event = ev.StepStarted(run_id="r", at=time.time(), stage="s", step="x", host=f"h{i}")
        start = time.perf_counter()
        store.append([event])
        samples.append(time.perf_counter() - start)
    store.close()
    return statistics.median(samples)


def ms(values: list[float]) -> str:
    """Median, min and max in milliseconds, as table cells."""
    cells = (statistics.median(values), min(values), max(values))
    return " | ".join(f"{v * 1000:.0f}" for v in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-gates-"))
    sshd = start_sshd(folder / "sshd")
    try:
        write_inputs(folder, sshd)
        plain, resume, gated = [], [], []
        for i in range(args.rounds + 1):
            run_id = cli(folder, "run", "plain", "--detach").stdout.strip()
            while not any(isinstance(e, ev.RunFinished) for e in events_of(folder, run_id)):
                time.sleep(0.05)
            latency, without_wait = gated_round(folder)
            if i:  # the first round warms up
                plain.append(run_time(events_of(folder, run_id)))
                resume.append(latency)
                gated.append(without_wait)
    finally:
        sshd.process.terminate()
    SQLiteStore(folder / "append.db").create_run(_launched(), "")  # run "r"
    plain_append, audited_append = appends(folder, False, 500), appends(folder, True, 500)
    print("| measure | median ms | min ms | max ms |\n|---|---:|---:|---:|")
    print(f"| decision recorded → next stage starts | {ms(resume)} |")
    print(f"| run without a gate ({HOSTS} hosts, 2 stages) | {ms(plain)} |")
    print(f"| run with a gate, minus its wait for the decision | {ms(gated)} |")
    print(
        f"\nGate overhead beyond the humans: {statistics.median(gated) / statistics.median(plain):.2f}× the ungated run."
    )
    print(
        f"One-event append: {plain_append * 1e6:.0f} µs unaudited, "
        f"{audited_append * 1e6:.0f} µs with its audit record chained "
        f"({audited_append / plain_append:.2f}×); {args.rounds} rounds, 500 appends each."
    )


if __name__ == "__main__":
    main()
