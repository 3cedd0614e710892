"""cfnkit.handler.CustomResource: exactly one response per request, whatever the provider does.

Error paths assert the exact response: Status, Reason and PhysicalResourceId.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from cfnkit import (
    CustomResource,
    Field,
    Integer,
    Provider,
    ProviderError,
    Request,
    Result,
    Schema,
    String,
    logs,
)
from cfnkit.handler import Responder, where_logs_are
from cfnkit.logs import redactor
from cfnkit.protocol import RequestType, Response, Status
from cfnkit.sender import Delivery
from cfnkit.testing import (
    STACK_ID,
    FakeClock,
    FakeContext,
    RecordingSender,
    ResponseServer,
    create_event,
    delete_event,
    update_event,
)

LOGS = (
    "see CloudWatch Logs group /aws/lambda/cfnkit-provider, stream 2026/01/01/[$LATEST]0123456789abcdef, "
    "request 00000000-0000-4000-8000-000000000001"
)
CANARY = "Zq9-canary-value-7731"


class Recorder(Provider):
    """Records calls; answers with whatever the test put in `answer`."""

    schema: Schema | None = Schema(
        Name=Field(String(min_length=1), required=True),
        Count=Field(Integer(), default=1),
        Password=Field(String(), secret=True),
    )

    def __init__(self, answer: Any = None, error: BaseException | None = None) -> None:
        self.answer = answer if answer is not None else Result(data={"Out": "x"})
        self.error = error
        self.calls: list[tuple[str, Request]] = []

    def _do(self, kind: str, request: Request) -> Any:
        self.calls.append((kind, request))
        if self.error is not None:
            raise self.error
        return self.answer

    def create(self, request: Request) -> Any:
        return self._do("create", request)

    def update(self, request: Request) -> Any:
        return self._do("update", request)

    def delete(self, request: Request) -> Any:
        return self._do("delete", request)


def run(provider: Provider, event: Any, context: Any = None, **kwargs: Any) -> RecordingSender:
    sender = RecordingSender()
    result = CustomResource(provider, sender=sender, clock=FakeClock(), **kwargs)(
        event, FakeContext() if context is None else context
    )
    assert result is None
    return sender


def answer(sender: RecordingSender) -> tuple[str, str, str]:
    body = sender.only
    return body["Status"], body["Reason"], body["PhysicalResourceId"]


CREATE = create_event({"Name": "n", "Count": "3"}, request_id="req-create")
UPDATE = update_event({"Name": "new"}, {"Name": "old", "Count": "x"}, "phys-1", request_id="req-update")
DELETE = delete_event({"Name": "n"}, "phys-1", request_id="req-delete")
DEFAULT_ID = "demo-stack-Resource-" + hashlib.sha256(f"{STACK_ID}\x1fResource".encode()).hexdigest()[:12]


# -- success ----------------------------------------------------------------------


def test_create_success_has_the_deterministic_default_id_and_data() -> None:
    provider = Recorder(Result(data={"Arn": "arn:x"}))
    sender = run(provider, CREATE)
    assert sender.only == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": DEFAULT_ID,
        "StackId": STACK_ID,
        "RequestId": "req-create",
        "LogicalResourceId": "Resource",
        "NoEcho": False,
        "Data": {"Arn": "arn:x"},
    }
    assert sender.sent[0][0] == CREATE["ResponseURL"]
    kind, request = provider.calls[0]
    assert kind == "create"
    assert request.properties == {"Name": "n", "Count": 3}
    assert request.old_properties is None  # only an Update has old properties


def test_create_default_id_is_the_same_on_redelivery() -> None:
    assert answer(run(Recorder(Result()), CREATE)) == answer(run(Recorder(Result()), CREATE))


def test_create_uses_the_provider_id() -> None:
    assert answer(run(Recorder(Result(physical_id="mine")), CREATE)) == ("SUCCESS", "", "mine")


def test_no_echo_is_passed_through_and_its_data_registered_as_secret() -> None:
    body = run(Recorder(Result(data={"Secret": CANARY, "Nested": ["no-echo-2"]}, no_echo=True)), CREATE).only
    assert (body["NoEcho"], body["Data"]) == (True, {"Secret": CANARY, "Nested": ["no-echo-2"]})
    assert redactor.redact(f"later: {CANARY} no-echo-2") == "later: **** ****"


def test_data_without_no_echo_is_not_registered() -> None:
    run(Recorder(Result(data={"Plain": "visible-value"})), CREATE)
    assert redactor.redact("visible-value") == "visible-value"


def test_update_keeps_the_id_and_parses_old_properties_leniently() -> None:
    provider = Recorder(Result())
    assert answer(run(provider, UPDATE)) == ("SUCCESS", "", "phys-1")
    kind, request = provider.calls[0]
    assert kind == "update"
    assert request.request_type is RequestType.UPDATE
    assert request.properties == {"Name": "new", "Count": 1}
    assert request.old_properties == {"Name": "old", "Count": 1}


def test_update_with_a_new_id_means_replacement() -> None:
    assert answer(run(Recorder(Result(physical_id="phys-2")), UPDATE)) == ("SUCCESS", "", "phys-2")


def test_default_update_is_create() -> None:
    class OnlyCreate(Provider):
        def create(self, request: Request) -> Result:
            return Result(data={"Via": "create"})

    assert run(OnlyCreate(), UPDATE).only["Data"] == {"Via": "create"}


def test_delete_keeps_the_id_and_the_default_delete_succeeds() -> None:
    class OnlyCreate(Provider):
        def create(self, request: Request) -> Result:
            raise AssertionError("not called")

    assert answer(run(OnlyCreate(), DELETE)) == ("SUCCESS", "", "phys-1")
    assert answer(run(Recorder(Result(physical_id="ignored")), DELETE)) == ("SUCCESS", "", "phys-1")


def test_delete_with_properties_a_schema_rejects_still_calls_the_provider() -> None:
    provider = Recorder(Result())
    event = delete_event({"Count": "many", "Unknown": "1"}, "phys-1")
    assert answer(run(provider, event)) == ("SUCCESS", "", "phys-1")
    assert provider.calls[0][1].properties == {"Count": 1}


# -- failures -------------------------------------------------------------------------


def test_provider_error_message_is_the_whole_reason() -> None:
    sender = run(Recorder(error=ProviderError("the cluster main does not exist")), CREATE)
    assert answer(sender) == ("FAILED", "the cluster main does not exist", "cfnkit-failed-create-req-create")


def test_failed_update_keeps_the_current_id() -> None:
    sender = run(Recorder(error=ProviderError("no")), UPDATE)
    assert answer(sender) == ("FAILED", "no", "phys-1")


def test_unexpected_exception_names_type_message_and_where_the_logs_are() -> None:
    sender = run(Recorder(error=KeyError("Cluster")), CREATE)
    assert answer(sender) == ("FAILED", f"KeyError: 'Cluster' ({LOGS})", "cfnkit-failed-create-req-create")


def test_unexpected_exception_without_a_context_says_see_the_logs() -> None:
    sender = RecordingSender()
    CustomResource(Recorder(error=ValueError("boom")), sender=sender, clock=FakeClock())(CREATE, None)
    assert answer(sender) == ("FAILED", "ValueError: boom (see the function's logs)", "cfnkit-failed-create-req-create")


def test_base_exception_from_the_provider_still_gets_one_answer() -> None:
    sender = run(Recorder(error=SystemExit("bye")), UPDATE)
    assert answer(sender) == ("FAILED", f"SystemExit: bye ({LOGS})", "phys-1")


def test_invalid_properties_fail_with_every_problem_and_never_the_value() -> None:
    event = create_event({"Count": CANARY, "Nmae": "x"}, request_id="req-bad")
    provider = Recorder()
    sender = run(provider, event)
    assert answer(sender) == (
        "FAILED",
        "Invalid properties: Nmae: unknown property (did you mean Name?); Name: required; expected a non-empty "
        "string; Count: expected an integer, got a string",
        "cfnkit-failed-create-req-bad",
    )
    assert provider.calls == []


def test_reason_masks_secret_property_values() -> None:
    event = create_event({"Name": "n", "Password": CANARY}, request_id="req-secret")
    sender = run(Recorder(error=ProviderError(f"login with {CANARY} refused")), event)
    assert answer(sender) == ("FAILED", "login with **** refused", "cfnkit-failed-create-req-secret")


@pytest.mark.parametrize("outcome", [None, "done", {"Status": "SUCCESS"}])
def test_provider_returning_something_else_gets_failed(outcome: Any) -> None:
    class Sloppy(Provider):
        def create(self, request: Request) -> Any:
            return outcome

    assert answer(run(Sloppy(), CREATE)) == (
        "FAILED",
        f"Sloppy returned {type(outcome).__name__}, expected Result or InProgress",
        "cfnkit-failed-create-req-create",
    )


def test_physical_id_over_1_kb_fails() -> None:
    sender = run(Recorder(Result(physical_id="x" * 1025)), CREATE)
    assert answer(sender) == (
        "FAILED",
        "Recorder returned an invalid id: PhysicalResourceId is 1025 bytes; the limit is 1024",
        "cfnkit-failed-create-req-create",
    )


def test_empty_physical_id_fails_and_update_keeps_the_old_id() -> None:
    sender = run(Recorder(Result(physical_id="")), UPDATE)
    assert answer(sender) == (
        "FAILED",
        "Recorder returned an invalid id: PhysicalResourceId must not be empty",
        "phys-1",
    )


def test_non_string_physical_id_fails() -> None:
    sender = run(Recorder(Result(physical_id=42)), CREATE)  # type: ignore[arg-type]
    assert answer(sender) == (
        "FAILED",
        "Recorder returned an invalid id: PhysicalResourceId must be a string, got int",
        "cfnkit-failed-create-req-create",
    )


def json_error(data: Mapping[str, Any]) -> str:
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return str(exc)
    raise AssertionError("serializable")


@pytest.mark.parametrize("data", [{"Tags": {"a", "b"}}, {"Ratio": float("nan")}])
def test_data_that_is_not_json_fails(data: dict[str, Any]) -> None:
    sender = run(Recorder(Result(data=data)), CREATE)
    assert answer(sender) == (
        "FAILED",
        f"Recorder returned Data that is not JSON: {json_error(data)}",
        "cfnkit-failed-create-req-create",
    )


def test_data_that_is_not_an_object_fails() -> None:
    sender = run(Recorder(Result(data=[1, 2], no_echo=True)), CREATE)  # type: ignore[arg-type]
    assert answer(sender) == (
        "FAILED",
        "Recorder returned Data that is not an object (list)",
        "cfnkit-failed-create-req-create",
    )


def test_data_too_large_fails_listing_keys_and_the_hint_but_keeps_the_created_id() -> None:
    result = Result(data={"Blob": CANARY * 300, "Small": "s"}, oversize_hint="Set Keys to pick fewer.")
    body = run(Recorder(result), CREATE).only
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == DEFAULT_ID  # the resource exists: the Delete that follows removes it
    assert body["Reason"].startswith("Response too large: ")
    assert body["Reason"].endswith("Largest Data keys: Blob (6309 B), Small (11 B). Set Keys to pick fewer.")
    assert CANARY not in json.dumps(body)


# -- failed Create marker ----------------------------------------------------------------


def test_delete_of_a_failed_create_succeeds_without_calling_the_provider() -> None:
    failed = answer(run(Recorder(error=ProviderError("no")), CREATE))
    provider = Recorder(error=AssertionError("must not be called"))
    sender = run(provider, delete_event({"Name": "n"}, failed[2], request_id="req-delete"))
    assert answer(sender) == ("SUCCESS", "", "cfnkit-failed-create-req-create")
    assert provider.calls == []


# -- malformed events -------------------------------------------------------------------------


def test_malformed_event_with_a_usable_url_gets_failed() -> None:
    event = create_event({}, request_id="req-m")
    event["RequestType"] = "Replace"
    del event["LogicalResourceId"]
    provider = Recorder()
    sender = run(provider, event)
    assert sender.only == {
        "Status": "FAILED",
        "Reason": "Malformed custom resource event: RequestType must be one of Create, Update, Delete; "
        "LogicalResourceId must be a non-empty string (missing)",
        "PhysicalResourceId": "cfnkit-failed-create-req-m",
        "StackId": STACK_ID,
        "RequestId": "req-m",
        "LogicalResourceId": "",
        "NoEcho": False,
    }
    assert provider.calls == []


def test_malformed_update_answers_with_its_physical_id() -> None:
    event = update_event({}, {}, "phys-1", request_id="req-m")
    del event["OldResourceProperties"]
    assert answer(run(Recorder(), event)) == (
        "FAILED",
        "Malformed custom resource event: OldResourceProperties must be an object (missing)",
        "phys-1",
    )


def test_malformed_event_without_ids_still_answers() -> None:
    sender = run(Recorder(), {"ResponseURL": "http://127.0.0.1:9/r", "RequestId": 5})
    assert sender.only["RequestId"] == "unknown-request"
    assert sender.only["PhysicalResourceId"] == "cfnkit-failed-create-unknown-request"


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "Create",
        {},
        {"RequestType": "Create", "ResponseURL": 7},
        {"RequestType": "Create", "ResponseURL": "file:///etc/passwd"},
    ],
)
def test_malformed_event_without_a_usable_url_is_only_logged(event: Any) -> None:
    assert run(Recorder(), event).sent == []


@pytest.mark.parametrize(
    "continuation",
    [
        "state",  # not an object
        {"state": [], "started_at": 5.0, "hop": 1},
        {"state": {}, "started_at": "5", "hop": 1},
        {"state": {}, "started_at": 5.0, "hop": 1.0},
        {"state": {}, "hop": 1},
    ],
)
def test_malformed_continuation_gets_failed(continuation: Any) -> None:
    # Each part wrong on its own: any one of them makes the continuation unusable.
    event = {**CREATE, "CfnkitContinuation": continuation}
    assert answer(run(Recorder(), event)) == (
        "FAILED",
        "Malformed custom resource event: CfnkitContinuation must hold state, started_at and hop",
        "cfnkit-failed-create-req-create",
    )


# -- delivery ------------------------------------------------------------------------------


def test_a_sender_that_raises_does_not_make_the_handler_raise() -> None:
    class Broken:
        calls = 0

        def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
            Broken.calls += 1
            raise RuntimeError(f"cannot reach {url}")

    CustomResource(Recorder(), sender=Broken(), clock=FakeClock())(CREATE, FakeContext())
    malformed = {**CREATE, "RequestType": "Nope"}
    CustomResource(Recorder(), sender=Broken(), clock=FakeClock())(malformed, FakeContext())
    assert Broken.calls == 2


def test_an_undelivered_response_is_not_resent() -> None:
    sender = RecordingSender(deliver=False)
    CustomResource(Recorder(), sender=sender, clock=FakeClock())(CREATE, FakeContext())
    assert len(sender.sent) == 1


# -- the watchdog ----------------------------------------------------------------------------


class Blocking(Provider):
    """Blocks until the watchdog has answered, then returns a Result."""

    def __init__(self, answered: threading.Event) -> None:
        self.answered = answered
        self.returned = False

    def create(self, request: Request) -> Result:
        assert self.answered.wait(10.0), "the watchdog never answered"
        self.returned = True
        return Result(physical_id="late")

    update = create


class SignallingSender(RecordingSender):
    def __init__(self) -> None:
        super().__init__()
        self.answered = threading.Event()

    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
        delivery = super().send(url, body, deadline=deadline)
        self.answered.set()
        return delivery


@pytest.mark.parametrize(("event", "physical_id"), [(CREATE, "cfnkit-failed-create-req-create"), (UPDATE, "phys-1")])
def test_a_blocking_provider_gets_exactly_one_failed_before_the_deadline(
    logged: Callable[[], list[Any]], event: dict[str, Any], physical_id: str
) -> None:
    sender = SignallingSender()
    provider = Blocking(sender.answered)
    CustomResource(provider, sender=sender, deadline_margin=0.3)(event, FakeContext(timeout=1.0))
    assert provider.returned  # the provider's late Result was suppressed, not sent
    reason = (
        "The function was still working 0.1 s before its Lambda timeout; answering FAILED now so the stack "
        f"does not wait ({LOGS})"
    )
    assert answer(sender) == ("FAILED", reason, physical_id)
    assert [
        (line["message"], line.get("status"), line.get("by"), line.get("answered_by"), line.get("suppressed"))
        for line in logged()
    ] == [
        ("request received", None, None, None, None),
        ("sending response", "FAILED", "watchdog", None, None),
        ("response suppressed: this request was already answered", None, None, "watchdog", "handler"),
    ]


def test_the_watchdog_uses_the_configured_margin_when_time_allows() -> None:
    sender = SignallingSender()
    CustomResource(Blocking(sender.answered), sender=sender, deadline_margin=0.2)(CREATE, FakeContext(timeout=2.5))
    assert sender.only["Reason"].startswith("The function was still working 0.2 s before its Lambda timeout")


class DeadlineSpy(RecordingSender):
    """Records the deadline each response was sent with."""

    def __init__(self) -> None:
        super().__init__()
        self.deadlines: list[float | None] = []

    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
        self.deadlines.append(deadline)
        return super().send(url, body, deadline=deadline)

    def seconds_left(self, clock: FakeClock) -> list[Any]:
        """Each deadline as seconds after clock.now(), to the millisecond (the clock reads ~1.8e9)."""
        return [None if deadline is None else round(deadline - clock.now(), 3) for deadline in self.deadlines]


@pytest.mark.parametrize(("timeout", "reserve"), [(60.0, 0.2), (3.0, 0.075), (1.0, 0.025)])
def test_the_watchdog_answer_has_time_left_to_be_delivered(timeout: float, reserve: float) -> None:
    clock, sender = FakeClock(), DeadlineSpy()
    CustomResource(Recorder(), sender=sender, clock=clock, deadline_margin=5.0)(
        CREATE, FakeContext(timeout, clock=clock)
    )
    margin = min(5.0, timeout * 0.1)
    assert sender.seconds_left(clock) == [round(timeout - reserve, 3)]
    assert sender.deadlines[0] is not None
    assert sender.deadlines[0] > clock.now() + timeout - margin  # the watchdog fires at timeout - margin


def test_a_malformed_event_answer_keeps_the_same_reserve_before_a_short_deadline() -> None:
    clock, sender = FakeClock(), DeadlineSpy()
    CustomResource(Recorder(), sender=sender, clock=clock)(
        {**CREATE, "RequestType": "Nope"}, FakeContext(1.0, clock=clock)
    )
    assert sender.only["Status"] == "FAILED"
    # The watchdog's reserve (a quarter of its 0.1 s margin), not a fixed 0.2 s.
    assert sender.seconds_left(clock) == [0.975]


def test_responder_hand_off_and_respond_exclude_each_other() -> None:
    sender = RecordingSender()
    responder = Responder("http://127.0.0.1:9/r", sender, deadline=0.0)
    ran: list[str] = []
    assert responder.hand_off(lambda: ran.append("invoke"))
    response = Response(Status.FAILED, "id", "stack", "req", "Res", reason="late")
    assert not responder.respond(response, by="watchdog")
    assert sender.sent == []
    other = Responder("http://127.0.0.1:9/r", sender, deadline=0.0)
    assert other.respond(response, by="watchdog")
    assert not other.hand_off(lambda: ran.append("too late"))
    assert ran == ["invoke"]
    assert len(sender.sent) == 1


def test_where_logs_are_without_a_log_group() -> None:
    assert where_logs_are(object()) == "see the function's logs"


def test_oversize_data_with_mixed_key_types_still_lists_its_keys() -> None:
    body = run(Recorder(Result(data={1: "x" * 3000, "a": "y" * 3000})), CREATE).only  # type: ignore[dict-item]
    assert (body["Status"], body["Reason"], body["PhysicalResourceId"]) == (
        "FAILED",
        "Response too large: 6294 bytes with its Data; the limit is 4096 bytes. "
        "Largest Data keys: 1 (3006 B), a (3006 B).",  # equal sizes of an int and a str key once broke sorting
        DEFAULT_ID,
    )


def test_a_response_that_cannot_be_encoded_is_answered_failed() -> None:
    # Only the Responder sees a Response this broken (success_response checks Data first),
    # so it is given one directly: its one answer must still go out, as FAILED.
    sender = RecordingSender()
    broken = Response(Status.SUCCESS, "p", STACK_ID, "req", "Res", data={"Handle": object()})
    assert Responder("http://127.0.0.1:9/r", sender, deadline=0.0).respond(broken, by="handler")
    assert answer(sender) == (
        "FAILED",
        "The response could not be encoded (TypeError: Object of type object is not JSON serializable)",
        "p",
    )
    assert "Data" not in sender.only


def test_data_with_int_and_str_keys_is_sent() -> None:
    body = run(Recorder(Result(data={"": "", 0: "zero"})), CREATE).only  # type: ignore[dict-item]
    assert (body["Status"], body["Data"]) == ("SUCCESS", {"": "", "0": "zero"})


def test_a_context_without_a_usable_remaining_time_assumes_lambdas_maximum() -> None:
    class Broken:
        def get_remaining_time_in_millis(self) -> None:
            return None

    assert answer(run(Recorder(Result(physical_id="p")), CREATE, context=Broken())) == ("SUCCESS", "", "p")


def test_property_names_of_any_type_do_not_break_the_request_log() -> None:
    event = create_event({}, request_id="req-keys")
    event["ResourceProperties"] = {**event["ResourceProperties"], 1: "x", "Name": "n"}
    provider = Recorder(Result(physical_id="p"))
    provider.schema = None
    assert answer(run(provider, event)) == ("SUCCESS", "", "p")


def test_a_provider_blocked_past_a_short_service_timeout_is_answered_before_cloudformation_gives_up() -> None:
    # ServiceTimeout 2 s is shorter than the 30 s Lambda: the watchdog guards CloudFormation's
    # limit too (half a margin after the waiter's deadline: 2 - 0.1 s).
    sender = SignallingSender()
    event = create_event({"Name": "n"}, service_timeout=2, request_id="req-short")
    CustomResource(Blocking(sender.answered), sender=sender)(event, FakeContext(timeout=30.0))
    assert answer(sender) == (
        "FAILED",
        "The function was still working as CloudFormation's ServiceTimeout of 2 s was about to expire; "
        f"answering FAILED now ({LOGS})",
        "cfnkit-failed-create-req-short",
    )


def test_a_small_configured_deadline_margin_also_shrinks_the_send_reserve() -> None:
    # A 60 s invocation would allow a 5 s margin; 0.4 s is configured, so the watchdog's
    # PUT keeps a quarter of it, 0.1 s, before the Lambda deadline.
    clock, sender = FakeClock(), DeadlineSpy()
    CustomResource(Recorder(), sender=sender, clock=clock, deadline_margin=0.4)(CREATE, FakeContext(60.0, clock=clock))
    assert sender.seconds_left(clock) == [59.9]


def test_the_documented_default_margins() -> None:
    # docs/core.md: FAILED 5 s before the Lambda deadline, hand-off when less than 20 s remain.
    # The hand-off default is also pinned by its timing in test_waiter; the watchdog's shows
    # only in invocations of 50 s or more, too long for a unit test to wait for.
    resource = CustomResource(Recorder(), sender=RecordingSender(), clock=FakeClock())
    assert (resource.deadline_margin, resource.handoff_margin) == (5.0, 20.0)


def test_while_the_provider_works_a_daemon_watchdog_thread_guards_the_deadline() -> None:
    # A daemon thread never keeps the runtime (or a local run) alive after the answer.
    seen: set[tuple[str, bool]] = set()

    class Looking(Provider):
        def create(self, request: Request) -> Result:
            seen.update((thread.name, thread.daemon) for thread in threading.enumerate() if "watchdog" in thread.name)
            return Result(physical_id="p")

    assert answer(run(Looking(), CREATE)) == ("SUCCESS", "", "p")
    assert seen == {("cfnkit-watchdog", True)}


def test_the_default_sender_runs_on_the_handlers_clock(server: ResponseServer) -> None:
    # The clock is far from the system's: the PUT's deadline only makes sense on the clock
    # it was computed with, so the default HttpSender must be given that clock.
    clock = FakeClock(start=1000.0)
    event = create_event({"Name": "n"}, response_url=server.url, request_id="req-http")
    CustomResource(Recorder(Result(physical_id="p")), clock=clock)(event, FakeContext(30.0, clock=clock))
    put = server.wait_for(1)[0].json()
    assert (put["Status"], put["PhysicalResourceId"], put["RequestId"]) == ("SUCCESS", "p", "req-http")


# -- what the handler logs ---------------------------------------------------------------------------

#: Keys every line of an invocation carries (time, service, the request's ids); tests compare the rest.
SCOPE_KEYS = {
    "timestamp",
    "service",
    "logger",
    "xray_trace_id",
    "cfn_request_id",
    "stack_id",
    "logical_id",
    "request_type",
    "hop",
    "cold_start",
    "function_request_id",
}
URL = "http://127.0.0.1:9/r?X-Amz-Signature=0123456789abcdef"


@pytest.fixture
def logged(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[Any]]:
    """The JSON lines logged since the last call, without SCOPE_KEYS; a traceback as its last line."""
    monkeypatch.delenv("CFNKIT_LOG_LEVEL", raising=False)
    logs.install()
    capfd.readouterr()

    def read() -> list[dict[str, Any]]:
        found = []
        for text in capfd.readouterr().out.splitlines():
            line = {key: value for key, value in json.loads(text).items() if key not in SCOPE_KEYS}
            if "exception" in line:
                line["exception"] = line["exception"].splitlines()[-1]
            found.append(line)
        return found

    return read


class BodySender:
    """Records the bytes sent; delivers, fails (HTTP 500) or raises."""

    def __init__(self, deliver: bool = True, error: Exception | None = None) -> None:
        self.deliver, self.error = deliver, error
        self.bodies: list[bytes] = []

    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
        self.bodies.append(body)
        if self.error is not None:
            raise self.error
        # A failed delivery is reported after the production sender's three attempts.
        return Delivery(self.deliver, 1 if self.deliver else 3, 200 if self.deliver else 500)

    @property
    def only(self) -> dict[str, Any]:
        assert len(self.bodies) == 1, f"expected exactly one response, got {len(self.bodies)}"
        return dict(json.loads(self.bodies[0]))


def sending(
    sender: BodySender, by: str = "handler", data_keys: list[str] | None = None, index: int = 0
) -> dict[str, Any]:
    """The "sending response" line for the index-th body sender sent."""
    body = json.loads(sender.bodies[index])
    return {
        "level": "INFO",
        "message": "sending response",
        "status": body["Status"],
        "reason": body["Reason"],
        "physical_id": body["PhysicalResourceId"],
        "data_keys": data_keys or [],
        "no_echo": body["NoEcho"],
        "bytes": len(sender.bodies[index]),
        "by": by,
    }


def received(physical_id: str | None = None, service_timeout: int | None = None, **props: Any) -> dict[str, Any]:
    return {
        "level": "INFO",
        "message": "request received",
        "resource_type": "Custom::Resource",
        "physical_id": physical_id,
        "properties": sorted(props or ["Name"]),
        "service_timeout": service_timeout,
    }


def test_an_answer_is_logged_with_what_was_sent_and_who_sent_it(logged: Callable[[], list[Any]]) -> None:
    sender = BodySender()
    data = {"b": 1, 2: "two", "A": 3}  # keys of any type are logged as text, sorted
    response = Response(Status.SUCCESS, "p", STACK_ID, "req", "Res", data=data, no_echo=True)  # type: ignore[arg-type]
    assert Responder(URL, sender, deadline=0.0).respond(response, by="handler")
    assert sender.only["Data"] == {"b": 1, "2": "two", "A": 3}
    assert logged() == [{**sending(sender), "data_keys": ["2", "A", "b"], "no_echo": True}]


def test_a_second_answer_is_suppressed_and_logged_with_who_answered_first(logged: Callable[[], list[Any]]) -> None:
    late = Response(Status.FAILED, "p", STACK_ID, "req", "Res", reason="late")
    handed = Responder(URL, BodySender(), deadline=0.0)
    assert handed.hand_off(lambda: None)
    assert not handed.respond(late, by="watchdog")
    sender = BodySender()
    answered = Responder(URL, sender, deadline=0.0)
    assert answered.respond(late, by="watchdog")
    assert not answered.respond(late, by="handler")
    suppressed = "response suppressed: this request was already answered"
    assert logged() == [
        {"level": "WARNING", "message": suppressed, "answered_by": "continuation", "suppressed": "watchdog"},
        sending(sender, by="watchdog"),
        {"level": "WARNING", "message": suppressed, "answered_by": "watchdog", "suppressed": "handler"},
    ]
    assert len(sender.bodies) == 1


@pytest.mark.parametrize(
    ("sender", "problem"),
    [
        (BodySender(deliver=False), {"status": 500, "error": "", "attempts": 3}),
        # The error names the URL without its presigned query (a credential).
        (
            BodySender(error=RuntimeError(f"cannot reach {URL}")),
            # One call to a sender that raised: one attempt, as far as the handler can know.
            {"status": None, "error": "RuntimeError: cannot reach http://127.0.0.1:9/r?****", "attempts": 1},
        ),
    ],
)
def test_an_answer_that_did_not_arrive_is_logged_as_an_error(
    logged: Callable[[], list[Any]], sender: BodySender, problem: dict[str, Any]
) -> None:
    response = Response(Status.FAILED, "p", STACK_ID, "req", "Res", reason="it broke")
    assert Responder(URL, sender, deadline=0.0).respond(response, by="handler")  # answered, though not delivered
    assert logged() == [
        sending(sender),
        {"level": "ERROR", "message": "CloudFormation was not told the outcome", **problem},
    ]


def test_oversize_data_without_a_hint_names_only_size_limit_and_keys() -> None:
    sender = BodySender()
    response = Response(Status.SUCCESS, "p", STACK_ID, "req", "Res", data={"Blob": "x" * 5000})
    assert Responder(URL, sender, deadline=0.0).respond(response, by="handler")
    assert sender.only["Status"] == "FAILED"
    assert sender.only["Reason"] == (
        "Response too large: 5247 bytes with its Data; the limit is 4096 bytes. Largest Data keys: Blob (5009 B)."
    )


def test_a_response_that_cannot_be_encoded_is_logged_with_its_error(logged: Callable[[], list[Any]]) -> None:
    sender = BodySender()
    broken = Response(Status.SUCCESS, "p", STACK_ID, "req", "Res", data={"Handle": object()})
    assert Responder(URL, sender, deadline=0.0).respond(broken, by="handler")
    assert logged() == [
        {
            "level": "ERROR",
            "message": "the response could not be encoded",
            "exception": "TypeError: Object of type object is not JSON serializable",
        },
        sending(sender),
    ]


def call(provider: Provider, event: Any, sender: BodySender, **kwargs: Any) -> None:
    CustomResource(provider, sender=sender, clock=FakeClock(), **kwargs)(event, FakeContext())


@pytest.mark.parametrize(
    ("error", "between"),
    [
        (None, []),
        (ProviderError("the cluster main does not exist"), []),
        (RuntimeError("boom"), [{"level": "ERROR", "message": "provider raised", "exception": "RuntimeError: boom"}]),
        (SystemExit("bye"), [{"level": "ERROR", "message": "unexpected error", "exception": "SystemExit: bye"}]),
    ],
)
def test_each_outcome_is_logged_between_the_request_and_its_one_answer(
    logged: Callable[[], list[Any]], error: BaseException | None, between: list[dict[str, Any]]
) -> None:
    sender = BodySender()
    call(Recorder(Result(physical_id="p", data={"Out": "x"}), error=error), UPDATE, sender)
    keys = [] if error else ["Out"]
    assert logged() == [received("phys-1", Name="new"), *between, sending(sender, data_keys=keys)]


def test_the_request_log_names_the_type_id_properties_and_service_timeout(logged: Callable[[], list[Any]]) -> None:
    sender = BodySender()
    event = update_event({"Name": "n", "Count": "2"}, {"Name": "n"}, "phys-9", service_timeout=300)
    call(Recorder(Result()), event, sender)
    assert logged() == [received("phys-9", 300, Name="n", Count="2"), sending(sender)]


def test_the_delete_of_a_failed_create_is_logged_as_such(logged: Callable[[], list[Any]]) -> None:
    sender = BodySender()
    call(Recorder(), delete_event({"Name": "n"}, "cfnkit-failed-create-req-0"), sender)
    assert logged() == [
        received("cfnkit-failed-create-req-0"),
        {"level": "INFO", "message": "Delete after a failed Create: nothing was created, nothing to delete"},
        sending(sender),
    ]


def test_a_delete_with_invalid_properties_logs_each_problem(logged: Callable[[], list[Any]]) -> None:
    sender = BodySender()
    call(Recorder(Result()), delete_event({"Count": "many", "Name": "n"}, "phys-1"), sender)
    assert logged() == [
        received("phys-1", Count="many", Name="n"),
        {
            "level": "WARNING",
            "message": "Delete with invalid properties; using defaults for them",
            "problems": ["Count: expected an integer, got a string"],
        },
        sending(sender),
    ]


def test_a_malformed_event_is_logged_with_its_problems_and_answered(logged: Callable[[], list[Any]]) -> None:
    sender = BodySender()
    call(Recorder(), {**CREATE, "RequestType": "Nope"}, sender)
    problems = ["RequestType must be one of Create, Update, Delete"]
    assert logged() == [{"level": "ERROR", "message": "malformed event", "problems": problems}, sending(sender)]


def test_a_malformed_event_without_a_url_is_logged_as_unanswerable(logged: Callable[[], list[Any]]) -> None:
    sender = BodySender()
    call(Recorder(), ["not", "an", "event"], sender)
    assert sender.bodies == []
    assert logged() == [
        {"level": "ERROR", "message": "malformed event", "problems": ["the event must be a JSON object"]},
        {"level": "ERROR", "message": "no usable ResponseURL: the malformed event cannot be answered"},
    ]


def test_the_configured_log_level_applies_to_the_invocation(logged: Callable[[], list[Any]]) -> None:
    sender = BodySender()
    call(Recorder(Result()), CREATE, sender, log_level="WARNING")
    assert logging.getLogger("cfnkit").level == logging.WARNING
    assert sender.only["Status"] == "SUCCESS"
    assert logged() == []  # the INFO lines are not written
