"""Turn pydantic and TOML errors into located, readable problems with did-you-mean hints."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from console.errors import Problem
from console.model.base import ADDRESS_PATTERN, LOGIN_PATTERN, NAME_PATTERN
from console.model.locate import KeyLocator


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix when a close match exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def path_text(loc: Sequence[str | int]) -> str:
    """Render a key path as it would be written in TOML, e.g. stages[1].steps[0].run."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def syntax_problem(file: str, exc: Exception) -> Problem:
    """A TOML syntax error, with the line tomllib reported."""
    text = str(exc)
    match = re.search(r"\(at line (\d+), column \d+\)", text)
    line = int(match.group(1)) if match else None
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", text)
    return Problem(
        file, line, "", f"this is not valid TOML: {message}; fix the syntax on that line"
    )


def validation_problems(
    file: str, error: ValidationError, model: type[BaseModel], locator: KeyLocator
) -> list[Problem]:
    """One problem per pydantic error, located in the file and phrased for a person."""
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        problems.append(Problem(file, locator.line_of(loc), path_text(loc), _message(item, model)))
    return problems


def _message(item: Any, model: type[BaseModel]) -> str:
    loc = tuple(item["loc"])
    kind = item["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        fields = _fields_at(model, loc[:-1])
        hint = did_you_mean(key, fields)
        known = "" if hint else f"; the keys allowed here are {', '.join(sorted(fields))}"
        return f"unknown key '{key}'{hint or known}"
    if kind == "missing":
        return f"'{loc[-1]}' is required here"
    if kind == "string_pattern_mismatch":
        pattern = item.get("ctx", {}).get("pattern", "")
        return _PATTERNS.get(pattern, f"'{item['input']}' has characters not allowed here")
    message = str(item["msg"])
    return message.removeprefix("Value error, ")


_PATTERNS = {
    NAME_PATTERN: "a name holds only letters, digits, '.', '_' and '-', and starts with a letter or digit",
    ADDRESS_PATTERN: "an address is a host name or IP address: letters, digits, '.', ':', '%', '_' "
    "and '-', starting with a letter or digit",
    LOGIN_PATTERN: "an account name holds only letters, digits, '.', '_' and '-', and does not start with '-' or '.'",
}


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    annotation: Any = model
    for part in loc:
        cls = _model_in(annotation)
        if isinstance(part, int) or cls is None:
            annotation = _inner(annotation)
            continue
        field = cls.model_fields.get(str(part))
        annotation = field.annotation if field else _inner(annotation)
    cls = _model_in(annotation)
    return list(cls.model_fields) if cls else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _inner(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return _inner(args[0]) if args else annotation
    return args[-1] if args else annotation
