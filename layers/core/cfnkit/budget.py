"""Every timing rule of one invocation, in one place.

Three clocks run at once: the Lambda invocation's (up to 900 s), CloudFormation's
(ServiceTimeout, up to 3600 s, for the whole request across invocations) and the
provider's own limit. A Budget is made once per invocation and answers every
question about them: when the watchdog answers, how long a response PUT may take,
when the wait gives up, when it is handed to a new invocation, how many hand-offs
are left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .protocol import MAX_SERVICE_TIMEOUT

#: Without a Lambda context (an ad-hoc call) assume Lambda's maximum.
DEFAULT_REMAINING_S = 900.0
#: A runaway guard: 3600 s of waiting is 5 hops of a 900 s Lambda, or a few hundred of a very short one.
MAX_HOPS = 1000
#: Lambda's recursive loop detection stops a chain of Lambda invocations after about 16
#: unless the function's RecursiveLoop setting is Allow (Lambda developer guide, "Use
#: Lambda recursive loop detection to prevent infinite loops"); the continuation chain is
#: such a loop, and Lambda drops the next invocation silently.
LOOP_DETECTION_INVOCATIONS = 16
#: Under RecursiveLoop Terminate (Lambda's default) a wait is handed on at most this many
#: times: 15 invocations in all, one below the limit, so no hand-off relies on an
#: invocation Lambda would drop.
TERMINATE_MAX_HOPS = LOOP_DETECTION_INVOCATIONS - 2
#: The function's RecursiveLoop setting, as its template tells the core ("Allow" or
#: "Terminate"; anything else, or unset, is taken as Lambda's default, Terminate).
RECURSIVE_LOOP_ENV = "CFNKIT_RECURSIVE_LOOP"
#: CloudFormation's ServiceTimeout is answered this long before it: 10 s, or 10% of short timeouts.
SERVICE_MARGIN_S, SERVICE_MARGIN_SHARE = 10.0, 0.1
#: The watchdog answers `answer_margin` before the Lambda deadline: at most this share of the invocation.
ANSWER_MARGIN_SHARE = 0.1
#: A wait is handed on when less than `handoff_margin` remains: at most this share of the invocation.
HANDOFF_MARGIN_SHARE = 0.25
#: The last response PUT stops this long before the Lambda deadline (a quarter of the margin when less).
SEND_RESERVE_S = 0.2


def remaining_seconds(context: Any) -> float:
    """Seconds left in this invocation according to the Lambda context (never raises)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(getter):
        return DEFAULT_REMAINING_S
    try:
        return max(0.0, float(getter()) / 1000.0)
    except (TypeError, ValueError):  # a broken context must not stop the answer
        return DEFAULT_REMAINING_S


def max_hops_for(recursive_loop: str | None) -> int:
    """How many hand-offs the function's RecursiveLoop setting lets a wait make."""
    return MAX_HOPS if (recursive_loop or "").strip().lower() == "allow" else TERMINATE_MAX_HOPS


def service_margin(service_timeout: float) -> float:
    """How long before CloudFormation's ServiceTimeout a wait must have answered."""
    return min(SERVICE_MARGIN_S, service_timeout * SERVICE_MARGIN_SHARE)


