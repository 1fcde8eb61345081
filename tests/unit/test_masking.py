"""Masking secrets in a stream of output, whatever the chunks and however the host encodes them."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from console.masking import Masker, Masks, forms, mask

SECRET = "s3cr3t/p@ss\nline-two"
MASK = b"<secret db masked>"


def _through(chunks: list[bytes], secret: str = SECRET) -> bytes:
    masker = Masker(Masks.of(forms("db", secret)))
    return b"".join(masker.feed(c) for c in chunks) + masker.finish()


def _cut(text: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(text)) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


def test_a_secret_cut_anywhere_between_chunks_is_still_masked() -> None:
    text = b"before " + SECRET.encode() + b" after\n"
    for cut in range(1, len(text)):
        out = _through([text[:cut], text[cut:]])
        assert SECRET.encode() not in out and MASK in out
        assert out.startswith(b"before ") and out.endswith(b" after\n")


def test_byte_by_byte_and_every_spelling() -> None:
    for spelling in (
        SECRET.encode(),
        base64.b64encode(SECRET.encode()),
        SECRET.encode().hex().upper().encode(),
        b"line-two",
    ):
        text = b"x=" + spelling + b";"
        out = _through([bytes([b]) for b in text])
        assert spelling not in out and out.startswith(b"x=") and out.endswith(b";")


@settings(max_examples=200, deadline=None)
@given(
    before=st.binary(max_size=30),
    after=st.binary(max_size=30),
    cuts=st.lists(st.integers(0, 80), max_size=4),
)
def test_text_without_the_secret_passes_unchanged_and_with_it_never_leaks(
    before: bytes, after: bytes, cuts: list[int]
) -> None:
    text = before + SECRET.encode() + after
    assert SECRET.encode() not in _through(_cut(text, cuts))
    plain = before + after
    if mask(plain, forms("db", SECRET)) == plain:
        assert _through(_cut(plain, cuts)) == plain


# How hosts encode bytes, as the tools print them (checked against the tools themselves below).


def _base64(width: int = 0, eol: bytes = b"\n", urlsafe: bool = False) -> Callable[[bytes], bytes]:
    def encode(data: bytes) -> bytes:
        text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data)
        if not width:
            return text + eol
        return b"".join(text[at : at + width] + eol for at in range(0, len(text), width))

    return encode


def _hex(data: bytes) -> bytes:
    return data.hex().encode() + b"\n"


def _hex_upper(data: bytes) -> bytes:
    return data.hex().upper().encode() + b"\n"


def _xxd_plain(data: bytes) -> bytes:
    text = data.hex()
    return "".join(text[at : at + 60] + "\n" for at in range(0, len(text), 60)).encode()


def _shown(line: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in line)


def _lines(data: bytes) -> list[tuple[int, bytes]]:
    return [(at, data[at : at + 16]) for at in range(0, len(data), 16)]


def _xxd(data: bytes) -> bytes:
    rows = []
    for at, line in _lines(data):
        groups = " ".join(line[i : i + 2].hex() for i in range(0, len(line), 2))
        rows.append(f"{at:08x}: {groups:<39}  {_shown(line)}\n")
    return "".join(rows).encode()


def _hexdump(data: bytes) -> bytes:
    rows = []
    for at, line in _lines(data):
        area = "".join(f"{b:02x} " + (" " if i == 7 else "") for i, b in enumerate(line))
        rows.append(f"{at:08x}  {area:<49} |{_shown(line)}|\n")
    return ("".join(rows) + f"{len(data):08x}\n").encode()


def _od(offsets: bool) -> Callable[[bytes], bytes]:
    def encode(data: bytes) -> bytes:
        rows = [
            (f"{at:07o}" if offsets else "") + "".join(f" {b:02x}" for b in line) + "\n"
            for at, line in _lines(data)
        ]
        return ("".join(rows) + (f"{len(data):07o}\n" if offsets else "")).encode()

    return encode


BASE64 = {
    "base64": _base64(),
    "base64 url-safe": _base64(urlsafe=True),
    "base64 -w 76": _base64(76),
    "PEM (64)": _base64(64),
    "base64 -w 76, CRLF": _base64(76, b"\r\n"),
    "PEM (64), CRLF": _base64(64, b"\r\n"),
    "url-safe, 76": _base64(76, urlsafe=True),
}
HEX = {
    "hex": _hex,
    "HEX": _hex_upper,
    "xxd -p": _xxd_plain,
    "xxd": _xxd,
    "hexdump -C": _hexdump,
    "od -An -tx1": _od(offsets=False),
    "od -tx1": _od(offsets=True),
}
TOOLS = {
    "base64": ["base64", "-w", "0"],
    "base64 -w 76": ["base64", "-w", "76"],
    "PEM (64)": ["base64", "-w", "64"],
    "xxd -p": ["xxd", "-p"],
    "xxd": ["xxd"],
    "hexdump -C": ["hexdump", "-C"],
    "od -An -tx1": ["od", "-An", "-tx1"],
    "od -tx1": ["od", "-tx1"],
}
COLUMNS = {"xxd", "hexdump -C"}
"""The dumps with a column that shows the bytes as characters."""


@pytest.mark.parametrize("name", TOOLS)
def test_the_encoders_here_print_as_the_tools_do(name: str) -> None:
    if shutil.which(TOOLS[name][0]) is None:
        pytest.skip(f"{TOOLS[name][0]} is not installed")
    data = bytes(range(256)) + b"user:pa55-w/rd&z%9!xyzzy\n" * 3
    printed = subprocess.run(TOOLS[name], input=data, capture_output=True, check=True).stdout
    expected = {**BASE64, **HEX}[name](data)
    assert printed == (expected.removesuffix(b"\n") if name == "base64" else expected)


# What "cannot be recovered" means, worked out here apart from the code under test.


def _cores(raw: bytes) -> set[bytes]:
    """For each offset of `raw` in a base64 stream, the characters its bits alone decide (either
    alphabet): decoding the stream gives back `raw` only where all of them are there."""
    found = set()
    for offset in range(3):
        text = base64.b64encode(bytes(offset) + raw)
        core = text[-(-8 * offset // 6) : 8 * (offset + len(raw)) // 6]
        found |= {core, core.translate(bytes.maketrans(b"+/", b"-_"))}
    return found


def _hex_digits(out: bytes, name: str) -> bytes:
    """The hex digits a reader of this dump would take for data: offsets and the characters
    column left out, and a mask standing between the digits on either side of it."""
    digits = []
    for line in out.replace(MASK, b"|").split(b"\n"):
        if name in ("xxd", "hexdump -C", "od -tx1"):
            line = re.sub(rb"^[0-9a-f]{7,8}:? ?", b"", line)
        if name in COLUMNS:
            line = re.split(rb" {2}(?=[^ 0-9a-f])| {2}\|", line)[0]
        digits.append(re.sub(rb"[^0-9a-fA-F|]", b"", line).lower())
    return b"".join(digits)


def _lines_showing(raw: bytes, start: int) -> set[int]:
    """The dump lines (16 bytes each) that show some byte of `raw`, put at `start`."""
    return set(range(start // 16, (start + len(raw) - 1) // 16 + 1))


def _assert_unrecoverable(out: bytes, raw: bytes, name: str, start: int, lines: int) -> None:
    """What a reader of the masked output must not get back, and why that is enough:

    - the secret's bytes as they are;
    - base64: no core of the secret (three offsets, two alphabets) in the output with its line
      breaks taken out. Decoding a stream at any offset gives the secret's bytes only where every
      character those bytes alone decide is there, so no decoding of the output gives them;
    - hex: the digits a reader takes for data (offsets and columns out, a mask standing between
      the digits on either side of it) do not spell the secret's hex, in either case;
    - every dump line that shows a byte of the secret ends in a mask. Masks keep line breaks,
      so output line i is printed line i; ending in a mask, it shows nothing of its characters
      column, where the secret itself stands, up to 16 characters a line.

    Not asserted: that no short piece of the secret shows anywhere (the bytes before it may hold
    any piece), nor that the characters a base64 core shares with the bytes around it are gone:
    the one before it (2 or 4 of the secret's first bits) is passed on if a chunk ends right
    there in text that does not look like base64. The exact test below pins them down.
    """
    assert raw not in out, "the secret as it is"
    if name in BASE64:
        flat = out.translate(None, b"\r\n")
        assert not any(core in flat for core in _cores(raw)), "base64 that decodes to the secret"
    else:
        assert raw.hex().encode() not in _hex_digits(out, name), "hex that reads as the secret"
    assert out.count(b"\n") == lines, "masks keep a dump's lines"
    if name in COLUMNS:
        rows = out.split(b"\n")
        for row in _lines_showing(raw, start):
            assert rows[row].endswith(MASK), f"dump line {row} shows part of the secret"


SECRETS = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=3, max_size=40),
    st.binary(min_size=3, max_size=60).map(lambda b: b.decode("latin-1")),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=3, max_size=20),
)


@settings(max_examples=400, deadline=None)
@given(
    secret=SECRETS,
    prefix=st.binary(max_size=100),
    suffix=st.binary(max_size=20),
    name=st.sampled_from(sorted({**BASE64, **HEX})),
    cuts=st.lists(st.integers(0, 1200), max_size=8),
)
def test_a_secret_cannot_be_recovered_however_it_is_encoded_and_cut(
    secret: str, prefix: bytes, suffix: bytes, name: str, cuts: list[int]
) -> None:
    raw = secret.encode()
    printed = {**BASE64, **HEX}[name](prefix + raw + suffix)
    out = _through(_cut(printed, cuts), secret)
    _assert_unrecoverable(out, raw, name, len(prefix), printed.count(b"\n"))


TEXT = st.lists(
    st.sampled_from(["0", "1", "7", "a", "f", "A", "Z", "z", "+", "/", "=", " ", "  ", ":", "|"])
    | st.sampled_from(["\n", "\r\n", "00000010: ", "0000020 ", "cGE1", "NS13", "7061", "70 61"]),
    max_size=60,
).map(lambda parts: "".join(parts).encode())


@settings(max_examples=400, deadline=None)
@given(text=TEXT, cuts=st.lists(st.integers(0, 200), max_size=8))
def test_text_in_which_no_secret_is_found_passes_unchanged_whatever_the_chunks(
    text: bytes, cuts: list[int]
) -> None:
    secret = "pa55-w/rd&z%9!xyzzy"  # its base64 begins cGE1 and NS13 (offset 1), its hex 7061
    assume(mask(text, forms("db", secret)) == text)
    assert _through(_cut(text, cuts), secret) == text


def test_everyday_output_and_other_encoded_data_pass_unchanged() -> None:
    other = b"some other file's content, nothing secret in it\n" * 5
    printed = [
        b"2026-11-28T09:00:05Z web-042 deploy: copied 1,204 files to /srv/ehr/releases/4.2.0\n",
        *(encode(other) for encode in {**BASE64, **HEX}.values()),
        b"Authorization: Basic " + base64.b64encode(b"user:other") + b"\n",
    ]
    for text in printed:
        assert _through([text], "pa55-w/rd&z%9!xyzzy") == text
        assert _through(text.splitlines(keepends=True), "pa55-w/rd&z%9!xyzzy") == text


@pytest.mark.parametrize("encode", sorted(BASE64))
@pytest.mark.parametrize("size", [3, 4, 5, 19, 50])
def test_every_base64_character_that_carries_secret_bits_is_masked(encode: str, size: int) -> None:
    raw = bytes(range(0x21, 0x21 + size))
    for before in range(7):
        prefix = b"user:ab"[:before]
        printed = BASE64[encode](prefix + raw + b"!" * 40)
        flat = printed.translate(None, b"\r\n").replace(b"=", b"")
        first, end = 8 * len(prefix) // 6, -(-8 * (len(prefix) + size) // 6)
        for chunks in ([printed], printed.splitlines(keepends=True)):
            out = _through(chunks, raw.decode()).translate(None, b"\r\n").replace(b"=", b"")
            kept = re.sub(b"(?:" + re.escape(MASK) + b")+", MASK, out).split(MASK)
            assert kept == [flat[:first], flat[end:]], (before, len(chunks))


@pytest.mark.parametrize("name", sorted(HEX))
def test_a_dump_is_masked_from_the_secret_s_first_digit_on(name: str) -> None:
    secret = "pa55-w/rd&z%9!xyzzy"
    for before in (0, 5, 13, 15, 16, 31):
        prefix = bytes(range(0x41, 0x41 + before))
        printed = HEX[name](prefix + secret.encode() + b" and the rest of the file\n")
        out = _through([printed], secret)
        _assert_unrecoverable(out, secret.encode(), name, before, printed.count(b"\n"))
        assert _hex_digits(out, name).startswith(prefix.hex().encode() + b"|")
        assert _through(printed.splitlines(keepends=True), secret) == out


def test_http_basic_credentials_are_masked_whatever_the_user_name() -> None:
    secret = "pa55-w/rd&z%9!xyzzy"
    for user in ("a", "ab", "abc", "deploy", "x" * 40):
        header = b"Authorization: Basic " + base64.b64encode(f"{user}:{secret}".encode()) + b"\n"
        out = _through([header], secret)
        assert out.startswith(b"Authorization: Basic ") and MASK in out
        _assert_unrecoverable(out, secret.encode(), "base64", 0, 1)


def test_a_tail_waits_only_while_it_could_still_begin_a_secret() -> None:
    secret = "pa55-w/rd&z%9!xyzzy"
    masker = Masker(Masks.of(forms("db", secret)))
    for line in (b"copied 1,204 files\n", b"progress 70%", b"waiting for the lock", b"12:30 70\n"):
        assert masker.feed(line) == line
    assert masker.feed(b"token: 7061 35") == b"token: "  # the secret's hex, begun
    assert masker.feed(b"99\n") == b"7061 3599\n"
    first, second = _xxd(b"AB" + secret.encode() + b"\n").splitlines(keepends=True)
    column = first.index(b"  AB")
    assert masker.feed(first[:column]) == b"00000000: 4142 "
    assert masker.feed(first[column:]) == b""  # it may go on on the next line
    assert masker.feed(second) == MASK + b"\n" + MASK + b"\n"
    # A line of wrapped base64 keeps its last character back: it may share bits with a secret
    # that begins on the next line.
    assert masker.feed(b"QUJDREVGR0hJSktMTU5PUFFS\n") == b"QUJDREVGR0hJSktMTU5PUFF"
    assert masker.feed(b"done\n") == b"S\ndone\n"
    assert masker.finish() == b""
