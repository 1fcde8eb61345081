"""Shared pydantic building blocks for the operator's files."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

from console.durations import parse_duration

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=128)]
"""A host, group, environment, operator or param name: letters, digits, '.', '_' and '-'."""

ADDRESS_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.:%_-]*$"
Address = Annotated[str, StringConstraints(pattern=ADDRESS_PATTERN, max_length=253)]
"""A host name or IP address: never starting with '-', no spaces, nothing a shell would read."""

LOGIN_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]*$"
Login = Annotated[str, StringConstraints(pattern=LOGIN_PATTERN, max_length=64)]
"""An account name on a managed host."""

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
