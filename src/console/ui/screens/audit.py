"""The audit pane: the hash-chained records as a table, filtered, with the chain's state.

The trail is read in pages and only the newest records the filter keeps are held: a trail of
hundreds of thousands of records is verified whole without being held whole.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from console.audit import GENESIS, AuditRecord, Verdict, verify
from console.paths import StoreAddress
from console.query import Query
from console.render.words import in_words
from console.sanitize import printable
from console.store import open_store
from console.ui.widgets.literal import literal

SHOWN = 1000
"""Rows the table holds at most: the newest records the filter keeps."""
PAGE = 5000
"""Records read from the store at a time."""


@dataclass
class Scan:
    """What a pass over the trail found: the newest records kept, how many matched, how far
    it read, and the chain's state there."""

    kept: list[AuditRecord]
    matched: int
    seen: int
    verdict: Verdict


class AuditRead(Message):
    """A pass over the trail is done (its number), or (pass 0) the records after those seen."""

    def __init__(self, scan: Scan, number: int) -> None:
        super().__init__()
        self.scan, self.number = scan, number


class AuditReading(Message):
    """A pass over a long trail has read this many records so far."""

    def __init__(self, count: int, number: int, checking: bool) -> None:
        super().__init__()
        self.count, self.number, self.checking = count, number, checking


def record_fields(r: AuditRecord) -> dict[str, str]:
    """What an audit record's filter terms look at."""
    return {"run": r.subject, "op": r.actor, "action": r.action, "date": r.at[:10]}


def kept_by(wanted: Query, record: AuditRecord) -> bool:
    """Whether the filter keeps a record."""
    return wanted.keeps(record_fields(record), f"{record.details} {in_words(record)}")


