"""Display lines: a line that never ends is shown once, cut with a mark, whatever its pieces."""

from __future__ import annotations

from console import events as ev
from console.render.display import MAX_LINE, DisplayLines, cut_mark
from console.render.labelled import LabelledOutput

PIECE = 65536


def test_a_hundred_megabyte_line_in_pieces_is_one_cut_line_then_the_next_line() -> None:
    stream = DisplayLines()
    shown: list[str] = []
    piece = b"a" * PIECE
    for _ in range(100_000_000 // PIECE):
        shown += stream.feed(piece)
    shown += stream.feed(b"a\xff\xfetail\nnext line\n")
    assert shown == [cut_mark(MAX_LINE) + "a" * MAX_LINE + "\x1b[0m…", "next line"]


def test_pieces_of_a_line_share_one_cap_and_the_newline_opens_a_new_line() -> None:
    stream = DisplayLines(keep_colour=False, limit=10)
    assert stream.feed(b"abcdef") == ["abcdef"]  # a pause in a line shows what came
    assert stream.feed(b"ghijkl") == [cut_mark(10) + "ghij…"]
    assert stream.feed(b"mnop") == []
    assert stream.feed(b"qr\nshort\n") == ["short"]


def test_invalid_utf_8_is_shown_as_replacement_characters() -> None:
    assert DisplayLines().feed(b"x\xff\xfey\n") == ["x\ufffd\ufffdy"]


def test_a_cut_never_leaves_half_a_colour_sequence() -> None:
    stream = DisplayLines(limit=6)
    [line] = stream.feed(b"abc\x1b[31mred\n")
    assert line == cut_mark(6) + "abc\x1b[0m…"


def test_without_a_cap_every_character_is_kept() -> None:
    stream = DisplayLines(limit=None)
    assert stream.feed(b"x" * 9000 + b"\n") == ["x" * 9000]


def test_labelled_output_cuts_for_a_terminal_and_keeps_all_for_a_file() -> None:
    event = ev.Output(
        run_id="r", at=0.0, stage="s", step="st", host="h1", stream="stdout", data=b"y" * 5001
    )
    [cut] = LabelledOutput(colour=False).lines(event)
    [whole] = LabelledOutput(colour=False, cap=False).lines(event)
    assert cut.startswith("h1 st| " + cut_mark(MAX_LINE)) and cut.count("y") == MAX_LINE
    assert whole.endswith("y" * 5001)


def test_what_a_cut_line_hides_after_the_cut_never_reaches_the_screen() -> None:
    stream = DisplayLines(limit=4)
    assert stream.feed(b"abcdefgh") == [cut_mark(4) + "abcd\x1b[0m…"]
    assert stream.feed(b"\x1b]52;c;c2VjcmV0") == []  # a clipboard write begins past the cut
    assert stream.feed(b"\x07 more\n\x1b[2Jnext\n") == ["next"]
