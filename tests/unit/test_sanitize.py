"""Remote output cannot control the operator's terminal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.color import Color

from console.sanitize import Sanitizer, printable, sanitize
from console.sgr import indistinct


def test_colours_pass_and_everything_else_is_removed() -> None:
    raw = b"\x1b[1;31mred\x1b[0m \x1b]0;title\x07\x1b]52;c;ZXZpbA==\x1b\\\x1b[2J\x1b[1Adone\x07"
    assert sanitize(raw) == "\x1b[1;31mred\x1b[0m done␇"
    assert sanitize(raw, keep_colour=False) == "red done␇"


def test_carriage_returns_are_visible_unless_part_of_crlf() -> None:
    assert sanitize(b"secret\rpublic\r\nnext") == "secret␍public\nnext"


def test_c1_controls_raw_and_utf8_encoded() -> None:
    assert sanitize("a\u009b2Jb\u009d0;t\u009cc".encode()) == "abc"


def test_state_carries_across_chunks() -> None:
    cleaner = Sanitizer()
    parts = [
        cleaner.feed(p)
        for p in (b"x\x1b]5", b"2;c;AAAA", b"\x07y\x1b", b"[31mz", b"\xe2\x82", b"\xac")
    ]
    assert "".join(parts) == "xy\x1b[31mz€"


def test_hyperlinks_show_their_target_and_bidi_is_escaped() -> None:
    assert sanitize(b"\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\") == "<http://evil> click"
    assert printable("abc\u202edef") == "abc<U+202E>def"
    assert printable("[link=x]y[/]") == "[link=x]y[/]"


def test_title_reports_overwrites_and_backspaces_are_never_obeyed() -> None:
    assert sanitize(b"a\x1b[21tb\x1b]2;owned\x1b\\c") == "abc"
    assert sanitize(b"rm -rf /\x1b[1A\x1b[2K\x1b[1Gls") == "rm -rf /ls"
    assert sanitize(b"safe\x08\x08\x08\x08evil") == "safe␈␈␈␈evil"
    assert sanitize(b"bad \xff\xfe bytes") == "bad \ufffd\ufffd bytes"


def test_an_endless_control_string_is_capped_and_what_follows_is_shown() -> None:
    for opener in (b"\x1bP", b"\x1b_", b"\x1b]52;c;", "\u0090".encode()):
        cleaner = Sanitizer()
        shown = [cleaner.feed(opener)]
        shown += [cleaner.feed(b"A" * 65536) for _ in range(32)]  # two megabytes, no end
        shown.append(cleaner.feed(b"\nafter the flood\n"))
        text = "".join(shown)
        assert text.endswith("after the flood\n")
        assert text.startswith("␛…")


@given(st.binary())
def test_no_byte_string_can_emit_a_control_other_than_sgr_tab_newline(data: bytes) -> None:
    text = sanitize(data, keep_colour=False)
    assert "\x1b" not in text
    assert not any(ord(c) < 0x20 and c not in "\t\n" for c in text)
    assert not any(0x80 <= ord(c) <= 0x9F for c in text)


# Text the host hides from the reader (conceal, or a foreground the background swallows) is
# shown: conceal is dropped, and where the colours would collide both go back to the default.


def test_conceal_is_dropped_and_the_text_shown() -> None:
    assert sanitize(b"\x1b[8mrm -rf /\x1b[0m") == "rm -rf /\x1b[0m"
    assert sanitize(b"\x1b[1;8;31mapprove me\x1b[28m") == "\x1b[1;31mapprove me\x1b[28m"
    assert sanitize(b"\x1b[8:1mx") == "x"  # a sub-parameter does not smuggle it through
    assert sanitize(b"\x1b[38;5;8mgrey") == "\x1b[38;5;8mgrey"  # colour 8, not conceal


def test_a_foreground_the_same_as_its_background_goes_back_to_the_default() -> None:
    for params in (
        b"30;40",
        b"37;47",
        b"38;5;196;48;5;196",
        b"38;2;1;2;3;48;2;1;2;3",
        b"38:2::1:2:3;48:2::1:2:3",
        b"38:2:1:2:3;48:2:1:2:3",
        b"38:5:196;48:5:196",
    ):
        assert sanitize(b"\x1b[" + params + b"mapprove me\x1b[0m") == "approve me\x1b[0m"
    assert sanitize(b"\x1b[7;31;41mapprove me") == "\x1b[7mapprove me"  # reversed, still alike


def test_bright_and_normal_forms_of_one_colour_collide() -> None:
    for params in (b"90;100", b"30;100", b"90;40", b"38;5;8;100", b"38;5;1;41", b"1;30;100"):
        shown = sanitize(b"\x1b[" + params + b"mx")
        assert shown in ("x", "\x1b[1mx"), params


def test_near_identical_colours_collide() -> None:
    assert sanitize(b"\x1b[38;2;0;0;0;48;2;0;0;1mx") == "x"
    assert sanitize(b"\x1b[38;2;250;250;250;48;5;231mx") == "x"  # 231 is (255, 255, 255)
    assert sanitize(b"\x1b[38;5;16;40mx") == "x"  # 256-colour black on 16-colour black


def test_colours_set_in_separate_sequences_are_checked_together() -> None:
    assert sanitize(b"\x1b[31mA\x1b[41mB\x1b[0m") == "\x1b[31mA\x1b[39mB\x1b[0m"
    assert sanitize(b"\x1b[41mA\x1b[31mB\x1b[0m") == "\x1b[41mA\x1b[49mB\x1b[0m"
    assert sanitize(b"\x1b[7m\x1b[34mA\x1b[44mB") == "\x1b[7m\x1b[34mA\x1b[39mB"


def test_the_hosts_colours_come_back_when_they_no_longer_collide() -> None:
    assert sanitize(b"\x1b[31;41mA\x1b[32mB\x1b[39mC") == "A\x1b[32;41mB\x1b[39mC"
    assert sanitize(b"\x1b[31;41mA\x1b[0mB") == "A\x1b[0mB"


def test_a_hiding_sequence_split_across_chunks_is_still_caught() -> None:
    cleaner = Sanitizer()
    parts = [cleaner.feed(p) for p in (b"\x1b[3", b"0;4", b"0mrm -rf", b" /\x1b", b"[8", b"mok")]
    assert "".join(parts) == "rm -rf /ok"
    cleaner = Sanitizer()
    parts = [cleaner.feed(p) for p in (b"\x1b[38;2;9;9;9mA", b"\x1b[48;2;9;9;", b"9mB")]
    assert "".join(parts) == "\x1b[38;2;9;9;9mA\x1b[39mB"


def test_distinct_colours_pass_byte_for_byte() -> None:
    for raw in (
        b"\x1b[30;47mPASS\x1b[0m",
        b"\x1b[97;41m FAIL \x1b[m",
        b"\x1b[01;34mdir\x1b[0m",
        b"\x1b[38;5;245;48;5;16mgrey\x1b[39;49m",
        b"\x1b[38;2;248;248;242;48;2;39;40;34mcode\x1b[0m",
        b"\x1b[7;31mreversed\x1b[27m",
        b"\x1b[4:3mcurly\x1b[4:0m",
    ):
        assert sanitize(raw) == raw.decode()


def test_colon_colours_are_passed_in_the_form_every_renderer_reads_alike() -> None:
    assert sanitize(b"\x1b[38:5:196mred") == "\x1b[38;5;196mred"
    assert sanitize(b"\x1b[1;48:2::10:20:30mx") == "\x1b[1;48;2;10;20;30mx"
    assert sanitize(b"\x1b[58;5;8mx") == "x"  # underline colour: Rich reads it as blink, conceal


def test_without_colour_hidden_text_is_plain_text() -> None:
    raw = b"\x1b[8ma\x1b[30;40mb\x1b[38;2;1;2;3;48;2;1;2;3mc\x1b[31m\x1b[41md"
    assert sanitize(raw, keep_colour=False) == "abcd"


_TOKENS = st.sampled_from(
    ["", "0", "1", "2", "5", "7", "8", "27", "28", "30", "31", "37", "39", "40", "41", "47"]
    + ["49", "90", "97", "100", "101", "107", "38", "48", "38;5;1", "48;5;1", "38;5;196"]
    + ["48;5;196", "38;2;0;0;0", "48;2;0;0;1", "38:2::0:0:0", "48:2:0:0:0", "38:5:1", "58;5;8"]
    + ["38;7", "4:3", "8:1", "0:1", "38;5;300", "65567", "38;5", "48;2;1;2"]
)
_PIECES = st.one_of(
    st.lists(_TOKENS, max_size=6).map(lambda tokens: "\x1b[" + ";".join(tokens) + "m"),
    st.sampled_from(["x", "\n"]),
)


@given(st.lists(_PIECES, max_size=30), st.integers(min_value=1, max_value=7))
def test_no_sgr_stream_reaches_rich_concealed_or_with_colliding_colours(
    pieces: list[str], size: int
) -> None:
    from rich.text import Text

    raw = "".join(pieces).encode()
    cleaner = Sanitizer()
    shown = "".join(cleaner.feed(raw[i : i + size]) for i in range(0, len(raw), size))
    whole = [Text.from_ansi(shown)]  # a terminal: colours carry from line to line
    each = [Text.from_ansi(line) for line in shown.split("\n")]  # the logs pane: line by line
    for text in whole + each:
        for span in text.spans:
            style = span.style
            assert not isinstance(style, str)
            assert not style.conceal
            if style.color and style.bgcolor:
                assert not indistinct(_colour(style.color), _colour(style.bgcolor))


def _colour(colour: Color) -> int:
    """A Rich colour in the sanitizer's own encoding (-1 the default, 256 + RGB a truecolour)."""
    if colour.is_default:
        return -1
    if colour.triplet is not None and colour.number is None:
        red, green, blue = colour.triplet
        return 256 + (red << 16 | green << 8 | blue)
    assert colour.number is not None
    return colour.number