class AuditPane(Vertical):
    """The newest audit records the filter keeps, newest last; the whole chain verified."""

    def __init__(self, store: StoreAddress) -> None:
        super().__init__()
        self._store = store
        self.records: list[AuditRecord] = []
        self.verdict = Verdict(0, GENESIS)
        self.matched = 0
        self._seen = 0
        self._pass = self._passed = 0
        self._verifying = self._reading_new = False
        self._reading = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Static("checking the audit chain…", id="chain")
        yield Input(
            placeholder="filter: run:ID op:NAME action:WORD date:YYYY-MM-DD, or any words",
            id="audit-filter",
        )
        yield Static("", id="audit-more")
        yield DataTable(id="audit-list", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#audit-list", DataTable)
        for label in ("#", "time (UTC)", "actor", "action", "subject", "details"):
            table.add_column(label, key=label)
        self.query_one("#audit-more", Static).display = False

    def on_show(self) -> None:
        """The pane came to the front: verify the whole chain again (a long trail takes a
        while, so a console that never shows the pane never pays for it)."""
        self.refresh_records()

    def refresh_records(self, full: bool = True) -> None:
        """Verify the whole chain again and refill the table, or (`full=False`) add the
        records written since; off the UI's thread."""
        if full:
            self._start(verify=True)
        elif self._passed == self._pass and not self._reading_new and self.verdict.intact:
            self._reading_new = True  # one at a time: two would add the same rows
            self._read_new(self._filter(), self._seen, self.verdict)

    def _start(self, verify: bool) -> None:
        """Start a pass over the trail, which replaces any pass still going (a pass that was
        verifying the chain is replaced by one that verifies it too)."""
        self._verifying = verify or self._verifying
        self._pass += 1
        self._scan(self._pass, self._filter(), None if self._verifying else self._seen)

    def _filter(self) -> str:
        return self.query_one("#audit-filter", Input).value

    @work(thread=True, group="audit-scan", exclusive=True)
    def _scan(self, number: int, text: str, until: int | None) -> None:
        """Read the trail from its start, keeping the newest records the filter keeps; verify
        it too unless `until` (the records already verified) bounds the pass."""
        worker = get_current_worker()
        wanted = Query.parse(text)
        kept: deque[AuditRecord] = deque(maxlen=SHOWN)
        matched, seen, verdict = 0, 0, Verdict(0, GENESIS)
        with self._reading:
            store = open_store(self._store)
            try:
                while page := store.audit_records(after=seen, limit=PAGE):
                    if until is not None:
                        page = [r for r in page if r.seq <= until]
                    elif verdict.intact:
                        verdict = _continued(verdict, page)
                    found = [r for r in page if kept_by(wanted, r)]
                    kept.extend(found)
                    matched, seen = matched + len(found), page[-1].seq if page else seen
                    if worker.is_cancelled or not page or (until and seen >= until):
                        break
                    if len(page) == PAGE:
                        self.post_message(AuditReading(seen, number, until is None))
            finally:
                store.close()
        if not worker.is_cancelled:
            scan = Scan(list(kept), matched, seen, verdict if until is None else self.verdict)
            self.post_message(AuditRead(scan, number))

    @work(thread=True, group="audit-new")
    def _read_new(self, text: str, seen: int, verdict: Verdict) -> None:
        """Read and verify the records written after those seen."""
        with self._reading:
            store = open_store(self._store)
            try:
                fresh = store.audit_records(after=seen)
            finally:
                store.close()
        wanted = Query.parse(text)
        found = [r for r in fresh if kept_by(wanted, r)]
        seen = fresh[-1].seq if fresh else seen
        self.post_message(AuditRead(Scan(found, len(found), seen, _continued(verdict, fresh)), 0))

    def on_audit_reading(self, message: AuditReading) -> None:
        if message.number != self._pass:
            return  # a pass replaced since
        if message.checking:
            say = f"checking the audit chain… {message.count:,} records so far"
            self.query_one("#chain", Static).update(say)
        else:
            self._more(f"searching the audit trail… {message.count:,} records so far")

    def on_audit_read(self, message: AuditRead) -> None:
        scan, full = message.scan, bool(message.number)
        if full and message.number != self._pass:
            return  # a pass replaced since
        if full:
            self._passed, self._verifying = message.number, False
        else:
            self._reading_new = False
            if scan.seen <= self._seen or self._passed != self._pass:
                return  # nothing new, or a pass since read these (or is reading them)
        self._seen, self.verdict = scan.seen, scan.verdict
        self._show_verdict()
        if full:
            self.records, self.matched = scan.kept, scan.matched
            self.query_one("#audit-list", DataTable).clear()
            self._add(self.records)
        else:  # a chain still intact: only the new records need rows
            self.records = (self.records + scan.kept)[-SHOWN:]
            self.matched += scan.matched
            self._add(scan.kept)
        self._count()

    def _show_verdict(self) -> None:
        chain = self.query_one("#chain", Static)
        if self.verdict.intact:
            chain.update(
                Text.assemble(
                    ("✓ chain verified", "bold green"),
                    f": {self.verdict.count} records, head {self.verdict.head[:16]}…",
                )
            )
        else:
            chain.update(
                Text.assemble(
                    (f"✗ chain broken at record {self.verdict.broken_at}", "bold red"),
                    f": {printable(self.verdict.problem)}",
                )
            )

    def _count(self) -> None:
        """Say when the table holds fewer records than the filter keeps."""
        if self.matched <= SHOWN:
            self._more("")
            return
        self._more(
            f"the newest {SHOWN:,} of {self.matched:,} records shown: narrow them with the "
            "filter, or print them all with `opsconsole audit export`"
        )

    def _more(self, text: str) -> None:
        more = self.query_one("#audit-more", Static)
        more.update(text)
        more.display = bool(text)

    @on(Input.Changed, "#audit-filter")
    def _filtered(self) -> None:
        self._start(verify=False)

    @on(Input.Submitted, "#audit-filter")
    def _filter_done(self) -> None:
        self.query_one("#audit-list", DataTable).focus()

    def _add(self, records: list[AuditRecord]) -> None:
        """Rows for records the filter kept, the oldest dropped past SHOWN, the cursor on the
        newest if it was there."""
        table = self.query_one("#audit-list", DataTable)
        at_end = table.cursor_row >= table.row_count - 1  # a reader further up stays put
        broken = self.verdict.broken_at
        for r in records:
            mark = Text(
                str(r.seq), style="bold red" if broken is not None and r.seq >= broken else ""
            )
            cells = literal(
                mark,
                r.at[:19].replace("T", " "),
                printable(r.actor),
                r.action,
                printable(r.subject),
                in_words(r),
            )
            table.add_row(*cells, key=str(r.seq))
        for row in list(table.ordered_rows)[: max(0, table.row_count - SHOWN)]:
            table.remove_row(row.key)
        if table.row_count and at_end:
            table.move_cursor(row=table.row_count - 1)

    @on(DataTable.RowSelected, "#audit-list")
    def _open(self, event: DataTable.RowSelected) -> None:
        """Enter on a record: read it whole."""
        from console.ui.dialogs.record import RecordDialog

        seq = int(event.row_key.value or 0)
        found = next((r for r in self.records if r.seq == seq), None)
        if found is not None:
            self.app.push_screen(RecordDialog(found))

    def clear_filter(self) -> bool:
        """Empty the filter (Esc, wherever the keyboard is); whether there was anything in it."""
        box = self.query_one("#audit-filter", Input)
        if not box.value:
            return False
        box.value = ""
        self.query_one("#audit-list", DataTable).focus()
        return True

    def focus_filter(self) -> None:
        """Put the keyboard in the filter box."""
        self.query_one("#audit-filter", Input).focus()


def _continued(verdict: Verdict, records: list[AuditRecord]) -> Verdict:
    """The chain's state once `records` follow those `verdict` covers."""
    if not verdict.intact:
        return verdict
    checked = verify(records, prev=verdict.head, first=verdict.count + 1)
    return Verdict(verdict.count + checked.count, checked.head, checked.broken_at, checked.problem)
