"""The console measured through a real pty: start-up, `--help`, key latency under output floods, memory.

Every figure is taken side by side in one run, medians of several rounds:

- first frame: `opsconsole` on the sample inventory until its footer shows, against a minimal
  Textual app (Header, Log, Footer) until its footer shows;
- `opsconsole --help` against `python -c 'import textual.app'`;
- key latency: with a 200-host run open in the run view while a second process appends its
  output at a given rate, the time from writing `j` (or `k`) on the pty until the logs pane's
  title names the host the cursor moved to (the cursor moved, the cell's output is followed);
  idle first, then each rate;
- memory: the console's resident size before the flood and its peak after it.

`--against SRC` adds the first frame and `--help` of an earlier opsconsole (the `src` folder of
a checkout), both it and this one started as `python -m console` so that they compare alike.

    .venv/bin/python -m bench.console --rounds 5 --presses 40 --rates 20000,100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.pg import Cluster, start_cluster
from tests.pty import Terminal, onto_first_cell

from bench import SRC, add_against
from console import events as ev
from console.store import open_store

ROOT = Path(__file__).resolve().parents[1]
HOSTS = [f"h{i:03d}" for i in range(200)]
RUN = "20261128-000000-flood"
PYTHON = sys.executable
OPSCONSOLE = str(Path(PYTHON).with_name("opsconsole"))

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Log
class Minimal(App):
    TITLE = "Minimal app"
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Header()
        yield Log()
        yield Footer()
Minimal().run()
"""

FLOOD = """
import sys, time
from pathlib import Path
from console import events as ev
from console.paths import store_address
from console.store import open_store
where, run, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
hosts = [f"h{i:03d}" for i in range(200)]
writer = open_store(store_address(where)).writer()
per_chunk, lines, start = 10, 0, time.perf_counter()
for h in hosts:
    writer.put(ev.StepStarted(run_id=run, at=time.time(), stage="s", step="work", host=h))
while (elapsed := time.perf_counter() - start) < seconds:
    if lines > rate * elapsed:
        time.sleep(0.002)
        continue
    now = time.time()
    for h in hosts:
        data = b"".join(b"record %d of %s processed\\n" % (lines + i, h.encode()) for i in range(per_chunk))
        writer.put(ev.Output(run_id=run, at=now, stage="s", step="work", host=h, stream="stdout", data=data))
    lines += per_chunk * len(hosts)
writer.close()
print(lines, time.perf_counter() - start)
"""


def seed(where: Path | str) -> None:
    """A running 200-host run for the console to open."""
    store = open_store(where)
    plan = [
        ev.StagePlan(
            name="s", strategy="parallel", steps=[ev.StepPlan(name="work", kind="run", hosts=HOSTS)]
        )
    ]
    launched = ev.RunLaunched(
        run_id=RUN,
        at=time.time(),
        pipeline="flood",
        pipeline_digest="0" * 64,
        pipeline_path="p",
        inventory_path="i",
        inventory_digest="0" * 64,
        params={},
        targets=HOSTS,
        environments=[],
        operator="bench",
        stages=plan,
    )
    store.create_run(launched, "")
    store.append([ev.RunStarted(run_id=RUN, at=time.time(), pid=os.getpid(), node=os.uname()[1])])
    store.close()


def console(store: Path | str, config: Path) -> list[str]:
    """The command line that opens the console on the sample inventory."""
    return [OPSCONSOLE, "--inventory", str(ROOT / "sample_inventory.toml"), "--store", str(store)]


def as_module(src: Path, argv: list[str]) -> list[str]:
    """The same command run as `python -m console` from the checkout whose `src` is given."""
    return ["env", f"PYTHONPATH={src.resolve()}", PYTHON, "-m", "console", *argv[1:]]


def first_frame(argv: list[str], config: Path, title: str) -> tuple[float, float]:
    """Seconds from starting a program on a pty until its first frame (its title line) is on
    screen, and until its footer's keys (`Quit`) are."""
    term = Terminal(argv, XDG_CONFIG_HOME=str(config))
    try:
        frame = term.wait_for(title, term.started) - term.started
        return frame, term.wait_for("Quit", term.started) - term.started
    finally:
        term.close()


