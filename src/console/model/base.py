"""Shared pydantic building blocks for the operator's files."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

from console.durations import parse_duration

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=128)]
"""A host, group, environment, operator or param name: letters, digits, '.', '_' and '-'."""

Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written in the file as "10s", "2m", "4h" or a bare number of seconds."""

Scalar = str | int | float | bool


class Strict(BaseModel):
    """A frozen model that rejects unknown keys, so that a typo is an error and not a default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_regex(value: str | None) -> str | None:
    """Return the pattern unchanged, or raise a readable error if it does not compile."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"'{value}' is not a valid regular expression ({exc})") from None
    return value
