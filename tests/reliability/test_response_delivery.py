"""Faults of the ResponseURL: the handler answers once, retries what is worth retrying, and returns."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable

import pytest
from cfnkit import CustomResource
from cfnkit.sender import HttpSender
from cfnkit.testing import FakeContext, ResponseServer, create_event

from tests.reliability.faults import CANARY, CanaryProvider, assert_no_canary, log_messages

pytestmark = pytest.mark.functional


def fast_sender() -> HttpSender:
    """The production sender with short timeouts and backoff, so the matrix stays quick."""
    return HttpSender(
        connect_timeout=0.5, read_timeout=0.5, max_attempts=6, backoff_base=0.05, backoff_cap=0.2, rng=random.Random(7)
    )


def invoke(url: str) -> None:
    handler = CustomResource(CanaryProvider(), sender=fast_sender())
    handler(create_event({"Password": CANARY}, response_url=url, logical_id="Canary"), FakeContext(30))


def refused_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/response?X-Amz-Signature=abc"


def test_put_answered_500_twice_is_retried_until_the_200(
    server: ResponseServer, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("ResponseURL: 500, 500, then 200", "1 response SUCCESS after 3 attempts")
    server.fail_next(2, 500)

    invoke(server.url)

    puts = server.wait_for(1)
    body = puts[0].json()
    matrix(observed=f"{len(puts)} response {body['Status']}, {server.attempts} attempts")
    assert (len(puts), server.attempts, body["Status"], body["NoEcho"]) == (1, 3, "SUCCESS", True)
    assert body["Data"] == {"Password": CANARY}  # the value goes to CloudFormation, and only there
    output = assert_no_canary(capfd)
    assert len(log_messages(output, "sending response")) == 1


def test_put_answered_403_is_not_retried(
    server: ResponseServer, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("ResponseURL: 403 (expired or denied URL)", "1 attempt, no retry, handler returns")
    server.fail_next(1, 403)

    invoke(server.url)

    output = assert_no_canary(capfd)
    errors = log_messages(output, "response NOT delivered")
    matrix(observed=f"{server.attempts} attempt(s), {len(server.puts)} recorded, logged {errors[0]['error']!r}")
    assert (server.attempts, len(server.puts)) == (1, 0)
    assert [e["error"] for e in errors] == ["HTTP 403 AccessDenied"]
    assert len(log_messages(output, "sending response")) == 1


def test_connection_refused_is_retried_then_given_up_with_one_log(
    capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("ResponseURL: connection refused", "6 bounded attempts, 1 'NOT delivered' log, returns")

    invoke(refused_url())

    output = assert_no_canary(capfd)
    errors = log_messages(output, "response NOT delivered")
    failed = log_messages(output, "response delivery attempt failed")
    matrix(observed=f"{len(failed)} attempts, {len(errors)} 'NOT delivered' log")
    assert len(errors) == 1
    assert errors[0]["attempts"] == 6
    assert errors[0]["error"].startswith("ConnectionRefusedError")
    assert len(failed) == 6
    assert len(log_messages(output, "sending response")) == 1


def test_a_put_that_stalls_past_the_read_timeout_is_retried_once(
    server: ResponseServer, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("ResponseURL: first PUT stalls past the read timeout", "timed out, retried, 1 response SUCCESS")
    server.stall_next(1, 3.0)

    invoke(server.url)

    puts = server.wait_for(1)
    output = assert_no_canary(capfd)
    failed = log_messages(output, "response delivery attempt failed")
    matrix(
        observed=f"{len(puts)} response {puts[0].json()['Status']}, attempts {server.attempts}, "
        f"first error {failed[0]['error']!r}"
    )
    assert (len(puts), server.attempts, puts[0].json()["Status"]) == (1, 2, "SUCCESS")
    assert [f["error"] for f in failed] == ["timed out"]
