"""Pipelines: typed params and stages of steps run on target hosts."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from console.model.base import Duration, Name, Scalar, Strict, check_regex

STEP_KINDS = ("run", "script", "upload", "download", "transfer", "check", "gate")
GATE_POLICY = (
    "approvals",
    "approver_roles",
    "self_approval",
    "ticket_pattern",
    "gate_timeout",
    "signed_approvals",
)
"""A gate step's own policy settings; they can tighten the environment's, never loosen it."""

_MODE = re.compile(r"^0?[0-7]{3,4}$")
_PERCENT = re.compile(r"^(\d{1,3})%$")


class Param(Strict):
    """A typed input a run is launched with."""

    type: Literal["string", "int", "bool", "choice"] = "string"
    description: str = ""
    required: bool = False
    default: Scalar | None = None
    pattern: str | None = None
    choices: list[str] | None = None
    min: int | None = None
    max: int | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        return check_regex(value)

    @model_validator(mode="after")
    def _choices_match_type(self) -> Param:
        if self.type == "choice" and not self.choices:
            raise ValueError("a 'choice' param needs a non-empty 'choices' list")
        if self.type != "choice" and self.choices is not None:
            raise ValueError("'choices' is only for params of type 'choice'")
        return self


class Transfer(Strict):
    """Source and destination of an SFTP transfer; `mode` applies where it lands on a host
    (unset: the source's permission bits, as scp keeps them)."""

    src: str = Field(min_length=1)
    dest: str = Field(min_length=1)
    mode: str | None = None

    @field_validator("mode")
    @classmethod
    def _octal(cls, value: str | None) -> str | None:
        if value is not None and not _MODE.match(value):
            raise ValueError(f"'{value}' is not a file mode; write it in octal, e.g. \"0644\"")
        return value


class HostTransfer(Transfer):
    """A file sent from one host (`from`: a host, or a group of one) to the step's hosts,
    through the runner's memory."""

    source: str = Field(alias="from", min_length=1)


class Step(Strict):
    """One step: exactly one of run, script, upload, download, transfer, check or gate."""

    name: str = Field(min_length=1, max_length=120)
    run: str | None = None
    script: str | None = None
    upload: Transfer | None = None
    download: Transfer | None = None
    transfer: HostTransfer | None = None
    check: str | None = None
    gate: str | None = None
    timeout: Duration | None = None
    retries: int = Field(default=0, ge=0, le=1000)
    delay: Duration = 1.0
    hosts: list[str] | None = None
    approvals: int | None = Field(default=None, ge=1)
    approver_roles: list[str] | None = None
    self_approval: bool | None = None
    ticket_pattern: str | None = None
    gate_timeout: Duration | None = None
    signed_approvals: bool | None = None
    checks: list[str] | None = None
    """Commands a gate runs on the run's hosts when it opens (as `check` steps do): its
    approval waits until they pass; with no approvals needed, they are its decision."""
    local_checks: list[list[str]] | None = None
    """Commands a gate runs on the bastion, without a shell (each word a template)."""

    @property
    def has_checks(self) -> bool:
        """Whether the step is a gate with checks of its own."""
        return bool(self.checks or self.local_checks)

    @field_validator("ticket_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        return check_regex(value)

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [k for k in STEP_KINDS if getattr(self, k) is not None]
        if not kinds:
            raise ValueError(
                f"step '{self.name}' has no kind; give it one of {', '.join(STEP_KINDS)}"
            )
        if len(kinds) > 1:
            raise ValueError(
                f"step '{self.name}' has {len(kinds)} kinds ({', '.join(kinds)}); give it exactly one"
            )
        if self.gate is not None and self.hosts is not None:
            raise ValueError(f"gate '{self.name}' applies to the whole run; remove 'hosts'")
        if self.gate is not None and self.retries and not self.has_checks:
            raise ValueError(
                f"gate '{self.name}' has no checks to retry; remove 'retries' or give it checks"
            )
        if self.has_checks and self.gate is None:
            raise ValueError(
                f"step '{self.name}' has checks, which only a gate step can have; a check "
                'step is `check = "…"`'
            )
        if any(not argv for argv in self.local_checks or []):
            raise ValueError(f"gate '{self.name}' has an empty local check; give each its argv")
        policy = [k for k in GATE_POLICY if getattr(self, k) is not None]
        if policy and self.gate is None:
            raise ValueError(
                f"step '{self.name}' sets {', '.join(policy)}, which only a gate step can have"
            )
        return self

    @property
    def kind(self) -> str:
        """The step's kind: run, script, upload, download, transfer, check or gate."""
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)


class Stage(Strict):
    """Steps run in order on each host, with a strategy deciding how hosts fan out."""

    name: str = Field(min_length=1, max_length=120)
    strategy: Literal["serial", "parallel", "rolling"] = "parallel"
    max_parallel: int | None = Field(default=None, ge=1)
    batch: int | str | None = None
    max_fail_percentage: float = Field(default=0, ge=0, le=100)
    steps: list[Step] = Field(min_length=1)
    on_failure: list[Step] = []

    @field_validator("batch")
    @classmethod
    def _batch(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 1:
            raise ValueError("'batch' must be at least 1 host")
        if isinstance(value, str):
            match = _PERCENT.match(value)
            if not match or not 0 < int(match.group(1)) <= 100:
                raise ValueError(
                    f"'{value}' is not a batch size; write a host count or e.g. \"25%\""
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Stage:
        if self.batch is not None and self.strategy != "rolling":
            raise ValueError("'batch' is only for the 'rolling' strategy")
        if self.max_parallel is not None and self.strategy != "parallel":
            raise ValueError("'max_parallel' is only for the 'parallel' strategy")
        names = [s.name for s in self.steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"stage '{self.name}' has two steps named {', '.join(dupes)}")
        gates = [s for s in self.steps if s.gate is not None]
        if gates and len(gates) != len(self.steps):
            raise ValueError(
                f"stage '{self.name}' mixes a gate with host steps; give the gate its own stage"
            )
        if any(s.gate is not None for s in self.on_failure):
            raise ValueError("an on_failure step cannot be a gate")
        return self

    @property
    def is_gate(self) -> bool:
        """A gate stage waits for a decision instead of running on hosts."""
        return self.steps[0].gate is not None

    def batch_size(self, host_count: int) -> int:
        """How many hosts one wave of this stage runs on at once."""
        if self.strategy == "serial":
            return 1
        if self.strategy == "parallel":
            return self.max_parallel or max(host_count, 1)
        if isinstance(self.batch, str):
            percent = int(self.batch.rstrip("%"))
            return max(1, host_count * percent // 100)
        return self.batch or 1


class Follower(Strict):
    """A pipeline launched when a run of this one succeeds: its params and limit may use
    the run's params as templates (`{{ version }}`)."""

    pipeline: Name
    params: dict[Name, str] = {}
    limit: str | None = None
    environments: list[Name] | None = None
    """Where the follower goes when its targets span several environments; unset: the
    environments of the run before it."""


class Pipeline(Strict):
    """A named, parameterised sequence of stages over a set of target hosts."""

    name: Name
    description: str = ""
    targets: list[str] = Field(min_length=1)
    environment: Name | None = None
    params: dict[Name, Param] = {}
    release: Name | None = None
    """The param whose value names what a run releases (a version), for lead times."""
    stages: list[Stage] = Field(min_length=1)
    then: list[Follower] = []
    """What is launched, each a run of its own, when a run of this pipeline succeeds."""

    @model_validator(mode="after")
    def _release_is_a_param(self) -> Pipeline:
        if self.release is not None and self.release not in self.params:
            have = ", ".join(self.params) or "none"
            raise ValueError(
                f"release names the param '{self.release}', which is not one of its params ({have})"
            )
        return self

    @model_validator(mode="after")
    def _unique_stages(self) -> Pipeline:
        names = [s.name for s in self.stages]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"two stages are named {', '.join(dupes)}")
        return self
