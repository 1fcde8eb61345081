"""What a person types in a filter box: `status:failed env:prod op:alice pipeline:deploy-*`
field terms (a `*` or `?` makes a glob) and free words, all of which must match.

One grammar for the runs, the pipelines, the gates and the audit trail; each list says which
fields it has, and a term for a field a list does not have leaves that list alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

ALIASES = {"environment": "env", "operator": "op", "actor": "op", "by": "op", "id": "run"}
"""Other names people type for a field."""
FIELDS = ("run", "status", "env", "op", "pipeline", "gate", "action", "date")
"""Every field a filter term may name."""

Fields = Mapping[str, str | Sequence[str]]
"""A row's fields: each a value, or several (a run's environments)."""


@dataclass(frozen=True)
class Query:
    """A filter box's text, taken apart."""

    terms: dict[str, str]
    words: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Query:
        """Field terms (`name:value`, a known field) and free words, lower-cased."""
        terms: dict[str, str] = {}
        words: list[str] = []
        for token in text.lower().split():
            key, _, value = token.partition(":")
            key = ALIASES.get(key, key)
            if key in FIELDS and value:
                terms[key] = value
            else:
                words.append(token)
        return cls(terms, tuple(words))

    def keeps(self, fields: Fields, text: str = "") -> bool:
        """Whether a row matches every term for a field it has, and every free word somewhere
        in its fields or in `text`."""
        for key, wanted in self.terms.items():
            if key in fields and not any(_matches(v, wanted) for v in _values(fields[key])):
                return False
        everything = " ".join([*(" ".join(_values(v)) for v in fields.values()), text]).lower()
        return all(word in everything for word in self.words)


def _values(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _matches(value: str, wanted: str) -> bool:
    """A glob matches the whole value; plain text matches any part of it."""
    value = value.lower()
    if any(c in wanted for c in "*?["):
        return fnmatchcase(value, wanted)
    return wanted in value
