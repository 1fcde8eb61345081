"""`opsconsole metrics`: the delivery measures of the store's history."""

from __future__ import annotations

import argparse
import sys
import time

from console.settings import Settings


def configure(p: argparse.ArgumentParser) -> None:
    """The period, what to narrow it to, and the form."""
    p.add_argument(
        "--since", metavar="SPAN|DATE", help="from when: 90d, 12w or a date (default 90d)"
    )
    p.add_argument("--until", metavar="DATE", help="up to when (default now)")
    p.add_argument("--environment", metavar="ENV", help="one environment")
    p.add_argument("--pipeline", metavar="NAME", help="one pipeline")
    p.add_argument("--by", choices=["week"], help="add the trend week by week (JSON and the table)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON")
    form.add_argument("--csv", action="store_true", help="print CSV, one row per group")


def metrics(args: argparse.Namespace, settings: Settings) -> int:
    """Print the measures."""
    from console.ops.metrics import environment_order, measures, period_of, run_records, when
    from console.render import metrics as render
    from console.store import open_store

    now = time.time()
    period = period_of(when(args.since, "--since", now), when(args.until, "--until", now))
    with open_store(settings.store) as store:
        book = run_records(store, period.since)
    found = measures(
        book,
        period,
        environment_order(settings),
        args.environment,
        args.pipeline,
        by_week=args.by == "week" or args.json,
    )
    if args.json:
        import json

        print(json.dumps(render.as_json(found), indent=2, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(render.as_csv(found))
    else:
        print(render.table(found))
    return 0


COMMANDS = [
    (
        "metrics",
        "delivery measures: deployments, change failure rate, recovery, lead time, gate waits",
        configure,
        metrics,
    )
]
