"""Remote output cannot control the operator's terminal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from console.sanitize import Sanitizer, printable, sanitize


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
