"""Random and malformed events: the handler never raises and answers at most once."""

from __future__ import annotations

import json
from typing import Any

from cfnkit import CustomResource, Field, InProgress, Integer, Provider, ProviderError, Request, Result, Schema
from cfnkit.protocol import MAX_BODY_BYTES, parse_request
from cfnkit.testing import FakeClock, FakeContext, RecordingInvoker, RecordingSender, create_event
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "ResourceType",
    "ResourceProperties",
    "OldResourceProperties",
    "PhysicalResourceId",
    "ServiceToken",
    "CfnkitContinuation",
]
field_values = st.one_of(
    json_values,
    st.sampled_from(["Create", "Update", "Delete", "create", ""]),
    st.sampled_from(["http://127.0.0.1:9/r?sig=1", "https://h/r", "http://h:port/x", "ftp://h", "http://"]),
    st.text(min_size=1000, max_size=3000),
    st.fixed_dictionaries({"state": json_values, "started_at": st.integers(), "hop": st.integers()}),
    st.fixed_dictionaries({"Count": json_values, "ServiceTimeout": json_values}),
)


@st.composite
def events(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(json_values)
    event: dict[str, Any] = create_event({"Count": "2"}, request_id="fuzz")
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        if draw(st.booleans()):
            event.pop(name, None)
        else:
            event[name] = draw(field_values)
    return event


class Whatever(Provider):
    """Answers however the test drew it."""

    schema = Schema(Count=Field(Integer()))

    def __init__(self, behaviour: str, data: Any) -> None:
        self.behaviour = behaviour
        self.data = data

    def create(self, request: Request) -> Any:
        behaviour = self.behaviour
        if behaviour == "result":
            return Result(data=self.data)
        if behaviour == "id":
            return Result(physical_id=self.data)
        if behaviour == "provider-error":
            raise ProviderError(str(self.data))
        if behaviour == "crash":
            raise RuntimeError(str(self.data))
        if behaviour == "wait":
            return InProgress({"v": self.data}, interval=0.5)
        if behaviour == "wait-raw":
            return InProgress(self.data, interval=self.data)
        if behaviour == "no-echo":
            return Result(data=self.data, no_echo=True, oversize_hint=str(self.data))
        return self.data

    update = create
    delete = create

    def poll(self, request: Request, state: Any) -> Any:
        return Result(data={"Polled": True})


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    event=events(),
    behaviour=st.sampled_from(["result", "id", "provider-error", "crash", "wait", "wait-raw", "no-echo", "raw"]),
    data=json_values | st.dictionaries(st.text(max_size=5) | st.integers(0, 5), st.text(max_size=3000), max_size=4),
)
def test_the_handler_never_raises_and_answers_at_most_once(event: Any, behaviour: str, data: Any) -> None:
    clock = FakeClock()
    sender = RecordingSender()
    handler = CustomResource(Whatever(behaviour, data), sender=sender, clock=clock, invoker=RecordingInvoker())
    handler(event, FakeContext(900.0, clock=clock))  # never raises
    assert len(sender.sent) <= 1
    for _, body in sender.sent:
        assert len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()) <= MAX_BODY_BYTES
        assert body["Status"] in ("SUCCESS", "FAILED")
        assert body["PhysicalResourceId"]
        if body["Status"] == "FAILED":
            assert body["Reason"]
    try:
        parse_request(event)
    except Exception:  # malformed: answered at most once, maybe not at all
        return
    if isinstance(event, dict) and "CfnkitContinuation" not in event:
        assert len(sender.sent) == 1  # a well-formed request always gets its answer


class Refuses(Provider):
    """Every Create fails with the drawn message."""

    def __init__(self, message: str) -> None:
        self.message = message

    def create(self, request: Request) -> Result:
        raise ProviderError(self.message)


identifiers = st.builds(
    lambda unit, count: unit * count,
    st.sampled_from(["a", "é", "€", "😀", '"', "\\", "\x07"]),
    st.integers(1, 4500),
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(stack_id=identifiers, logical_id=identifiers, message=st.text(min_size=1, max_size=300))
# Found by the fuzz test above (by chance) before the fix: a 4096-byte body, Reason "".
@example(stack_id="é" * 1937, logical_id="Resource", message="the database refused the connection")
def test_a_failed_create_always_answers_with_a_reason_within_4096_bytes(
    stack_id: str, logical_id: str, message: str
) -> None:
    clock = FakeClock()
    sender = RecordingSender()
    handler = CustomResource(
        Refuses(message), sender=sender, clock=clock, invoker=RecordingInvoker(), log_level="CRITICAL"
    )
    handler(create_event({}, stack_id=stack_id, logical_id=logical_id), FakeContext(900.0, clock=clock))
    body = sender.only
    assert len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()) <= MAX_BODY_BYTES
    assert body["Status"] == "FAILED"
    assert body["Reason"].strip()
    assert body["PhysicalResourceId"].startswith("cfnkit-failed-create-")
