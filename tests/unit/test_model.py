"""Durations, templates, params, target patterns and the key locator."""

from __future__ import annotations

import shlex
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.durations import format_duration, parse_duration
from console.model import resolve
from console.model.inventory import Inventory
from console.model.locate import KeyLocator
from console.model.params import ParamError, parse_assignments, resolve_params
from console.model.pipeline import Pipeline
from console.model.templates import quoted_templates, render_shell, unknown_names


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10),
        ("2m", 120),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("4h", 14400),
        (3, 3.0),
        ("1d", 86400),
    ],
)
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "10", "5 minutes", "m", "-1s", "1x"])
def test_bad_durations_say_how_to_write_one(bad) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0.42, 12, 185, 7800, None)] == [
        "0.4s",
        "12s",
        "3m05s",
        "2h10m",
        "-",
    ]


def test_templates_are_shell_quoted() -> None:
    command = render_shell(
        "echo {{ v }} > {{ vars.dir }}/x", {"v": "a b; rm -rf /", "vars.dir": "/tmp/d"}
    )
    assert shlex.split(command) == ["echo", "a b; rm -rf /", ">", "/tmp/d/x"]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_value_reaches_the_shell_as_one_literal_word(value: str) -> None:
    command = render_shell("printf '%s' {{ v }}", {"v": value})
    out = subprocess.run(["sh", "-c", command], capture_output=True).stdout
    assert out == value.encode()


def test_unknown_and_quoted_template_names() -> None:
    assert unknown_names(
        "{{ a }} {{ host.name }} {{ vars.x }} {{ vars.y }} {{ b }}", {"a"}, {"x"}
    ) == ["vars.y", "b"]
    assert quoted_templates("echo '{{ a }}' \"x{{ b }}\" {{ c }} \\'{{ d }}") == [
        "{{ a }}",
        "{{ b }}",
    ]


PIPE = Pipeline.model_validate(
    {
        "name": "p",
        "targets": ["web"],
        "params": {
            "version": {"pattern": "^[0-9.]+$", "required": True},
            "n": {"type": "int", "min": 1, "max": 5, "default": 2},
            "dry": {"type": "bool", "default": False},
            "env": {"type": "choice", "choices": ["blue", "green"], "default": "blue"},
        },
        "stages": [{"name": "s", "steps": [{"name": "x", "run": "true"}]}],
    }
)


def test_params_are_typed_and_defaulted() -> None:
    assert resolve_params(PIPE, {"version": "1.2", "n": "4", "dry": "yes"}) == {
        "version": "1.2",
        "n": 4,
        "dry": True,
        "env": "blue",
    }


def test_param_errors_are_all_reported() -> None:
    with pytest.raises(ParamError) as caught:
        resolve_params(PIPE, {"n": "9", "dry": "maybe", "env": "gren", "verison": "1"})
    text = str(caught.value)
    assert "no param 'verison'; did you mean 'version'?" in text
    assert "param 'version' is required" in text
    assert "at most 5" in text and "write true or false" in text
    assert "must be one of blue, green, not 'gren'; did you mean 'green'?" in text


def test_assignments() -> None:
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(Exception, match="NAME=VALUE"):
        parse_assignments(["nope"])


INV = Inventory.model_validate(
    {
        "inventory": {"name": "t"},
        "environments": {"prod": {}},
        "groups": {
            "ehr": {"children": ["web"], "vars": {"a": 1, "b": 1}},
            "web": {"vars": {"b": 2}},
            "prod": {"environment": "prod"},
        },
        "hosts": {
            "w1": {
                "address": "x",
                "groups": ["web", "prod"],
                "labels": {"tier": "web"},
                "vars": {"c": 3},
            },
            "w2": {"address": "y", "groups": ["web"]},
            "db": {"address": "z", "labels": {"tier": "db"}},
        },
    }
)


def test_nested_groups_vars_labels_and_globs() -> None:
    assert resolve.select(INV, ["ehr"]) == ["w1", "w2"]
    assert resolve.select(INV, ["tier=db"]) == ["db"]
    assert resolve.select(INV, ["w*"]) == ["w1", "w2"]
    assert resolve.host_vars(INV, "w1") == {"a": 1, "b": 2, "c": 3}
    assert resolve.host_environment(INV, "w1") == "prod"
    assert resolve.host_environment(INV, "w2") is None


def test_locator_handles_arrays_of_tables_and_inline_tables() -> None:
    text = (
        'name = "x"\n[[stages]]\nname = "a"\n  [[stages.steps]]\n  name = "s1"\n'
        '[[stages]]\nname = "b"\n  [[stages.steps]]\n  run = """\nx = 1\n"""\n'
        '  [[stages.steps]]\n  upload = { src = "a", dest = "b" }\n'
    )
    loc = KeyLocator(text)
    assert loc.line_of(("stages", 1, "steps", 0, "run")) == 9
    assert loc.line_of(("stages", 1, "steps", 1, "upload", "dest")) == 13
    assert loc.line_of(("stages", 1, "steps", 0, "x")) == 8
    assert loc.line_of(("nothing",)) is None
