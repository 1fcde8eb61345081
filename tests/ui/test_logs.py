"""The logs pane under Pilot: hostile output, colours, following, paging, search and filters."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import DataTable

from console.store.sqlite import SQLiteStore
from console.ui.widgets.logs import LINES_PER_TICK, WINDOW, LogPane
from console.ui.widgets.logtext import plain
from console.ui.widgets.logview import LogView
from console.ui.widgets.matrix import RunMatrix
from tests.ui import seed
from tests.ui.test_console import SIZE, _settle

RUN = "20261117-110000-cccc"


async def _open_newest_run(app, pilot) -> LogView:  # type: ignore[no-untyped-def]
    await _settle(pilot, lambda: app.query_one("#runs", DataTable).row_count == 3)
    await pilot.press("tab", "enter")
    return app.query_one(LogView)


def _text(view: LogView) -> list[str]:
    return [plain(line) for line in view.lines]


def _screen(view: LogView) -> list[str]:
    return [view.render_line(y).text for y in range(view.size.height)]


async def test_hostile_output_reaches_the_screen_as_visible_text_only(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    hostile = (
        b"\x1b]52;c;ZXZpbA==\x07\x1b]0;owned\x07safe \x1b[2J\x1b[3A\x1b[Htext "
        b"[link=x]y[/] \x1b[31mred\x1b[0m\r\n"
    )
    seed.output(store, RUN, "ehr-web-stg-02", [hostile])
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await _open_newest_run(app, pilot)
        await _settle(pilot, lambda: any("safe" in line for line in view.lines))
        await pilot.pause(0.1)
        shown = "\n".join(_screen(view))
        assert "ehr-web-stg-02 disk space │ safe text [link=x]y[/] red" in shown
        assert "\x1b" not in shown and "\x07" not in shown and "owned" not in shown
        assert "ZXZpbA" not in shown
        line = next(i for i, text in enumerate(view.lines) if "safe" in text)
        strip = view.render_line(line - round(view.scroll_y))
        red = [seg for seg in strip if seg.text == "red"]
        assert red and red[0].style is not None and red[0].style.color is not None
        assert red[0].style.color.number == 1  # ANSI red, as the host sent it


async def test_following_skips_what_it_cannot_draw_and_pausing_shows_it_all(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await _open_newest_run(app, pilot)
        await pilot.pause(0.3)
        seed.output(store, RUN, "ehr-web-stg-01", [b"line %d\n" % i for i in range(1000)])
        await _settle(pilot, lambda: any("line 999" in line for line in view.lines))
        assert any("output skipped here while following" in line for line in view.lines)
        assert sum("output skipped here while following" in line for line in view.lines) == 1
        assert len(view.lines) < 400
        view.focus()
        await pilot.press("f")
        pane = app.query_one(LogPane)
        await _settle(pilot, lambda: any(t.endswith("│ line 0") for t in _text(view)))
        assert not pane.live and "paused" in str(pane.border_subtitle)
        assert not any("skipped" in line for line in view.lines)
        assert sum("│ line " in t for t in _text(view)) == 1000
        await pilot.press("f")
        assert pane.live and "following" in str(pane.border_subtitle)


async def test_a_flood_of_long_chunks_is_drawn_as_its_newest_lines_after_one_mark(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await _open_newest_run(app, pilot)
        await pilot.pause(0.3)
        chunks = [b"".join(b"chunk %d line %d\n" % (i, k) for k in range(10)) for i in range(300)]
        seed.output(store, RUN, "ehr-web-stg-01", chunks)
        await _settle(pilot, lambda: any("chunk 299 line 9" in line for line in view.lines))
        assert sum("output skipped here while following" in line for line in view.lines) == 1
        assert len(view.lines) <= LINES_PER_TICK + 1 + 10  # the newest lines, the mark, the tail


async def test_scrolling_back_pages_older_output_in_from_the_store(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    seed.output(store, RUN, "ehr-web-stg-01", [b"old %05d\n" % i for i in range(12_000)])
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await _open_newest_run(app, pilot)
        await _settle(pilot, lambda: any("old 11999" in line for line in view.lines))
        assert not any("old 00000" in line for line in view.lines)
        view.focus()
        for _ in range(40):
            await pilot.press("home")
            await pilot.pause(0.05)
            if any(t.endswith("old 00000") for t in _text(view)):
                break
        assert any(t.endswith("old 00000") for t in _text(view))
        assert len(view.lines) <= WINDOW
        numbers = [int(t.rsplit(" ", 1)[1]) for t in _text(view)]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no gaps
        await pilot.press("end")
        for _ in range(40):
            await pilot.press("end")
            await pilot.pause(0.05)
            if any(t.endswith("old 11999") for t in _text(view)):
                break
        assert any(t.endswith("old 11999") for t in _text(view))


async def test_search_finds_lines_in_the_whole_output_and_n_moves_between_them(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    chunks = [(b"ERROR disk %d\n" if i in (5, 9000) else b"ok %d\n") % i for i in range(12_000)]
    seed.output(store, RUN, "ehr-web-stg-01", chunks)
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await _open_newest_run(app, pilot)
        pane = app.query_one(LogPane)
        await _settle(pilot, lambda: any("ok 11999" in line for line in view.lines))
        view.focus()
        await pilot.press("slash", *"error", "enter")
        await _settle(pilot, lambda: len(pane.matches) == 2 and view.current is not None)
        await _settle(pilot, lambda: view.index_of(pane.matches[pane.match]) is not None)
        assert "match 1 of 2" in str(pane.border_subtitle) or "match 2 of 2" in str(
            pane.border_subtitle
        )
        first = pane.match
        await pilot.press("n")
        await _settle(pilot, lambda: view.index_of(pane.matches[pane.match]) is not None)
        assert pane.match == (first + 1) % 2
        for wanted in ("ERROR disk 5", "ERROR disk 9000"):
            while wanted not in plain(view.lines[view.index_of(view.current) or 0]):
                await pilot.press("n")
                await _settle(
                    pilot,
                    lambda: view.current is not None and view.index_of(view.current) is not None,
                )
            index = view.index_of(view.current)  # type: ignore[arg-type]
            assert index is not None
            await pilot.pause(0.1)
            assert any(wanted in row for row in _screen(view))  # scrolled into sight
            strip = view.render_line(index - round(view.scroll_y))
            assert any(
                seg.text.lower() == "error" and seg.style and seg.style.bgcolor for seg in strip
            )
        await pilot.press("N")
        assert pane.match in (0, 1)


async def test_timestamps_and_host_and_step_filters(console_app, tmp_path: Path) -> None:
    store = seed.estate(tmp_path / "store.db")
    seed.output(store, RUN, "ehr-web-stg-01", [b"one\n"], at=seed.T0 + 7400)
    seed.output(store, RUN, "ehr-web-stg-02", [b"two\n"], at=seed.T0 + 7401)
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await _open_newest_run(app, pilot)
        pane = app.query_one(LogPane)
        await _settle(pilot, lambda: sum(("one" in t or "two" in t) for t in _text(view)) == 2)
        pane.follow(RUN, "ehr-web-stg-01", "disk space")
        await _settle(
            pilot, lambda: [t for t in _text(view) if "one" in t or "two" in t] == ["│ one"]
        )
        view.focus()
        await pilot.press("o")
        await _settle(pilot, lambda: sum(("one" in t or "two" in t) for t in _text(view)) == 2)
        assert "all hosts" in str(pane.border_title)
        await pilot.press("t")
        stamp = time.strftime("%H:%M:%S", time.localtime(seed.T0 + 7401))
        await _settle(pilot, lambda: any(t.startswith(stamp) and "two" in t for t in _text(view)))
    assert len(SQLiteStore(tmp_path / "store.db").read(RUN, kinds=("output",))) == 2


async def test_text_a_host_hides_by_its_colours_is_readable_in_the_pane(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    first = b"\x1b[8mconcealed\x1b[0m \x1b[30;40mblack\x1b[0m \x1b[31m\x1b[4"  # ends mid-sequence
    then = b"1mred\x1b[0m \x1b[7;38;2;0;0;0;48;2;0;0;1mtrue\x1b[0m \x1b[90;100mgrey\x1b[0m\n"
    seed.output(store, RUN, "ehr-web-stg-02", [first, then])
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await _open_newest_run(app, pilot)
        await _settle(pilot, lambda: any("grey" in line for line in view.lines))
        await pilot.pause(0.1)
        shown = "\n".join(_screen(view))
        assert (
            "ehr-web-stg-02 disk space │ concealed black" in shown
        )  # the pause between chunks ends a line
        assert "ehr-web-stg-02 disk space │ red true grey" in shown
        for word in ("concealed", "red"):
            line = next(i for i, text in enumerate(view.lines) if word in text)
            for seg in view.render_line(line - round(view.scroll_y)):
                style = seg.style
                assert style is not None and not style.conceal, seg
                if style.color is not None and style.bgcolor is not None:
                    fg = style.color.get_truecolor(foreground=True)
                    assert fg != style.bgcolor.get_truecolor(foreground=False), seg


async def test_a_colour_that_vanishes_into_the_panes_own_background_is_dropped(
    console_app, tmp_path: Path
) -> None:
    from console.sgr import indistinct, truecolour

    store = seed.estate(tmp_path / "store.db")
    dark = b"\x1b[38;2;30;33;38mnear-background\x1b[0m \x1b[31mred stays\x1b[0m\n"
    seed.output(store, RUN, "ehr-web-stg-02", [dark])
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await _open_newest_run(app, pilot)
        await _settle(pilot, lambda: any("red stays" in line for line in view.lines))
        back = view.rich_style.bgcolor.get_truecolor(foreground=False)
        line = next(i for i, text in enumerate(view.lines) if "near-background" in text)
        colours = {}
        for seg in view.render_line(line - round(view.scroll_y)):
            if seg.text.strip() and seg.style is not None and seg.style.color is not None:
                colours[seg.text.strip()] = seg.style.color.get_truecolor(foreground=True)
        assert not indistinct(truecolour(*colours["near-background"]), truecolour(*back))
        assert colours["red stays"] != colours["near-background"]  # other colours are kept


async def test_a_step_that_failed_before_any_output_says_why(console_app, tmp_path: Path) -> None:
    """Unreachable, refused or missing a file: nothing was printed, and the console still says
    what happened, in the cell's output and in the line under the matrix."""
    from textual.widgets import Static

    from console import events as ev

    store = seed.estate(tmp_path / "store.db")
    run = "20261117-120000-eeee"
    seed.launch(store, run, seed.T0 + 9000)
    why = "cannot reach ehr-web-stg-02 at 10.20.1.12:22: connection refused"
    store.append(
        [
            ev.StepStarted(
                run_id=run,
                at=seed.T0 + 9001,
                stage="preflight",
                step="disk space",
                host="ehr-web-stg-02",
            ),
            ev.StepFinished(
                run_id=run,
                at=seed.T0 + 9002,
                stage="preflight",
                step="disk space",
                host="ehr-web-stg-02",
                status="unreachable",
                message=why,
            ),
        ]
    )
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(pilot, lambda: run in app.runs)
        app.show_run(run)
        matrix = app.query_one(RunMatrix)
        await _settle(pilot, lambda: matrix.row_count == 2)
        matrix.focus()
        matrix.move_cursor(row=matrix.get_row_index("ehr-web-stg-02"), column=1)
        view = app.query_one(LogView)
        await _settle(pilot, lambda: any(why in line for line in _text(view)))
        assert any("✗ unreachable: " + why in line for line in _text(view))
        detail = str(app.query_one("#cell-detail", Static).render())
        assert (
            "ehr-web-stg-02 · preflight › disk space: ⚡ unreachable after 1.0s — " + why in detail
        )


async def test_the_output_pane_names_steps_lines_up_hosts_and_says_why_it_is_empty(
    console_app, tmp_path: Path
) -> None:
    store = seed.estate(tmp_path / "store.db")
    seed.output(store, RUN, "ehr-web-stg-02", [b"from two\n"])
    app = console_app()
    async with app.run_test(size=(160, 48)) as pilot:
        view = await _open_newest_run(app, pilot)
        await _settle(pilot, lambda: any("from two" in line for line in view.lines))
        assert any(line.startswith("ehr-web-stg-02 disk space │ from two") for line in _text(view))
        matrix = app.query_one(RunMatrix)
        matrix.focus()
        matrix.move_cursor(row=matrix.get_row_index("ehr-web-stg-01"), column=3)  # pending
        await _settle(pilot, lambda: "has not started" in _screen(view)[0])
        matrix.move_cursor(row=matrix.get_row_index("ehr-web-stg-01"), column=2)  # the gate
        await _settle(pilot, lambda: "waits for decisions" in _screen(view)[0])
