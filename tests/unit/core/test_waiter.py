"""The waiter: polling, the overall deadline with cleanup, and continuation in a new invocation."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cfnkit import CustomResource, InProgress, Provider, ProviderError, Request, Result, State
from cfnkit.budget import MAX_HOPS, Budget
from cfnkit.errors import ContinuationFailed
from cfnkit.protocol import parse_request
from cfnkit.provider import MAX_STATE_BYTES
from cfnkit.testing import FakeClock, FakeContext, RecordingInvoker, RecordingSender, create_event
from cfnkit.waiter import (
    MAX_ASYNC_PAYLOAD_BYTES,
    Continuation,
    LambdaInvoker,
    Waiter,
    check_state,
    continuation_event,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:cfnkit-provider"


class Counter(Provider):
    """Create starts work; poll counts up to `done_at`; on_timeout records cleanup."""

    def __init__(
        self, interval: float = 0.25, done_at: int = 3, limit: float | None = None, cleanup: str = "stopped task t-1"
    ) -> None:
        self.interval = interval
        self.done_at = done_at
        self.limit = limit
        self.cleanup = cleanup
        self.creates = 0
        self.polls: list[dict[str, Any]] = []
        self.timeouts: list[dict[str, Any]] = []

    def create(self, request: Request) -> InProgress:
        self.creates += 1
        return InProgress({"task": "t-1", "n": 0}, interval=self.interval)

    def poll(self, request: Request, state: State) -> InProgress | Result:
        self.polls.append(dict(state))
        n = state["n"] + 1
        if n >= self.done_at:
            return Result(physical_id="t-1", data={"Polls": n})
        return InProgress({**state, "n": n}, interval=self.interval)

    def on_timeout(self, request: Request, state: State) -> str:
        self.timeouts.append(dict(state))
        return self.cleanup

    def timeout(self, request: Request) -> float | None:
        return self.limit


def handle(
    provider: Provider,
    event: dict[str, Any],
    clock: FakeClock,
    *,
    timeout: float = 900.0,
    invoker: RecordingInvoker | None = None,
    context: Any = None,
) -> RecordingSender:
    sender = RecordingSender()
    CustomResource(provider, sender=sender, clock=clock, invoker=invoker or RecordingInvoker())(
        event, context if context is not None else FakeContext(timeout, clock=clock)
    )
    return sender


def answer(sender: RecordingSender) -> tuple[str, str, str]:
    body = sender.only
    return body["Status"], body["Reason"], body["PhysicalResourceId"]


EVENT = create_event({}, request_id="req-1")
EVENT_120 = create_event({}, request_id="req-1", service_timeout=120)


def test_polls_at_a_sub_second_interval_until_done() -> None:
    clock, provider = FakeClock(), Counter(interval=0.25)
    sender = handle(provider, EVENT, clock)
    assert answer(sender) == ("SUCCESS", "", "t-1")
    assert sender.only["Data"] == {"Polls": 3}
    assert clock.sleeps == [0.25, 0.25, 0.25]
    assert [p["n"] for p in provider.polls] == [0, 1, 2]


def test_a_negative_interval_polls_without_sleeping() -> None:
    clock = FakeClock()
    assert answer(handle(Counter(interval=-1.0), EVENT, clock))[0] == "SUCCESS"
    assert clock.sleeps == [0.0, 0.0, 0.0]


def test_overall_deadline_is_service_timeout_minus_margin_with_cleanup() -> None:
    clock, provider = FakeClock(), Counter(interval=30.0, done_at=10**6)
    sender = handle(provider, EVENT_120, clock)
    assert answer(sender) == ("FAILED", "timed out after 110 s; stopped task t-1", "cfnkit-failed-create-req-1")
    assert clock.sleeps == [30.0, 30.0, 30.0, 20.0]
    assert provider.timeouts == [{"task": "t-1", "n": 4}]


def test_the_provider_timeout_wins_when_shorter() -> None:
    sender = handle(Counter(interval=10.0, done_at=10**6, limit=45.0, cleanup=""), EVENT_120, FakeClock())
    assert answer(sender) == ("FAILED", "timed out after 45 s", "cfnkit-failed-create-req-1")


def test_a_cleanup_that_raises_is_reported_in_the_reason() -> None:
    class Failing(Counter):
        def on_timeout(self, request: Request, state: State) -> str:
            raise RuntimeError("stop denied")

    sender = handle(Failing(interval=60.0, done_at=10**6, limit=30.0), EVENT, FakeClock())
    assert answer(sender) == (
        "FAILED",
        "timed out after 30 s; cleanup failed (RuntimeError: stop denied)",
        "cfnkit-failed-create-req-1",
    )


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ({"ids": {1, 2}}, "the provider's wait state is not JSON-safe (Object of type set is not JSON serializable)"),
        ({"blob": "x" * 40000}, "the provider's wait state is 40011 bytes; the limit is 32768"),
    ],
)
def test_a_state_that_cannot_travel_fails(state: dict[str, Any], reason: str) -> None:
    class Bad(Provider):
        def create(self, request: Request) -> InProgress:
            return InProgress(state)

    assert answer(handle(Bad(), EVENT, FakeClock())) == ("FAILED", reason, "cfnkit-failed-create-req-1")


def test_in_progress_without_poll_fails_clearly() -> None:
    class NoPoll(Provider):
        def create(self, request: Request) -> InProgress:
            return InProgress({})

    assert answer(handle(NoPoll(), EVENT, FakeClock())) == (
        "FAILED",
        "NoPoll returned InProgress but does not implement poll",
        "cfnkit-failed-create-req-1",
    )


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (None, "Odd returned NoneType, expected Result or InProgress"),
        (
            InProgress({}, interval=float("nan")),
            "Odd returned InProgress with an interval that is not a number of seconds",
        ),
        (InProgress({}, interval="5"), "Odd returned InProgress with an interval that is not a number of seconds"),  # type: ignore[arg-type]
    ],
)
def test_poll_answering_nonsense_fails(outcome: Any, reason: str) -> None:
    class Odd(Counter):
        def poll(self, request: Request, state: State) -> Any:
            return outcome

    assert answer(handle(Odd(), EVENT, FakeClock())) == ("FAILED", reason, "cfnkit-failed-create-req-1")


# -- continuation -----------------------------------------------------------------------


def hand_off(provider: Counter, event: dict[str, Any], clock: FakeClock) -> tuple[RecordingSender, RecordingInvoker]:
    invoker = RecordingInvoker()
    sender = handle(provider, event, clock, timeout=60.0, invoker=invoker)
    return sender, invoker


def test_a_low_remaining_time_hands_the_wait_to_a_new_invocation() -> None:
    clock, provider = FakeClock(), Counter(interval=10.0, done_at=10**6)
    started = clock.now()
    sender, invoker = hand_off(provider, EVENT, clock)
    assert sender.sent == []  # the continued invocation answers
    assert clock.sleeps == [10.0, 10.0, 10.0, 10.0]  # 60 s Lambda, margin min(20, 15): 20 s left -> hand off
    function_arn, event = invoker.calls[0]
    assert function_arn == ARN
    assert event == {**EVENT, "CfnkitContinuation": {"state": {"task": "t-1", "n": 4}, "started_at": started, "hop": 1}}


def test_the_continued_invocation_resumes_polling_without_calling_create() -> None:
    clock, first = FakeClock(), Counter(interval=10.0, done_at=6)
    _, invoker = hand_off(first, EVENT, clock)
    resumed = Counter(interval=10.0, done_at=6)
    sender = handle(resumed, invoker.calls[0][1], clock)
    assert resumed.creates == 0
    assert [p["n"] for p in resumed.polls] == [4, 5]
    assert answer(sender) == ("SUCCESS", "", "t-1")


@pytest.mark.parametrize(("margins", "sleeps"), [({}, 10), ({"handoff_margin": 25.0}, 9)])
def test_the_wait_is_handed_on_once_less_than_the_handoff_margin_would_be_left(
    margins: dict[str, Any], sleeps: int
) -> None:
    # A 120 s invocation polling every 10 s; the margin is min(handoff_margin, 25% of 120 s).
    # Default 20 s: after the poll at 90 s a pause would leave exactly 20 s, not less, so it
    # sleeps once more and hands on at 100 s. 25 s: it hands on at 90 s.
    clock, invoker = FakeClock(), RecordingInvoker()
    sender = RecordingSender()
    CustomResource(Counter(interval=10.0, done_at=10**6), sender=sender, clock=clock, invoker=invoker, **margins)(
        EVENT, FakeContext(120.0, clock=clock)
    )
    assert clock.sleeps == [10.0] * sleeps
    assert [call[1]["CfnkitContinuation"]["state"] for call in invoker.calls] == [{"task": "t-1", "n": sleeps}]
    assert sender.sent == []


def test_each_hop_increments_the_count_and_keeps_the_start() -> None:
    clock = FakeClock()
    started = clock.now()
    _, first = hand_off(Counter(interval=10.0, done_at=10**6), EVENT, clock)
    _, second = hand_off(Counter(interval=10.0, done_at=10**6), first.calls[0][1], clock)
    continuation = second.calls[0][1]["CfnkitContinuation"]
    assert (continuation["hop"], continuation["started_at"]) == (2, started)


def test_the_overall_deadline_holds_across_hops() -> None:
    clock = FakeClock()
    event = {
        **EVENT_120,
        "CfnkitContinuation": {"state": {"task": "t-1", "n": 0}, "started_at": clock.now() - 200, "hop": 3},
    }
    provider = Counter(interval=10.0, done_at=10**6)
    assert answer(handle(provider, event, clock)) == (
        "FAILED",
        "timed out after 200 s; stopped task t-1",
        "cfnkit-failed-create-req-1",
    )
    assert provider.creates == 0


def test_a_failed_invoke_sends_failed_after_cleanup() -> None:
    clock, provider = FakeClock(), Counter(interval=10.0, done_at=10**6)
    invoker = RecordingInvoker(error=RuntimeError("Rate exceeded"))
    sender = handle(provider, EVENT, clock, timeout=60.0, invoker=invoker)
    assert answer(sender) == (
        "FAILED",
        "could not continue the wait in a new invocation: RuntimeError: Rate exceeded; stopped task t-1",
        "cfnkit-failed-create-req-1",
    )
    assert provider.timeouts == [{"task": "t-1", "n": 4}]


def test_a_continuation_failure_reason_is_used_as_is() -> None:
    clock = FakeClock()
    invoker = RecordingInvoker(error=ContinuationFailed("payload too big"))
    sender = handle(Counter(interval=10.0, done_at=10**6, cleanup=""), EVENT, clock, timeout=60.0, invoker=invoker)
    assert answer(sender) == (
        "FAILED",
        "could not continue the wait in a new invocation: payload too big",
        "cfnkit-failed-create-req-1",
    )


def test_a_context_without_a_function_arn_cannot_continue() -> None:
    class Bare:
        def __init__(self, clock: FakeClock) -> None:
            self.inner = FakeContext(60.0, clock=clock)

        def get_remaining_time_in_millis(self) -> int:
            return self.inner.get_remaining_time_in_millis()

    clock = FakeClock()
    sender = handle(Counter(interval=10.0, done_at=10**6), EVENT, clock, context=Bare(clock))
    assert answer(sender) == (
        "FAILED",
        "could not continue the wait in a new invocation: the Lambda context has no "
        "invoked_function_arn; stopped task t-1",
        "cfnkit-failed-create-req-1",
    )


def test_runaway_continuations_stop_after_max_hops() -> None:
    clock = FakeClock()
    event = {
        **EVENT,
        "CfnkitContinuation": {"state": {"task": "t-1", "n": 0}, "started_at": clock.now(), "hop": MAX_HOPS},
    }
    provider = Counter(interval=10.0, done_at=10**6)
    sender = RecordingSender()
    CustomResource(provider, sender=sender, clock=clock, invoker=RecordingInvoker(), recursive_loop="Allow")(
        event, FakeContext(60.0, clock=clock)
    )
    assert answer(sender) == (
        "FAILED",
        f"the wait was continued {MAX_HOPS} times; giving up; stopped task t-1",
        "cfnkit-failed-create-req-1",
    )


LOOP_REASON = (
    "the wait needs more than 15 invocations of this function, and Lambda's recursive loop detection stops a "
    "chain of about 16 (the function's RecursiveLoop is Terminate, Lambda's default). Give the function a longer "
    "Timeout (this invocation had 60 s), or set its RecursiveLoop to Allow and its environment variable "
    "CFNKIT_RECURSIVE_LOOP to Allow; stopped task t-1"
)


def continued(hop: int, clock: FakeClock) -> dict[str, Any]:
    return {**EVENT, "CfnkitContinuation": {"state": {"task": "t-1", "n": 0}, "started_at": clock.now(), "hop": hop}}


@pytest.mark.parametrize(("hop", "hands_off"), [(13, True), (14, False)])
def test_under_terminate_the_fifteenth_invocation_answers_instead_of_handing_off(hop: int, hands_off: bool) -> None:
    # Lambda drops the ~16th invocation of a chain (RecursiveLoop Terminate, its default): the
    # core never hands off to an invocation numbered 16 (hop 15) or later.
    clock, invoker, sender = FakeClock(), RecordingInvoker(), RecordingSender()
    CustomResource(Counter(interval=10.0, done_at=10**6), sender=sender, clock=clock, invoker=invoker)(
        continued(hop, clock), FakeContext(60.0, clock=clock)
    )
    if hands_off:
        assert (sender.bodies, [e["CfnkitContinuation"]["hop"] for _, e in invoker.calls]) == ([], [14])
    else:
        assert invoker.calls == []
        assert answer(sender) == ("FAILED", LOOP_REASON, "cfnkit-failed-create-req-1")


@pytest.mark.parametrize(
    ("setting", "hands_off"), [("Allow", True), ("allow", True), ("Terminate", False), ("", False), ("Alow", False)]
)
def test_the_recursive_loop_setting_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, setting: str, hands_off: bool
) -> None:
    monkeypatch.setenv("CFNKIT_RECURSIVE_LOOP", setting)
    clock, invoker, sender = FakeClock(), RecordingInvoker(), RecordingSender()
    CustomResource(Counter(interval=10.0, done_at=10**6), sender=sender, clock=clock, invoker=invoker)(
        continued(14, clock), FakeContext(60.0, clock=clock)
    )
    assert bool(invoker.calls) is hands_off
    assert bool(sender.bodies) is not hands_off


def loop_warnings(out: str) -> list[dict[str, Any]]:
    fields = ("level", "message", "invocations_needed", "invocations_allowed", "fix")
    lines = [json.loads(line) for line in out.splitlines()]
    return [{k: line[k] for k in fields} for line in lines if "invocations_needed" in line]


def loop_warning(needed: int) -> dict[str, Any]:
    return {
        "level": "WARNING",
        "message": "a wait this long would need more invocations than Lambda's recursive loop detection allows",
        "invocations_needed": needed,
        "invocations_allowed": 15,
        "fix": "a longer Timeout, or RecursiveLoop Allow and CFNKIT_RECURSIVE_LOOP=Allow",
    }


def test_a_wait_longer_than_the_loop_limit_allows_is_announced_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    handle(Counter(interval=10.0, done_at=10**6), EVENT, FakeClock(), timeout=60.0)
    # 3590 s of waiting at 45 s per 60 s invocation: 80 invocations; 15 are allowed.
    assert loop_warnings(capsys.readouterr().out) == [loop_warning(80)]


@pytest.mark.parametrize(("limit", "warned"), [(675.0, False), (675.5, True)])
def test_the_loop_warning_starts_at_one_invocation_more_than_allowed(
    capsys: pytest.CaptureFixture[str], limit: float, warned: bool
) -> None:
    # The provider's own timeout sets the wait: 675 s at 45 s per 60 s invocation is exactly
    # the 15 invocations RecursiveLoop Terminate allows; half a second more needs a 16th.
    capsys.readouterr()
    handle(Counter(interval=10.0, done_at=10**6, limit=limit), EVENT, FakeClock(), timeout=60.0)
    assert loop_warnings(capsys.readouterr().out) == ([loop_warning(16)] if warned else [])


@pytest.mark.parametrize(("hop", "recursive_loop"), [(3, "Terminate"), (0, "Allow")])
def test_the_loop_warning_is_given_only_by_the_first_invocation_under_terminate(
    capsys: pytest.CaptureFixture[str], hop: int, recursive_loop: str
) -> None:
    # A continued invocation's wait was announced by the first; under Allow there is no limit
    # to announce, even for a wait of 2394 invocations of 2 s (more than MAX_HOPS).
    clock = FakeClock()
    capsys.readouterr()
    CustomResource(
        Counter(interval=0.5, done_at=10**6),
        sender=RecordingSender(),
        clock=clock,
        invoker=RecordingInvoker(),
        recursive_loop=recursive_loop,
    )(continued(hop, clock) if hop else EVENT, FakeContext(60.0 if hop else 2.0, clock=clock))
    assert loop_warnings(capsys.readouterr().out) == []


def test_a_provider_error_during_resumed_polling_fails() -> None:
    class Gone(Counter):
        def poll(self, request: Request, state: State) -> Result:
            raise ProviderError("task t-1 vanished")

    event = {**EVENT, "CfnkitContinuation": {"state": {"n": 0}, "started_at": FakeClock().now(), "hop": 1}}
    assert answer(handle(Gone(), event, FakeClock())) == ("FAILED", "task t-1 vanished", "cfnkit-failed-create-req-1")


def test_continuation_round_trip() -> None:
    request = parse_request({**EVENT, "CfnkitContinuation": {"state": {}, "started_at": 1, "hop": 1}})
    event = continuation_event(request, Continuation({"a": [1]}, 5.0, 2))
    assert event["CfnkitContinuation"] == {"state": {"a": [1]}, "started_at": 5.0, "hop": 2}
    assert Continuation.from_event(event) == Continuation({"a": [1]}, 5.0, 2)
    assert Continuation.from_event(EVENT) is None


# -- LambdaInvoker ------------------------------------------------------------------------


@pytest.mark.usefixtures("aws_env")
def test_lambda_invoker_invokes_asynchronously_with_the_event() -> None:
    client = boto3.client("lambda")
    event = {"RequestType": "Create", "CfnkitContinuation": {"hop": 1}}
    payload = json.dumps(event, separators=(",", ":")).encode()
    with Stubber(client) as stub:
        stub.add_response(
            "invoke", {"StatusCode": 202}, {"FunctionName": ARN, "InvocationType": "Event", "Payload": payload}
        )
        LambdaInvoker(client).invoke_async(ARN, event)
        stub.assert_no_pending_responses()


@pytest.mark.usefixtures("aws_env")
def test_lambda_invoker_creates_its_client_lazily_with_bounded_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CFNKIT_LOCAL_CONTINUATION_DIR", raising=False)
    real_client: Any = boto3.client
    stubs: list[Stubber] = []

    def stubbed_client(service: str, **kwargs: Any) -> Any:
        client = real_client(service, **kwargs)
        stub = Stubber(client)
        stub.add_response(
            "invoke", {"StatusCode": 202}, {"FunctionName": ARN, "InvocationType": "Event", "Payload": b"{}"}
        )
        stub.activate()
        stubs.append(stub)
        return client

    monkeypatch.setattr(boto3, "client", stubbed_client)
    invoker = LambdaInvoker()
    assert stubs == []  # no client until the first hand-off
    invoker.invoke_async(ARN, {})
    stubs[0].assert_no_pending_responses()
    config: Any = stubs[0].client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 4)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


@pytest.mark.usefixtures("aws_env")
def test_lambda_invoker_rejects_a_status_other_than_202() -> None:
    client = boto3.client("lambda")
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 200})
        with pytest.raises(ContinuationFailed) as caught:
            LambdaInvoker(client).invoke_async(ARN, {})
    assert caught.value.reason() == "Lambda Invoke answered status 200, expected 202"


def test_lambda_invoker_refuses_payloads_over_the_async_limit() -> None:
    with pytest.raises(ContinuationFailed) as caught:
        LambdaInvoker(client=object()).invoke_async(ARN, {"blob": "x" * MAX_ASYNC_PAYLOAD_BYTES})
    assert caught.value.reason() == (
        f"continuation payload is {MAX_ASYNC_PAYLOAD_BYTES + 11} bytes; Lambda's limit is {MAX_ASYNC_PAYLOAD_BYTES}"
    )


def test_the_default_cleanup_adds_no_detail() -> None:
    class NoCleanup(Provider):
        def create(self, request: Request) -> InProgress:
            return InProgress({}, interval=50.0)

        def poll(self, request: Request, state: State) -> InProgress:
            return InProgress({}, interval=50.0)

    assert answer(handle(NoCleanup(), EVENT_120, FakeClock())) == (
        "FAILED",
        "timed out after 110 s",
        "cfnkit-failed-create-req-1",
    )


def test_no_hand_off_once_the_request_was_answered() -> None:
    clock, invoker, provider = FakeClock(), RecordingInvoker(), Counter(interval=10.0, done_at=10**6)
    claims: list[str] = []

    def already_answered(action: Any) -> bool:
        claims.append("claimed")
        return False  # the watchdog answered first: the invoke must not run

    budget = Budget.start(clock.now(), 60.0)
    result = Waiter(provider, clock=clock, invoker=invoker).wait(
        parse_request(EVENT),
        InProgress({"task": "t-1", "n": 0}, interval=10.0),
        budget,
        FakeContext(60.0, clock=clock),
        already_answered,
    )
    assert result is None
    assert claims == ["claimed"]
    assert invoker.calls == []
    assert provider.timeouts == []  # handed off (to nobody): nothing to clean up


def test_the_waiter_returns_a_result_without_polling() -> None:
    clock, provider = FakeClock(), Counter()
    done = Result(physical_id="p", data={"A": "1"})
    waiter = Waiter(provider, clock=clock, invoker=RecordingInvoker())
    assert (
        waiter.wait(
            parse_request(EVENT), done, Budget.start(clock.now(), 900.0), FakeContext(clock=clock), lambda action: True
        )
        is done
    )
    assert (provider.polls, clock.sleeps) == ([], [])


def test_the_waiter_polls_a_continuation_at_once() -> None:
    clock, provider = FakeClock(), Counter(interval=10.0, done_at=2)
    continuation = Continuation({"task": "t-1", "n": 0}, clock.now() - 100.0, 2)
    budget = Budget.start(clock.now(), 900.0, started_at=continuation.started_at, hop=continuation.hop)
    result = Waiter(provider, clock=clock, invoker=RecordingInvoker()).wait(
        parse_request(EVENT), continuation, budget, FakeContext(clock=clock), lambda action: True
    )
    assert result == Result(physical_id="t-1", data={"Polls": 2})
    assert [p["n"] for p in provider.polls] == [0, 1]
    assert clock.sleeps == [10.0]


# -- limits and hand-offs at their edges ---------------------------------------------------


class NamesItsRequest(Counter):
    """A poll and a cleanup that need the request (a real one stops the task it started for it)."""

    def poll(self, request: Request, state: State) -> InProgress | Result:
        self.polled_for.append(request.request_id)
        return super().poll(request, state)

    @property
    def polled_for(self) -> list[str]:
        return self.__dict__.setdefault("_polled_for", [])

    def on_timeout(self, request: Request, state: State) -> str:
        self.timeouts.append(dict(state))
        return f"stopped the task of {request.logical_id}"


def test_the_cleanup_is_given_the_request_on_the_deadline_and_on_a_failed_hand_off() -> None:
    sender = handle(NamesItsRequest(interval=30.0, done_at=10**6), EVENT_120, FakeClock())
    assert answer(sender)[1] == "timed out after 110 s; stopped the task of Resource"
    sender = handle(
        NamesItsRequest(interval=10.0, done_at=10**6),
        EVENT,
        FakeClock(),
        timeout=60.0,
        invoker=RecordingInvoker(error=RuntimeError("Rate exceeded")),
    )
    assert answer(sender)[1] == (
        "could not continue the wait in a new invocation: RuntimeError: Rate exceeded; stopped the task of Resource"
    )


def test_every_poll_is_given_the_request_in_the_first_and_in_a_continued_invocation() -> None:
    clock, first = FakeClock(), NamesItsRequest(interval=10.0, done_at=10**6)
    _, invoker = hand_off(first, EVENT, clock)
    resumed = NamesItsRequest(interval=10.0, done_at=6)
    assert answer(handle(resumed, invoker.calls[0][1], clock)) == ("SUCCESS", "", "t-1")
    assert (first.polled_for, resumed.polled_for) == (["req-1"] * 4, ["req-1"] * 2)


@pytest.mark.parametrize(("cleanup", "detail"), [("names", "; stopped the task of Resource"), ("", "")])
def test_the_loop_limit_answer_carries_the_cleanup_and_nothing_when_there_is_none(cleanup: str, detail: str) -> None:
    clock, sender = FakeClock(), RecordingSender()
    provider = (
        NamesItsRequest(interval=10.0, done_at=10**6) if cleanup else Counter(interval=10.0, done_at=10**6, cleanup="")
    )
    CustomResource(provider, sender=sender, clock=clock, invoker=RecordingInvoker())(
        continued(14, clock), FakeContext(60.0, clock=clock)
    )
    reason = LOOP_REASON.removesuffix("; stopped task t-1") + detail
    assert answer(sender) == ("FAILED", reason, "cfnkit-failed-create-req-1")


def test_a_state_of_exactly_max_state_bytes_travels_and_one_byte_more_does_not() -> None:
    overhead = len(json.dumps({"s": ""}, separators=(",", ":")).encode())
    check_state({"s": "x" * (MAX_STATE_BYTES - overhead)})
    with pytest.raises(ContinuationFailed) as caught:
        check_state({"s": "x" * (MAX_STATE_BYTES - overhead + 1)})
    assert caught.value.reason() == (
        f"the provider's wait state is {MAX_STATE_BYTES + 1} bytes; the limit is {MAX_STATE_BYTES}"
    )


def test_a_payload_of_exactly_the_async_limit_is_sent() -> None:
    class Accepts:
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def invoke(self, **call: Any) -> dict[str, int]:
            self.sizes.append(len(call["Payload"]))
            return {"StatusCode": 202}

    client = Accepts()
    overhead = len(json.dumps({"blob": ""}, separators=(",", ":")).encode())
    LambdaInvoker(client).invoke_async(ARN, {"blob": "x" * (MAX_ASYNC_PAYLOAD_BYTES - overhead)})
    assert client.sizes == [MAX_ASYNC_PAYLOAD_BYTES]


def test_a_hand_off_and_a_failed_cleanup_are_logged(capfd: pytest.CaptureFixture[str]) -> None:
    class Failing(Counter):
        def on_timeout(self, request: Request, state: State) -> str:
            raise RuntimeError("stop denied")

    capfd.readouterr()
    hand_off(Counter(interval=10.0, done_at=10**6), EVENT, FakeClock())
    handle(Failing(interval=60.0, done_at=10**6, limit=30.0), EVENT, FakeClock())
    logged = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    handed = [line for line in logged if line["message"] == "wait continues in a new invocation"]
    assert [(line["level"], line["next_hop"]) for line in handed] == [("INFO", 1)]
    (failed,) = [line for line in logged if line["message"] == "cleanup after the deadline failed"]
    assert failed["level"] == "ERROR"
    assert "RuntimeError: stop denied" in failed["exception"]
