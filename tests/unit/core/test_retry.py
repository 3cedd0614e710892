"""cfnkit.retry: what counts as retryable, jittered backoff, in-place retries bounded by a deadline."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError
from cfnkit.retry import Backoff, Throttled, ThrottleRecord, call_with_retry, classify
from cfnkit.testing import FakeClock


class Ceiling(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def aws_error(code: str, status: int = 400) -> ClientError:
    """What botocore raises for an AWS error answer."""
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


class EndpointConnectionError(Exception):
    pass


class ReadTimeoutError(EndpointConnectionError):
    pass


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aws_error("ThrottlingException"), "throttled"),
        (aws_error("TooManyRequestsException", 429), "throttled"),
        (aws_error("SomethingNew", 429), "throttled"),
        (aws_error("ServerException", 500), "transient"),
        (aws_error("InternalServiceError", 500), "transient"),
        (aws_error("Unknown", 503), "transient"),
        (aws_error("ClientException"), None),
        (aws_error("AccessDeniedException"), None),
        (aws_error("ResourceNotFoundException"), None),
        (ReadTimeoutError("read timed out"), "transient"),
        (ValueError("bad"), None),
    ],
)
def test_classify(exc: Exception, kind: str | None) -> None:
    assert classify(exc) == kind


def test_backoff_is_full_jitter_doubling_to_the_cap() -> None:
    backoff = Backoff(base=0.5, cap=10.0)
    assert [backoff.ceiling(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.ceiling(10_000) == 10.0
    rng = random.Random(3)
    samples = [backoff.delay(2, rng) for _ in range(200)]
    assert 0.0 <= min(samples) < 0.3
    assert 1.7 < max(samples) <= 2.0


def test_retries_in_place_until_the_call_succeeds() -> None:
    clock = FakeClock()
    replies: list[Exception | str] = [aws_error("ThrottlingException"), aws_error("ServerException", 500), "ok"]

    def call() -> str:
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    assert call_with_retry(call, operation="Op", clock=clock, rng=Ceiling(), deadline=clock.now() + 10) == "ok"
    assert clock.sleeps == [0.5, 1.0]


def test_not_retryable_errors_propagate_at_once() -> None:
    clock = FakeClock()

    def call() -> str:
        raise aws_error("AccessDeniedException")

    with pytest.raises(ClientError):
        call_with_retry(call, operation="Op", clock=clock, rng=Ceiling(), deadline=clock.now() + 10)
    assert clock.sleeps == []


def test_gives_up_before_the_deadline_with_the_streak() -> None:
    clock = FakeClock()
    started = clock.now()
    calls = 0

    def call() -> str:
        nonlocal calls
        calls += 1
        raise aws_error("ThrottlingException")

    # Attempts at 0, 0.5, 1.5 and 3.5 s; the next pause (4 s) would end at 7.5 s, past the 7 s deadline.
    with pytest.raises(Throttled) as caught:
        call_with_retry(
            call, operation="DescribeTasks", clock=clock, rng=Ceiling(), deadline=started + 7.0, service="ECS"
        )
    assert calls == 4
    assert caught.value.record == ThrottleRecord("DescribeTasks", "ThrottlingException", started, 4)
    assert str(caught.value) == (
        "the ECS API was throttling DescribeTasks for the last 4 s (4 calls, last error ThrottlingException)"
    )


def test_a_pause_ending_exactly_at_the_deadline_is_not_taken() -> None:
    clock = FakeClock()

    def call() -> str:
        raise aws_error("ThrottlingException")

    with pytest.raises(Throttled):
        call_with_retry(call, operation="Op", clock=clock, rng=Ceiling(), deadline=clock.now() + 0.5)
    assert clock.sleeps == []


def test_a_streak_continues_from_a_previous_invocation() -> None:
    clock = FakeClock()
    earlier = ThrottleRecord("RunTask", "ThrottlingException", clock.now() - 100, 7)

    def call() -> str:
        raise aws_error("ServerException", 500)

    with pytest.raises(Throttled) as caught:
        call_with_retry(call, operation="RunTask", clock=clock, rng=Ceiling(), deadline=clock.now(), record=earlier)
    assert caught.value.record == ThrottleRecord("RunTask", "ServerException", clock.now() - 100, 8, "throttled")


def test_record_round_trips_through_a_wait_state() -> None:
    record = ThrottleRecord("GetSecretValue", "ThrottlingException", 1000.0, 3)
    assert ThrottleRecord.from_state(record.to_state()) == record
    assert ThrottleRecord.from_state(None) is None
    assert ThrottleRecord.from_state({"operation": "x"}) is None
    assert ThrottleRecord.from_state({"operation": "x", "code": "y", "since": "soon", "count": 1}) is None


def test_merged_keeps_the_first_start_and_adds_the_counts() -> None:
    first = ThrottleRecord("ListTasks", "ThrottlingException", 100.0, 2)
    later = ThrottleRecord("RunTask", "ServerException", 130.0, 3, "transient")
    assert first.merged(later) == ThrottleRecord("RunTask", "ServerException", 100.0, 5, "throttled")
    assert later.merged(ThrottleRecord("RunTask", "ServerException", 140.0, 1, "transient")).kind == "transient"


def test_a_transient_streak_is_described_as_failing() -> None:
    record = ThrottleRecord("GetLogEvents", "ServerException", 10.0, 1, "transient")
    assert record.describe(12.4, "CloudWatch Logs") == (
        "the CloudWatch Logs API was failing GetLogEvents for the last 2 s (1 call, last error ServerException)"
    )
