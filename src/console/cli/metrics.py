"""`opsconsole metrics`: the delivery measures of the store's history."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from console.errors import UsageError
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
    form.add_argument(
        "--format", choices=["html"], help="html: a report with charts, written to --out"
    )
    p.add_argument("--out", metavar="FILE", help="where --format html writes its page")


def metrics(args: argparse.Namespace, settings: Settings) -> int:
    """Print the measures."""
    from console.ops.metrics import environment_order, measures, period_of, run_records, when
    from console.render import metrics as render
    from console.store import open_store

    if args.format == "html" and not args.out:
        raise UsageError("--format html writes a page: say where with --out FILE")
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
        by_week=args.by == "week" or args.json or args.format == "html",
    )
    if args.format == "html":
        from console.render.delivery_html import page

        write_page(Path(args.out), page(found))
        print(f"wrote the delivery report to {args.out}")
    elif args.json:
        import json

        print(json.dumps(render.as_json(found), indent=2, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(render.as_csv(found))
    else:
        print(render.table(found))
        if args.by == "week":
            print("\n" + render.weeks_table(found))
    return 0


def write_page(path: Path, text: str) -> None:
    """Write the page whole or not at all (a half-written report is worse than none)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"the report cannot be written to {path} ({exc.strerror})") from None


COMMANDS = [
    (
        "metrics",
        "delivery measures: deployments, change failure rate, recovery, lead time, gate waits",
        configure,
        metrics,
    )
]