@dataclass(frozen=True)
class Budget:
    """The time of one invocation of one request.

    invoked_at/remaining: this invocation's start (clock seconds) and the Lambda time
    left then; started_at: when the request's wait began (kept across hand-offs);
    service_timeout: CloudFormation's limit for the request; hop: how many times the
    wait was handed on so far. max_answer_margin and max_handoff_margin are the
    configured margins before the shares of short invocations apply.
    """

    invoked_at: float
    remaining: float
    started_at: float
    service_timeout: float = float(MAX_SERVICE_TIMEOUT)
    hop: int = 0
    max_hops: int = MAX_HOPS
    max_answer_margin: float = 5.0
    max_handoff_margin: float = 20.0

    @classmethod
    def start(
        cls,
        now: float,
        remaining: float,
        *,
        service_timeout: float | None = None,
        started_at: float | None = None,
        hop: int = 0,
        max_hops: int = MAX_HOPS,
        max_answer_margin: float = 5.0,
        max_handoff_margin: float = 20.0,
    ) -> Budget:
        """The budget of an invocation starting now; started_at/hop come from a continuation."""
        return cls(
            invoked_at=now,
            remaining=remaining,
            started_at=now if started_at is None else started_at,
            service_timeout=float(service_timeout or MAX_SERVICE_TIMEOUT),
            hop=hop,
            max_hops=max_hops,
            max_answer_margin=max_answer_margin,
            max_handoff_margin=max_handoff_margin,
        )

    # -- this invocation -------------------------------------------------------------

    @property
    def lambda_deadline(self) -> float:
        return self.invoked_at + self.remaining

    @property
    def answer_margin(self) -> float:
        """The watchdog answers FAILED this long before the Lambda deadline."""
        return min(self.max_answer_margin, self.remaining * ANSWER_MARGIN_SHARE)

    @property
    def send_deadline(self) -> float:
        """No response PUT runs past this; the watchdog's PUT must fit in the margin it leaves."""
        return self.lambda_deadline - min(SEND_RESERVE_S, self.answer_margin / 4)

    @property
    def handoff_margin(self) -> float:
        """A wait is handed to a new invocation when less than this remains after the next pause."""
        return min(self.max_handoff_margin, self.remaining * HANDOFF_MARGIN_SHARE)

    def hand_off_now(self, remaining_now: float, pause: float) -> bool:
        return remaining_now - pause < self.handoff_margin

    # -- the whole request ----------------------------------------------------------------

    def wait_limit(self, provider_timeout: float | None = None) -> float:
        """Seconds from started_at until the wait must have answered.

        ServiceTimeout minus its margin; a provider's own shorter timeout is used as given.
        """
        limit = self.service_timeout - service_margin(self.service_timeout)
        if provider_timeout is not None and provider_timeout > 0:
            limit = min(limit, float(provider_timeout))
        return limit

    def wait_deadline(self, provider_timeout: float | None = None) -> float:
        return self.started_at + self.wait_limit(provider_timeout)

    def pause(self, interval: float, now: float, deadline: float) -> float:
        """How long to sleep before the next poll: the provider's interval, never past the deadline."""
        return max(0.0, min(interval, deadline - now))

    @property
    def service_guard(self) -> float:
        """Seconds after invoked_at at which CloudFormation's limit is about to pass.

        Half a service margin after the wait's deadline, so a wait that is polling gets
        its cleanup and "timed out" Reason first; a wait already past it still gets
        answer_margin to poll and clean up.
        """
        end = self.started_at + self.service_timeout - service_margin(self.service_timeout) / 2
        return max(self.answer_margin, end - self.invoked_at)

    @property
    def lambda_first(self) -> bool:
        """True when the Lambda deadline, not ServiceTimeout, is what the watchdog guards."""
        return self.remaining - self.answer_margin <= self.service_guard

    @property
    def watchdog_delay(self) -> float:
        """Seconds after invoked_at at which the watchdog answers FAILED for a provider still working."""
        return max(0.0, min(self.remaining - self.answer_margin, self.service_guard))

    # -- hand-offs ------------------------------------------------------------------------

    @property
    def next_hop(self) -> int:
        return self.hop + 1

    @property
    def hops_exhausted(self) -> bool:
        """True when handing on once more would pass max_hops."""
        return self.next_hop > self.max_hops

    @property
    def loop_detection_applies(self) -> bool:
        """True when max_hops is Lambda's recursive loop limit rather than the runaway guard."""
        return self.max_hops < LOOP_DETECTION_INVOCATIONS

    def invocations_needed(self, provider_timeout: float | None = None) -> int:
        """Invocations a wait lasting until its deadline would take at this invocation's length."""
        per_invocation = max(1.0, self.remaining - self.handoff_margin)
        left = max(0.0, self.wait_deadline(provider_timeout) - self.invoked_at)
        return self.hop + max(1, math.ceil(left / per_invocation))
