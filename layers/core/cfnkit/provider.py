"""The provider contract and what a provider returns."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ProviderError
from .protocol import Request

if TYPE_CHECKING:  # the schema module loads only when a provider declares a schema
    from .schema import Schema

#: JSON-safe state a provider keeps between polls (it travels inside the event
#: of a continued invocation, so it must stay small).
State = Mapping[str, Any]
MAX_STATE_BYTES = 32 * 1024


@dataclass(frozen=True)
class Result:
    """The work is done: SUCCESS with these attributes.

    physical_id None keeps the current id (Update, Delete) or takes the
    deterministic default (Create). A different id on Update means replacement.
    """

    physical_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    no_echo: bool = False
    #: Appended to the "response too large" Reason (e.g. how to ask for less).
    oversize_hint: str = ""


@dataclass(frozen=True)
class InProgress:
    """The work goes on: call poll(request, state) again after `interval` seconds."""

    state: State
    interval: float = 1.0


Outcome = Result | InProgress


class Provider(abc.ABC):
    """Implement create (and usually update/delete); the core does the rest.

    Every method may raise ProviderError (its message becomes the Reason), or any
    other exception (the Reason names its type and message and where the logs are).
    """

    #: Properties are parsed by this schema before create/update/delete are called.
    schema: Schema | None = None

    @abc.abstractmethod
    def create(self, request: Request) -> Outcome:
        """Create the resource; return Result or InProgress."""

    def update(self, request: Request) -> Outcome:
        """Update in place by default: same as create, keeping the id."""
        return self.create(request)

    def delete(self, request: Request) -> Outcome:
        """Delete must succeed when the resource is already gone."""
        return Result()

    def poll(self, request: Request, state: State) -> Outcome:
        """Check on work started by create/update/delete that returned InProgress."""
        raise ProviderError(f"{type(self).__name__} returned InProgress but does not implement poll")

    def on_timeout(self, request: Request, state: State) -> str:
        """Clean up after the overall deadline passed; return a detail for the Reason."""
        return ""

    def timeout(self, request: Request) -> float | None:
        """The provider's own limit for one request in seconds (None: ServiceTimeout decides)."""
        return None
