"""The filter grammar: field terms, globs, aliases and free words."""

from __future__ import annotations

from console.query import Query

RUN = {"run": "20261117-100000-bbbb", "status": "failed", "op": "carol", "env": ["staging"]}


def test_terms_globs_aliases_and_words() -> None:
    assert Query.parse("status:failed").keeps(RUN)
    assert not Query.parse("status:ok").keeps(RUN)
    assert Query.parse("operator:car env:stag").keeps(RUN)  # part of a value, by either name
    assert Query.parse("run:*-bbbb").keeps(RUN) and not Query.parse("run:bbbb*").keeps(RUN)
    assert Query.parse("bbbb CAROL").keeps(RUN) and not Query.parse("bbbb dave").keeps(RUN)
    assert Query.parse("gate:board").keeps(RUN)  # a field this row does not have: no say
    assert Query.parse("nope:thing").words == ("nope:thing",)  # not a field: a free word
