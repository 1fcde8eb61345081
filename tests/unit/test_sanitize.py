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


@given(st.binary())
def test_no_byte_string_can_emit_a_control_other_than_sgr_tab_newline(data: bytes) -> None:
    text = sanitize(data, keep_colour=False)
    assert "\x1b" not in text
    assert not any(ord(c) < 0x20 and c not in "\t\n" for c in text)
    assert not any(0x80 <= ord(c) <= 0x9F for c in text)
