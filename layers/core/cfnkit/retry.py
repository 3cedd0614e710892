"""Throttled and other retryable AWS errors: recognise them, back off, and remember for how long.

Contracts:
- `classify(exc)` says whether an AWS call failed in a way that waiting cures:
  "throttled" (the account's request quota, e.g. ThrottlingException) or "transient"
  (a 5xx, a timeout, a dropped connection). Anything else is None and is not retried.
  It reads the error code with `cfnkit.awserrors` (botocore is imported only when an
  exception is read, so the core stays stdlib-only), the HTTP status from the response
  metadata, and botocore's connection errors by class name.
- `Backoff.delay(attempt, rng)` is exponential backoff with full jitter: uniform in
  [0, min(cap, base * 2**attempt)] ("Exponential backoff and jitter", AWS Architecture
  Blog), so callers that were throttled together do not come back together.
- `call_with_retry` retries in place, never past its deadline; when time runs out it
  raises `Throttled`, which says what was throttled, since when and how often. A
  provider turns that into InProgress (the wait goes on, across continuations) or, on
  the overall deadline, into a Reason that names the throttling and its duration.
- `ThrottleRecord` is that memory in JSON-safe form for a provider's wait state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .awserrors import error_code
from .errors import CfnkitError
from .logs import get_logger

if TYPE_CHECKING:
    import random

    from .clock import Clock

log = get_logger("retry")
T = TypeVar("T")
Kind = Literal["throttled", "transient"]

#: Error codes AWS services use for "slow down" (botocore's standard retry mode lists the same family).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
#: Server-side failures that a later attempt may not meet (ECS: ServerException;
#: Secrets Manager: InternalServiceError).
TRANSIENT_CODES = frozenset(
    {
        "ServerException",
        "InternalServiceError",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
#: botocore's connection-level exceptions (by class name, anywhere in the MRO).
TRANSIENT_CLASSES = frozenset(
    {
        "ConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "HTTPClientError",
    }
)


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        meta = response.get("ResponseMetadata")
        if isinstance(meta, Mapping) and isinstance(meta.get("HTTPStatusCode"), int):
            return int(meta["HTTPStatusCode"])
    return None


def classify(exc: BaseException) -> Kind | None:
    """'throttled', 'transient' or None (not worth retrying)."""
    code = error_code(exc)
    if code in THROTTLING_CODES:
        return "throttled"
    status = _http_status(exc)
    if status == 429:
        return "throttled"
    if code in TRANSIENT_CODES or (status is not None and status >= 500):
        return "transient"
    if getattr(exc, "response", None) is None and any(
        klass.__name__ in TRANSIENT_CLASSES for klass in type(exc).__mro__
    ):
        return "transient"
    return None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt 0 waits up to `base`, never more than `cap`."""

    base: float = 0.5
    cap: float = 10.0

    def ceiling(self, attempt: int) -> float:
        return float(min(self.cap, self.base * 2 ** min(max(attempt, 0), 30)))

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, self.ceiling(attempt))


@dataclass(frozen=True)
class ThrottleRecord:
    """A streak of throttled (or transiently failing) calls, kept in a wait state.

    since: when the first call of the streak failed; count: failed calls in it;
    operation/code: the last one. A successful call ends the streak (clear()).
    """

    operation: str
    code: str
    since: float
    count: int
    kind: str = "throttled"

    def to_state(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "code": self.code,
            "since": self.since,
            "count": self.count,
            "kind": self.kind,
        }

    @classmethod
    def from_state(cls, raw: Any) -> ThrottleRecord | None:
        if not isinstance(raw, Mapping):
            return None
        try:
            return cls(
                str(raw["operation"]),
                str(raw["code"]),
                float(raw["since"]),
                int(raw["count"]),
                str(raw.get("kind", "throttled")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def then(self, operation: str, code: str, kind: str) -> ThrottleRecord:
        """The streak after one more failed call."""
        worst = "throttled" if "throttled" in (self.kind, kind) else kind
        return ThrottleRecord(operation, code, self.since, self.count + 1, worst)

    def merged(self, later: ThrottleRecord) -> ThrottleRecord:
        """This streak continued by `later` (e.g. the retries of a continued invocation)."""
        worst = "throttled" if "throttled" in (self.kind, later.kind) else later.kind
        return ThrottleRecord(
            later.operation, later.code, min(self.since, later.since), self.count + later.count, worst
        )

    @staticmethod
    def start(operation: str, code: str, kind: str, now: float) -> ThrottleRecord:
        return ThrottleRecord(operation, code, now, 1, kind)

    def describe(self, now: float, service: str = "AWS") -> str:
        """E.g. 'the ECS API was throttling DescribeTasks for the last 42 s (17 calls, ThrottlingException)'."""
        seconds = max(0.0, now - self.since)
        what = "throttling" if self.kind == "throttled" else "failing"
        calls = "call" if self.count == 1 else "calls"
        return (
            f"the {service} API was {what} {self.operation} for the last {seconds:.0f} s "
            f"({self.count} {calls}, last error {self.code})"
        )


def note_failure(
    record: ThrottleRecord | None, operation: str, exc: BaseException, kind: Kind, now: float
) -> ThrottleRecord:
    code = error_code(exc)
    if record is None:
        return ThrottleRecord.start(operation, code, kind, now)
    return record.then(operation, code, kind)


class Throttled(CfnkitError):
    """An AWS call kept failing retryably until its deadline; the record says how long and how often."""

    def __init__(self, record: ThrottleRecord, now: float, service: str = "AWS") -> None:
        self.record = record
        self.now = now
        self.service = service
        super().__init__(record.describe(now, service))


def call_with_retry(
    call: Callable[[], T],
    *,
    operation: str,
    clock: Clock,
    rng: random.Random,
    deadline: float,
    backoff: Backoff = Backoff(),
    record: ThrottleRecord | None = None,
    service: str = "AWS",
    on_failure: Callable[[ThrottleRecord], None] | None = None,
) -> T:
    """call() until it returns, retrying throttled/transient errors with jittered backoff.

    Sleeps only while the next attempt still starts before `deadline`; otherwise raises
    Throttled carrying `record` (the streak so far, continued from a previous invocation
    when given). Errors that are not retryable propagate unchanged at once. on_failure
    sees every retryable failure, also those a later attempt recovers from (a caller
    that paces itself learns from them).
    """
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            kind = classify(exc)
            if kind is None:
                raise
            now = clock.now()
            record = note_failure(record, operation, exc, kind, now)
            if on_failure is not None:
                on_failure(record)
            pause = backoff.delay(attempt, rng)
            log.warning(
                "AWS call failed retryably",
                extra={
                    "fields": {
                        "operation": operation,
                        "code": record.code,
                        "kind": kind,
                        "streak": record.count,
                        "retry_in_s": round(pause, 3),
                    }
                },
            )
            if now + pause >= deadline:
                raise Throttled(record, now, service) from exc
            clock.sleep(pause)
            attempt += 1
