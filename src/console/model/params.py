"""Typed params: turning the text an operator types into checked values."""

from __future__ import annotations

import re
from collections.abc import Mapping

from console.errors import UsageError
from console.model.base import Scalar
from console.model.pipeline import Param, Pipeline
from console.model.problems import did_you_mean

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class ParamError(UsageError):
    """A param value does not fit its declaration."""


def coerce(name: str, param: Param, value: Scalar) -> Scalar:
    """Check and convert one value against its declaration, or raise ParamError saying why."""
    text = str(value).strip() if not isinstance(value, bool) else value
    if param.type == "bool":
        return _to_bool(name, text)
    if param.type == "int":
        return _to_int(name, param, value)
    assert isinstance(text, str)
    if param.type == "choice":
        if text not in (param.choices or []):
            raise ParamError(
                f"param '{name}' must be one of {', '.join(param.choices or [])}, "
                f"not '{text}'{did_you_mean(text, param.choices or [])}"
            )
        return text
    if param.pattern and not re.fullmatch(param.pattern, text):
        raise ParamError(f"param '{name}' = '{text}' does not match the pattern {param.pattern}")
    return text


def _to_bool(name: str, text: Scalar) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ParamError(f"param '{name}' is a bool; write true or false, not '{text}'")


def _to_int(name: str, param: Param, value: Scalar) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None:
        raise ParamError(f"param '{name}' is a whole number, not '{value}'")
    if param.min is not None and number < param.min:
        raise ParamError(f"param '{name}' must be at least {param.min}, not {number}")
    if param.max is not None and number > param.max:
        raise ParamError(f"param '{name}' must be at most {param.max}, not {number}")
    return number


def resolve_params(pipeline: Pipeline, given: Mapping[str, Scalar]) -> dict[str, Scalar]:
    """All params of a run: given values checked, defaults filled in, required ones present."""
    errors = []
    for name in given:
        if name not in pipeline.params:
            hint = did_you_mean(name, pipeline.params) or (
                f"; its params are {', '.join(pipeline.params)}"
                if pipeline.params
                else "; it takes none"
            )
            errors.append(f"pipeline '{pipeline.name}' has no param '{name}'{hint}")
    values: dict[str, Scalar] = {}
    for name, param in pipeline.params.items():
        try:
            if name in given:
                values[name] = coerce(name, param, given[name])
            elif param.default is not None:
                values[name] = coerce(name, param, param.default)
            elif param.required:
                errors.append(f"param '{name}' is required; pass --param {name}=VALUE")
            else:
                values[name] = (
                    ""
                    if param.type in ("string", "choice")
                    else 0
                    if param.type == "int"
                    else False
                )
        except ParamError as exc:
            errors.append(str(exc))
    if errors:
        raise ParamError("\n".join(errors))
    return values


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Parse NAME=VALUE pairs from the command line."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"'{item}' is not NAME=VALUE; write e.g. --param version=1.2.3")
        out[name.strip()] = value
    return out
