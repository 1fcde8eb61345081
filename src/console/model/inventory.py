"""The inventory: hosts, groups, environments, operators and SSH defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from console.freeze import check_window
from console.model.base import Address, Duration, Login, Name, Scalar, Strict, check_regex


class InventoryInfo(Strict):
    """The `[inventory]` table: a display name and where the pipelines live."""

    name: str
    pipelines: str = "pipelines"


class SshSettings(Strict):
    """SSH defaults for every host; a host may override each of them."""

    user: Login | None = None
    port: int = Field(default=22, ge=1, le=65535)
    known_hosts: str = "~/.ssh/known_hosts"
    identity_file: str | None = None
    connect_timeout: Duration = 10.0
    keepalive_interval: Duration = 15.0
    keepalive_count: int = Field(default=3, ge=1)
    connect_concurrency: int = Field(default=100, ge=1)
    """How many connections may be in their handshake at once."""


class Promotion(Strict):
    """What must have succeeded in an earlier environment before a launch here: a run of the
    same pipeline there, with the same values of the params named, within a time."""

    environment: Name
    same: list[Name] = []
    """Params whose values the earlier run must share (e.g. the version); a pipeline that does
    not declare them all is not held by the rule."""
    within: Duration | None = None
    """How recently the earlier run must have succeeded; unset: at any time."""


class Environment(Strict):
    """An environment such as dev, staging or prod, with the approval policy of its gates."""

    approvals: int = Field(default=1, ge=0)
    """Distinct approvals a gate here needs; 0: its checks decide it (an automatic gate)."""
    approver_roles: list[str] = []
    self_approval: bool | None = None
    """May the launcher approve their own run's gates? Unset: no in staging and prod, yes elsewhere."""
    ticket_pattern: str | None = None
    gate_timeout: Duration | None = None
    freeze: list[str] = []
    emergency_roles: list[str] = []
    signed_approvals: bool = False
    launch_roles: list[str] = []
    """Roles one of which an operator needs to launch, re-run, resume or cancel runs here;
    empty: every operator in [operators]."""
    requires: Promotion | None = None
    """What must have succeeded elsewhere first (prod only gets what succeeded in staging)."""

    @field_validator("ticket_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        return check_regex(value)

    @field_validator("freeze")
    @classmethod
    def _windows_parse(cls, value: list[str]) -> list[str]:
        return [check_window(w) for w in value]


class Operator(Strict):
    """A person who may launch runs and decide gates, with their roles."""

    roles: list[str] = []
    ssh_public_key: str | None = None


class Group(Strict):
    """A named set of hosts; groups nest through `children`."""

    environment: Name | None = None
    children: list[Name] = []
    vars: dict[str, Scalar] = {}
    description: str = ""


class Host(Strict):
    """One machine: its address, groups, labels, vars and any SSH overrides."""

    address: Address
    port: int | None = Field(default=None, ge=1, le=65535)
    user: Login | None = None
    known_hosts: str | None = None
    identity_file: str | None = None
    connect_timeout: Duration | None = None
    groups: list[Name] = []
    labels: dict[str, str] = {}
    vars: dict[str, Scalar] = {}
    proxy_jump: Name | None = None
    environment: Name | None = None


class SecretSource(Strict):
    """Where a secret's value is read when a run needs it: never the value itself."""

    env: str | None = Field(default=None, min_length=1)
    file: str | None = Field(default=None, min_length=1)
    command: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        given = [k for k in ("env", "file", "command") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a secret names exactly one source: env, file or command")
        return self


NOTICES = ("gate_opened", "gate_expiring", "run_failed", "run_succeeded", "run_interrupted")
"""What a notification target may subscribe to."""


class Email(Strict):
    """Mail through an SMTP server: from whom, to whom, and how to log in (a secret's name)."""

    smtp: str = Field(pattern=r"^[^\s:]+:[0-9]{1,5}$")
    """host:port"""
    sender: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    user: str | None = None
    password: Name | None = None
    """The name of the secret in [secrets] that holds the password."""


class NotifyTarget(Strict):
    """Where to tell people: a webhook, mail or a command, which events it hears about, and
    in which environments (every one, when none are named)."""

    webhook: str | None = Field(default=None, pattern=r"^https?://\S+$")
    format: Literal["json", "slack", "teams"] = "json"
    token: Name | None = None
    """The name of the secret in [secrets] sent as the webhook's bearer token."""
    email: Email | None = None
    command: list[str] | None = Field(default=None, min_length=1)
    on: list[Literal[NOTICES]] = Field(min_length=1)  # type: ignore[valid-type]
    environments: list[Name] = []
    timeout: Duration = 10.0
    attempts: int = Field(default=4, ge=1, le=20)
    """Tries before a notification is recorded as failed (waiting 1, 2, 4 … s between)."""

    @model_validator(mode="after")
    def _one_kind(self) -> NotifyTarget:
        given = [k for k in ("webhook", "email", "command") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a notification target has exactly one of webhook, email or command")
        return self


class Inventory(Strict):
    """The whole inventory file."""

    inventory: InventoryInfo
    ssh: SshSettings = SshSettings()
    environments: dict[Name, Environment] = {}
    operators: dict[Name, Operator] = {}
    groups: dict[Name, Group] = {}
    hosts: dict[Name, Host] = {}
    secrets: dict[Name, SecretSource] = {}
    notify: dict[Name, NotifyTarget] = {}
    redact: dict[Name, str] = {}
    """Patterns masked out of output before it is stored (patient data): name -> regex; a group
    named `redact` narrows the mask to that group."""

    @field_validator("redact")
    @classmethod
    def _patterns_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            check_regex(pattern)
        return value
