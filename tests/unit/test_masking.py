"""Masking secrets in a stream of output, whatever the chunks."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from console.secrets import Masker, Masks, forms

SECRET = "s3cr3t/p@ss\nline-two"


def _through(chunks: list[bytes]) -> bytes:
    masker = Masker(Masks.of(forms("db", SECRET)))
    return b"".join(masker.feed(c) for c in chunks) + masker.finish()


def test_a_secret_cut_anywhere_between_chunks_is_still_masked() -> None:
    text = b"before " + SECRET.encode() + b" after\n"
    for cut in range(1, len(text)):
        out = _through([text[:cut], text[cut:]])
        assert SECRET.encode() not in out and b"<secret db masked>" in out
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
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert SECRET.encode() not in _through(chunks)
    plain = before + after
    if not any(f.text in plain for f in forms("db", SECRET)):
        assert _through([plain]) == plain