def timed(argv: list[str]) -> float:
    """Seconds a command takes to finish."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def start_up(rounds: int, against: Path | None) -> dict[str, list[float]]:
    """First frame and `--help`, each contender once per round in turn."""
    folder = Path(tempfile.mkdtemp(prefix="bench-console-"))
    keys = ["minimal", "console", "minimal-footer", "console-footer", "import", "help"]
    if against is not None:
        keys += [f"{k}-{who}" for who in ("now", "before") for k in ("frame", "footer", "help")]
    results: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(rounds + 1):
        store = folder / f"start-{i}.db"
        minimal = first_frame([PYTHON, "-c", MINIMAL_APP], folder, "Minimal app")
        ours = first_frame(console(store, folder), folder, "Ops Console")
        frames = {
            "minimal": minimal[0],
            "console": ours[0],
            "minimal-footer": minimal[1],
            "console-footer": ours[1],
            "import": timed([PYTHON, "-c", "import textual.app"]),
            "help": timed([OPSCONSOLE, "--help"]),
        }
        if against is not None:
            for who, src in (("now", SRC), ("before", against)):
                argv = as_module(src, console(folder / f"{who}-{i}.db", folder))
                frame, footer = first_frame(argv, folder, "Ops Console")
                help_s = timed(as_module(src, [OPSCONSOLE, "--help"]))
                frames |= {f"frame-{who}": frame, f"footer-{who}": footer, f"help-{who}": help_s}
        if i:  # the first round warms the page cache
            for key, value in frames.items():
                results[key].append(value)
    return results


def latency(
    presses: int, rate: int, src: Path | None = None, team: Callable[[], str] | None = None
) -> tuple[list[float], int, float, int, int]:
    """Key latencies, lines written, seconds, and memory (KiB) before and at peak (of the
    checkout whose `src` is given, run as `python -m console`, when one is; on a new team
    store that `team` makes, when given)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-console-"))
    store: Path | str = folder / "store.db" if team is None else team()
    seed(store)
    argv = console(store, folder) if src is None else as_module(src, console(store, folder))
    term = Terminal(argv, XDG_CONFIG_HOME=str(folder))
    flood = None
    try:
        term.wait_for("Quit", term.started)
        time.sleep(0.5)
        term.wait_for("output of", term.press("\t\r"))  # the newest run, in the run view
        time.sleep(1.0)
        before = term.memory_kib()
        if rate:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
            seconds = presses * 0.35 + 3
            command = [PYTHON, "-c", FLOOD, str(store), RUN, str(rate), str(seconds)]
            flood = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
            time.sleep(2.0)
        row = onto_first_cell(term, "h000 · work", "h001 · work")
        samples = []
        for i in range(presses):  # down and up the matrix; the logs pane follows the new cell
            key, row = ("j", row + 1) if i % 2 == 0 else ("k", row - 1)
            sent = term.press(key)
            samples.append(term.wait_for(f"h{row:03d} · work", sent, timeout=10) - sent)
            time.sleep(0.15)
        lines, seconds = 0, 0.0
        if flood:
            out, _ = flood.communicate()
            lines, seconds = int(out.split()[0]), float(out.split()[1])
        peak = term.memory_kib("VmHWM")
        return samples, lines, seconds, before, peak
    finally:
        if flood and flood.poll() is None:
            flood.kill()
        term.close()


def ms(values: list[float], q: float) -> float:
    """A quantile in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--rates", default="20000,100000")
    parser.add_argument("--no-latency", action="store_true", help="measure start-up only")
    add_against(parser)
    parser.add_argument(
        "--team", action="store_true", help="key latency on a PostgreSQL team store too"
    )
    args = parser.parse_args()

    starts = start_up(args.rounds, args.against)
    med = {k: statistics.median(v) for k, v in starts.items()}
    print("| measure | median s | min s | max s | ratio |\n|---|---:|---:|---:|---:|")
    for key, label, base in (
        ("minimal", "minimal Textual app, first frame", "minimal"),
        ("console", "opsconsole, first frame", "minimal"),
        ("minimal-footer", "minimal Textual app, footer keys drawn", "minimal-footer"),
        ("console-footer", "opsconsole, footer keys drawn", "minimal-footer"),
        ("import", "python -c 'import textual.app'", "import"),
        ("help", "opsconsole --help", "import"),
    ):
        v = starts[key]
        print(
            f"| {label} | {med[key]:.3f} | {min(v):.3f} | {max(v):.3f} | {med[key] / med[base]:.2f}× |"
        )
    if args.against is not None:
        print("\n| python -m console | this checkout, median s | earlier, median s | ratio |")
        print("|---|---:|---:|---:|")
        for key, label in (
            ("frame", "first frame"),
            ("footer", "footer keys drawn"),
            ("help", "--help"),
        ):
            now, before = med[f"{key}-now"], med[f"{key}-before"]
            print(f"| {label} | {now:.3f} | {before:.3f} | {now / before:.2f}× |")
    if args.no_latency:
        return

    print(
        "\n| output rate | lines written | median ms | p95 ms | p99 ms | max ms | RSS before MiB | peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    versions: list[tuple[str, Path | None, Callable[[], str] | None]] = [("", None, None)]
    if args.against is not None:  # both as `python -m console`, alternating
        versions = [("this checkout, ", SRC, None), ("earlier, ", args.against, None)]
    cluster = None
    if args.team:  # the same checkout on a SQLite file and on a team store, alternating
        cluster, team = team_stores()
        versions = [("SQLite file, ", None, None), ("team store, ", None, team)]
    try:
        latencies(args, versions)
    finally:
        if cluster is not None:
            cluster.stop()


def team_stores() -> tuple[Cluster, Callable[[], str]]:
    """A private PostgreSQL cluster, and a maker of new team stores in it."""
    from console.identity import current_operator
    from console.store import pgadmin

    cluster = start_cluster(Path(tempfile.mkdtemp(prefix="bench-console-pg-")), durable=True)
    made = iter(range(1, 1000))

    def team() -> str:
        name = f"console{next(made)}"
        cluster.create_database(name)
        pgadmin.init(cluster.dsn(database=name))
        pgadmin.grant(cluster.dsn(database=name), current_operator())
        return cluster.dsn(user="", database=name)

    return cluster, team


def latencies(
    args: argparse.Namespace, versions: list[tuple[str, Path | None, Callable[[], str] | None]]
) -> None:
    """Key latency idle and at each rate, each version in turn."""
    for rate in [0, *(int(r) for r in args.rates.split(","))]:
        for who, src, team in versions:
            samples, lines, seconds, before, peak = latency(args.presses, rate, src, team)
            label = who + ("idle" if not rate else f"{lines / seconds:,.0f} lines/s")
            print(
                f"| {label} | {lines:,} | {statistics.median(samples) * 1000:.1f} | {ms(samples, 0.95):.1f} | "
                f"{ms(samples, 0.99):.1f} | {max(samples) * 1000:.1f} | {before / 1024:.0f} | {peak / 1024:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
