"""Read the inventory and pipeline files into validated models, or every problem at once."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from console.errors import ConfigError, Problem
from console.model.config import Config, PipelineFile, SourceFile
from console.model.inventory import Inventory
from console.model.locate import KeyLocator
from console.model.pipeline import Pipeline
from console.model.problems import syntax_problem, validation_problems
from console.model.trust import untrusted

M = TypeVar("M", bound=BaseModel)

_TOO_DEEP = (
    "this file nests tables or arrays too deeply to read; no inventory or pipeline needs that"
)


def parse_model(source: SourceFile, model: type[M], problems: list[Problem]) -> M | None:
    """Parse one TOML source into a model, appending problems instead of raising."""
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(syntax_problem(str(source.path), exc))
        return None
    except RecursionError:
        problems.append(Problem(str(source.path), None, "", _TOO_DEEP))
        return None
    except ValueError as exc:  # an integer of thousands of digits, refused by int()
        problems.append(Problem(str(source.path), None, "", f"this is not usable TOML: {exc}"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_problems(str(source.path), exc, model, source.locator))
        return None


def pipeline_from_text(path: Path, text: str) -> PipelineFile:
    """A pipeline from text kept elsewhere (the store keeps each run's), as if read from `path`."""
    data = text.encode()
    source = SourceFile(path, text, hashlib.sha256(data).hexdigest(), KeyLocator(text))
    problems: list[Problem] = []
    pipeline = parse_model(source, Pipeline, problems)
    if pipeline is None:
        raise ConfigError(problems)
    return PipelineFile(pipeline, source)


def _read(path: Path, what: str, hint: str, problems: list[Problem]) -> SourceFile | None:
    why = untrusted(path)
    if why:
        problems.append(Problem(str(path), None, "", f"{what} is refused: {why}"))
        return None
    try:
        return SourceFile.read(path)
    except FileNotFoundError:
        problems.append(Problem(str(path), None, "", f"{what} does not exist; {hint}"))
    except OSError as exc:
        problems.append(Problem(str(path), None, "", f"{what} cannot be read ({exc.strerror})"))
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                str(path),
                line,
                "",
                f"{what} is not UTF-8 text (byte {exc.start}); save it as UTF-8",
            )
        )
    return None


def load_config(inventory_path: Path, pipelines_dir: Path | None = None) -> Config:
    """Load and cross-check the inventory and every pipeline; raise ConfigError listing all problems."""
    from console.model.validate import check_config

    problems: list[Problem] = []
    hint = "pass --inventory PATH or set OPSCONSOLE_INVENTORY"
    source = _read(inventory_path, "the inventory file", hint, problems)
    inventory = parse_model(source, Inventory, problems) if source else None
    if source is None or inventory is None:
        raise ConfigError(problems)
    folder = pipelines_dir or (source.path.parent / inventory.inventory.pipelines)
    pipelines = _load_pipelines(folder, problems)
    config = Config(inventory, source, pipelines)
    problems.extend(check_config(config))
    if problems:
        raise ConfigError(problems)
    return config


def _load_pipelines(folder: Path, problems: list[Problem]) -> dict[str, PipelineFile]:
    if not folder.is_dir():
        hint = "set [inventory] pipelines, pass --pipelines PATH or set OPSCONSOLE_PIPELINES"
        problems.append(
            Problem(str(folder), None, "", f"the pipelines folder does not exist; {hint}")
        )
        return {}
    found: dict[str, PipelineFile] = {}
    for path in sorted(folder.glob("*.toml")):
        source = _read(path, "the pipeline file", "", problems)
        pipeline = parse_model(source, Pipeline, problems) if source else None
        if source is None or pipeline is None:
            continue
        if pipeline.name in found:
            other = found[pipeline.name].source.path.name
            problems.append(
                Problem(
                    str(path),
                    source.line_of("name"),
                    "name",
                    f"pipeline '{pipeline.name}' is also defined in {other}; names must be unique",
                )
            )
            continue
        found[pipeline.name] = PipelineFile(pipeline, source)
    return found
