"""Delivery measures from a store: its run records (each account's cache of them, brought up
to date from the store's newest events), then the measures over a period."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from pathlib import Path

from console.delivery.measures import Group, History, Measures, Period, in_order, weeks
from console.delivery.record import RecordBook
from console.durations import utc_moment
from console.errors import UsageError
from console.model.trust import untrusted
from console.settings import Settings
from console.store import Store
from console.store.recordcache import RecordCache, cache_path

PAGE = 20_000


def run_records(
    store: Store, since: float | None = None, book: RecordBook | None = None
) -> RecordBook:
    """The records of the runs that ended from `since` on (all without it) and of those still
    open, with every release: the cache of this store brought up to date first (a cache
    another account could have written is not read: everything is folded afresh). A book
    already held that covers `since` is brought up to date instead of loaded again."""
    with no_collections():
        return _brought_up_to_date(store, since, book)


def _brought_up_to_date(store: Store, since: float | None, book: RecordBook | None) -> RecordBook:
    path = _own_cache(store)
    if book is None or not (book.since is None or (since is not None and since >= book.since)):
        book = RecordBook()
        if path is not None:
            with contextlib.closing(RecordCache(path)) as cache:
                book = cache.load(since)
    follow(store, book)
    if book.changed and path is not None:
        with contextlib.closing(RecordCache(path)) as cache:
            cache.keep(book)
    return book


@contextlib.contextmanager
def no_collections() -> Iterator[None]:
    """No garbage collection while records are loaded and measured: the many they make would
    set off full collections, each walking every object of the process (in a console holding
    a long history, five times the measuring's own time); what they leave is collected after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _own_cache(store: Store) -> Path | None:
    """The account's cache file of the store, unless another account could have written it."""
    path = cache_path(store.location)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return None if untrusted(path.parent) or untrusted(path) else path


def follow(store: Store, book: RecordBook) -> None:
    """Fold into the book every event the store took after its cursor (output aside)."""
    while batch := store.read_all(book.cursor, exclude=("output",), limit=PAGE):
        for stored in batch:
            book.apply(stored.id, stored.event)


def measures(
    book: RecordBook,
    period: Period,
    order: list[str],
    environment: str | None = None,
    pipeline: str | None = None,
    by_week: bool = True,
    per_pipeline: bool = True,
) -> Measures:
    """The measures of the book over the period, narrowed to an environment or pipeline; per
    environment, and per pipeline in each unless `per_pipeline` is false."""
    with no_collections():
        return _measured(book, period, order, environment, pipeline, by_week, per_pipeline)


def _measured(
    book: RecordBook,
    period: Period,
    order: list[str],
    environment: str | None,
    pipeline: str | None,
    by_week: bool,
    per_pipeline: bool,
) -> Measures:
    records = book.records.values()
    chosen = records if pipeline is None else [r for r in records if r.pipeline == pipeline]
    history = History(chosen, book.releases)
    envs = [e for e in in_order(history.named, order) if environment in (None, e)]
    groups: list[Group] = []
    for env in envs:
        groups.append(history.measure(period, env))
        for name in sorted(history.pipelines) if per_pipeline else ():
            group = history.measure(period, env, name)
            if group.deployments or group.gate_wait.count:
                groups.append(group)
    trend = [(w, [history.measure(w, env) for env in envs]) for w in weeks(period)]
    return Measures(period, groups, trend if by_week else [])


def period_of(
    since: float | None, until: float | None, days: float = 90, now: float | None = None
) -> Period:
    """The period asked for: up to now, from 90 days back, unless said otherwise."""
    end = until if until is not None else (now if now is not None else time.time())
    return Period(since if since is not None else end - days * 86400, end)


def when(text: str | None, option: str, now: float) -> float | None:
    """A moment from `--since`/`--until`: a span back from now (90d, 12w, 36h) or an ISO 8601
    date or time (UTC unless it says otherwise)."""
    if text is None:
        return None
    spans = {"h": 3600, "d": 86400, "w": 7 * 86400}
    if len(text) > 1 and text[:-1].isdigit() and text[-1] in spans:
        return now - int(text[:-1]) * spans[text[-1]]
    try:
        return utc_moment(text)
    except ValueError:
        raise UsageError(
            f"{option} '{text}' is neither a span back from now (90d, 12w, 36h) nor a date or "
            "time (2026-09-01, 2026-09-01T08:00)"
        ) from None


def environment_order(settings: Settings) -> list[str]:
    """The inventory's environments in its order, when it can be read (the measures do not
    need it: without it, environments go by name)."""
    from console.errors import ConsoleError
    from console.ops.config import load

    try:
        return list(load(settings).inventory.environments)
    except ConsoleError:
        return []
