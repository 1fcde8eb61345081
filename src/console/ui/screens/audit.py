"""The audit pane: the hash-chained records as a table, filtered, with the chain's state."""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from console.audit import GENESIS, AuditRecord, Verdict, verify
from console.paths import StoreAddress
from console.query import Query
from console.render.words import in_words
from console.sanitize import printable
from console.store import open_store
from console.ui.widgets.literal import literal


class AuditRead(Message):
    """Records read from the store, and the chain's state after them."""

    def __init__(self, records: list[AuditRecord], verdict: Verdict, full: bool) -> None:
        super().__init__()
        self.records, self.verdict, self.full = records, verdict, full


def record_fields(r: AuditRecord) -> dict[str, str]:
    """What an audit record's filter terms look at."""
    return {"run": r.subject, "op": r.actor, "action": r.action, "date": r.at[:10]}


class AuditPane(Vertical):
    """Every audit record, newest last; the chain verified as records arrive."""

    def __init__(self, store: StoreAddress) -> None:
        super().__init__()
        self._store = store
        self.records: list[AuditRecord] = []
        self.verdict = Verdict(0, GENESIS)
        self._reading = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Static("checking the audit chain…", id="chain")
        yield Input(
            placeholder="filter: run:ID op:NAME action:WORD date:YYYY-MM-DD, or any words",
            id="audit-filter",
        )
        yield DataTable(id="audit-list", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#audit-list", DataTable)
        for label in ("#", "time (UTC)", "actor", "action", "subject", "details"):
            table.add_column(label, key=label)
        self.refresh_records()

    @work(thread=True, group="audit")
    def refresh_records(self, full: bool = True) -> None:
        """Read and verify the chain off the UI's thread: whole, or the records after those shown."""
        with self._reading:
            known, verdict = (0, Verdict(0, GENESIS)) if full else (len(self.records), self.verdict)
            if not full and not verdict.intact:
                return  # a broken chain stays broken until the pane is opened afresh
            store = open_store(self._store)
            try:
                fresh = store.audit_records(after=known)
            finally:
                store.close()
            if fresh or full:
                checked = verify(fresh, prev=verdict.head, first=known + 1)
                total = Verdict(
                    known + checked.count, checked.head, checked.broken_at, checked.problem
                )
                self.post_message(AuditRead(fresh, total, full))

    def on_audit_read(self, message: AuditRead) -> None:
        last = self.records[-1].seq if self.records else 0
        fresh = message.records if message.full else [r for r in message.records if r.seq > last]
        self.records = fresh if message.full else self.records + fresh
        self.verdict = message.verdict
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
        if message.full:
            self._fill()
        else:
            self._add(fresh)  # a chain still intact: only the new records need rows

    @on(Input.Changed, "#audit-filter")
    def _filtered(self) -> None:
        self._fill()

    @on(Input.Submitted, "#audit-filter")
    def _filter_done(self) -> None:
        self.query_one("#audit-list", DataTable).focus()

    def _fill(self) -> None:
        self.query_one("#audit-list", DataTable).clear()
        self._add(self.records)

    def _add(self, records: list[AuditRecord]) -> None:
        """Rows for the records the filter keeps, the cursor on the newest."""
        wanted = Query.parse(self.query_one("#audit-filter", Input).value)
        table = self.query_one("#audit-list", DataTable)
        at_end = table.cursor_row >= table.row_count - 1  # a reader further up stays put
        broken = self.verdict.broken_at
        for r in records:
            if not wanted.keeps(record_fields(r), f"{r.details} {in_words(r)}"):
                continue
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
