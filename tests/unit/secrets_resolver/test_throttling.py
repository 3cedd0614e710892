"""SecretsResolver under Secrets Manager throttling (botocore Stubber): back off, carry on, fail only at the deadline.

Secrets Manager throttles GetSecretValue per account and Region (ThrottlingException);
a throttle must never fail a request that still has time, and a deadline Reason names it.
"""

from __future__ import annotations

import json
import random
from typing import Any

from botocore.stub import Stubber
from cfnkit import CustomResource
from cfnkit.testing import FakeClock, FakeContext, RecordingInvoker, RecordingSender, create_event, update_event
from secret_resolver import SecretsResolver

SECRET_ID = "todobackend/credentials"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:todobackend/credentials-AbCdEf"
VERSION = "11111111-1111-1111-1111-111111111111"


class Ceiling(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def throttle(stub: Stubber, times: int) -> None:
    for _ in range(times):
        stub.add_client_error(
            "get_secret_value",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
        )


def expect_value(stub: Stubber) -> None:
    stub.add_response(
        "get_secret_value",
        {
            "ARN": ARN,
            "Name": SECRET_ID,
            "VersionId": VERSION,
            "SecretString": json.dumps({"MYSQL_PASSWORD": "s3cr3t-Val"}),
        },
        {"SecretId": SECRET_ID},
    )


def run(
    resolver: SecretsResolver,
    event: dict[str, Any],
    clock: FakeClock,
    invoker: RecordingInvoker | None = None,
    timeout: float = 900,
) -> RecordingSender:
    sender = RecordingSender()
    CustomResource(resolver, sender=sender, clock=clock, invoker=invoker or RecordingInvoker())(
        event, FakeContext(timeout, clock=clock)
    )
    return sender


def test_throttled_read_is_retried_in_place(client: Any, stub: Stubber) -> None:
    throttle(stub, 2)
    expect_value(stub)
    clock = FakeClock()
    body = run(SecretsResolver(client, clock=clock, rng=Ceiling()), create_event({"SecretId": SECRET_ID}), clock).only
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"MYSQL_PASSWORD": "s3cr3t-Val"}
    assert clock.sleeps == [0.5, 1.0]


def test_throttle_past_the_in_place_budget_becomes_a_wait(client: Any, stub: Stubber) -> None:
    # In place at 0, 0.5, 1.5, 3.5 and 7.5 s; then the wait backs off min(30, 2**5) s and reads again.
    throttle(stub, 5)
    expect_value(stub)
    clock = FakeClock()
    body = run(
        SecretsResolver(client, clock=clock, rng=Ceiling()),
        update_event({"SecretId": SECRET_ID}, {"SecretId": SECRET_ID}, "pid-1"),
        clock,
    ).only
    assert body["Status"] == "SUCCESS"
    assert body["NoEcho"] is True
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 30.0]


def test_wait_state_never_holds_the_value_and_survives_a_continuation(client: Any, stub: Stubber) -> None:
    throttle(stub, 5)
    clock = FakeClock()
    invoker = RecordingInvoker()
    resolver = SecretsResolver(client, clock=clock, rng=Ceiling())
    # A 60 s Lambda: after 7.5 s in place, a 30 s pause would leave less than the 15 s hand-off margin.
    assert run(resolver, create_event({"SecretId": SECRET_ID}), clock, invoker, timeout=40).bodies == []
    [(_, event)] = invoker.calls
    state = event["CfnkitContinuation"]["state"]
    assert state == {
        "fresh": False,
        "deadline": state["deadline"],
        "throttle": {
            "operation": "GetSecretValue",
            "code": "ThrottlingException",
            "since": state["throttle"]["since"],
            "count": 5,
            "kind": "throttled",
        },
    }
    expect_value(stub)
    body = run(SecretsResolver(client, clock=clock, rng=Ceiling()), event, clock).only
    assert body["Status"] == "SUCCESS"


def test_throttle_that_outlasts_the_deadline_fails_in_time_naming_it(client: Any) -> None:
    clock = FakeClock()
    started = clock.now()
    with Stubber(client) as stub:
        throttle(stub, 100)
        event = create_event({"SecretId": SECRET_ID}, service_timeout=60)
        body = run(SecretsResolver(client, clock=clock, rng=Ceiling()), event, clock).only
    # ServiceTimeout 60 s: the wait's deadline is 54 s (10% before). Reads at 0, 0.5, 1.5, 3.5, 7.5 (in place);
    # the wait's backoff (30 s); 37.5, 38, 39, 41, 45 (in place); a 9 s pause to the deadline; one read at 54 s
    # whose retry would pass the deadline. No in-place retry ever runs past it.
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        "timed out after 54 s; the Secrets Manager API was throttling GetSecretValue for "
        "the last 54 s (11 calls, last error ThrottlingException)"
    )
    assert clock.now() - started <= 54.0
    assert "s3cr3t" not in json.dumps(body)
