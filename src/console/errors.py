"""The error hierarchy: every error a person can fix carries a sentence that says what to do."""

from __future__ import annotations

from dataclasses import dataclass


class ConsoleError(Exception):
    """Base of every error the console reports to a person instead of a traceback."""


@dataclass(frozen=True)
class Problem:
    """One located problem in an operator's file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        from console.sanitize import printable  # keys and values come from the file: untrusted

        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" [{self.path}]" if self.path else ""
        return printable(f"{where}{key}: {self.message}")


class ConfigError(ConsoleError):
    """The inventory or a pipeline is invalid; holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UsageError(ConsoleError):
    """A command was given something it cannot work with: a bad param value, a missing
    option, a moment that is not a time, an action the run's state does not allow."""


class EnvironmentUnchosen(UsageError):
    """A launch whose targets are in several environments, none of them chosen."""

    def __init__(self, message: str, spanned: list[str]) -> None:
        super().__init__(message)
        self.spanned = spanned
        """The environments the targets are in, for a form to offer."""


class UnknownRun(UsageError):
    """No run matches a reference (or more than one does)."""


class Refused(ConsoleError):
    """A rule refused the action: who may launch, decide, resume or cancel, and what a
    decision needs (the policy module's sentence, recorded on the audit trail)."""


class LaunchRefused(Refused):
    """Launching into an environment was refused: the account may not launch, re-run, resume
    or cancel there, or the environment's name was not confirmed."""


class GateRefused(Refused):
    """A decision on a gate was refused: the role, the launcher's own run, a freeze, a
    missing reason, ticket or signature, a plan that is no longer the one shown."""


class WrongState(UsageError):
    """The run's state does not allow the action: no gate waits, the run has ended, or it is
    not interrupted."""


class RunChanged(ConsoleError):
    """A run gained events between reading it and acting on it (someone else acted first)."""


class StoreError(ConsoleError):
    """The store cannot be opened or is of an unknown schema."""


class ReadOnlyStore(StoreError):
    """This account may read the store but not write to it."""


class TransportError(ConsoleError):
    """A host could not be reached or used; the engine reports it as `unreachable`."""


class HostKeyRejected(TransportError):
    """The host's key is unknown or changed, so nothing was run there."""


class TransferFailed(ConsoleError):
    """A file transfer ran but did not verify, or was refused before anything was put in
    place (a failed step, not an unreachable host)."""


class TransferCut(TransferFailed):
    """The connection carrying a file went away part-way: another attempt may go on from the
    part the destination holds."""


def explain(exc: ConsoleError) -> str:
    """What a person is told about an error they can fix: every problem of a configuration."""
    if isinstance(exc, ConfigError):
        count = len(exc.problems)
        lines = [f"error: {problem}" for problem in exc.problems]
        return "\n".join(
            [*lines, f"{count} problem{'s' if count != 1 else ''} found; nothing was run"]
        )
    return f"opsconsole: {exc}"
