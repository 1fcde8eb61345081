"""How soon a following console sees an event another process appended: a SQLite file (polled)
beside a PostgreSQL team store (LISTEN/NOTIFY), side by side in one run.

Ten followers (each a StoreFeed on a connection of its own, as ten consoles would have) wait
on the store; a writer process appends one event every 20 ms, stamped with the moment it
committed; each follower notes when the event reached it. The PostgreSQL cluster is a private
one in a temporary folder, as the tests start.

    .venv/bin/python -m bench.follow --events 200 --followers 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.pg import start_cluster

from console import events as ev
from console.identity import current_operator
from console.store import open_store, pgadmin
from console.ui.feed import StoreFeed

WRITER = """
import sys, time
from console import events as ev
from console.store import open_store
where, count = sys.argv[1], int(sys.argv[2])
with open_store(where) as store:
    for i in range(count):
        time.sleep(0.02)
        store.append([ev.CancelRefused(run_id="r1", at=0.0, actor="bench", reason="")])
        print(time.time(), flush=True)
"""


def launched() -> ev.RunLaunched:
    return ev.RunLaunched(
        run_id="r1",
        at=time.time(),
        pipeline="p",
        pipeline_digest="0" * 64,
        pipeline_path="p",
        inventory_path="i",
        inventory_digest="0" * 64,
        params={},
        targets=[],
        environments=[],
        operator=current_operator(),
        stages=[],
    )


def measure(where: str | Path, events: int, followers: int) -> list[float]:
    """Milliseconds from each append's commit to each follower's delivery."""
    with open_store(where) as store:
        store.create_run(launched(), "")
    arrivals: list[list[tuple[float, int]]] = [[] for _ in range(followers)]
    feeds = []
    for mine in arrivals:

        def deliver(batch: list, mine: list = mine) -> None:  # type: ignore[type-arg]
            now = time.time()
            mine.extend((now, e.id) for e in batch)

        feed = StoreFeed(where, deliver)
        feed.backlog()
        feeds.append(feed)
    threads = [threading.Thread(target=f.run, daemon=True) for f in feeds]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    written = subprocess.run(
        [sys.executable, "-c", WRITER, str(where), str(events)],
        capture_output=True,
        text=True,
        check=True,
    )
    committed = [float(line) for line in written.stdout.split()]
    time.sleep(0.5)
    for feed in feeds:
        feed.stop()
    for thread in threads:
        thread.join(5)
    with open_store(where) as store:
        ids = [e.id for e in store.read("r1", kinds=("cancel_refused",))]
    at = dict(zip(ids, committed, strict=True))
    return [(now - at[i]) * 1000 for mine in arrivals for now, i in mine if i in at]


def summary(name: str, lags: list[float], expected: int) -> str:
    """A table row: how many arrived, median, p95, p99 and the slowest, in ms."""
    lags = sorted(lags)
    q = statistics.quantiles(lags, n=100)
    return (
        f"| {name} | {len(lags):,}/{expected:,} | {statistics.median(lags):.1f} | "
        f"{q[94]:.1f} | {q[98]:.1f} | {lags[-1]:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--followers", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-follow-"))
    cluster = start_cluster(folder / "pg")
    try:
        pgadmin.init(cluster.dsn())
        pgadmin.grant(cluster.dsn(), current_operator())
        team = cluster.dsn(user=current_operator())
        rows = []
        for name, where in (
            ("SQLite (polled every 0.1 s)", folder / "s.db"),
            ("PostgreSQL (NOTIFY)", team),
        ):
            lags = measure(where, args.events, args.followers)
            rows.append(summary(name, lags, args.events * args.followers))
        print(
            f"{args.followers} followers, {args.events} events 20 ms apart; delivery after commit, ms\n"
        )
        print("| store | delivered | median | p95 | p99 | max |")
        print("|---|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
