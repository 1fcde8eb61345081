"""Byte counts as people read them."""

from __future__ import annotations


def size_text(size: int) -> str:
    """A byte count as people read it: 3.2 GiB, 512.0 KiB, 12 B."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
