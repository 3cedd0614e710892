"""One exception per failure kind; each knows the Reason it becomes.

No message here ever contains a property value: problems name the property's
path and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CfnkitError(Exception):
    """Base of every failure the core turns into a FAILED response."""

    def reason(self) -> str:
        return str(self)


class ProviderError(CfnkitError):
    """A provider's own, user-facing failure: its message is the whole Reason."""


class MalformedEvent(CfnkitError):
    """The event is not a valid custom resource request."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("Malformed custom resource event: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the properties: where, and what was expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidProperties(CfnkitError):
    """Every problem found in ResourceProperties, each with its path; never values."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("Invalid properties: " + "; ".join(str(p) for p in self.problems))


class TimedOut(CfnkitError):
    """The overall deadline of a wait passed."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        self.seconds = seconds
        self.detail = detail
        text = f"timed out after {round(seconds)} s"
        super().__init__(f"{text}; {detail}" if detail else text)


class ContinuationFailed(CfnkitError):
    """The wait could not be handed on to a new invocation of the function."""
