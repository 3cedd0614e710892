"""cfnkit.testing: the fakes users test their providers with."""

from __future__ import annotations

import http.client
import time

import pytest
from cfnkit.protocol import RequestType, parse_request
from cfnkit.sender import Delivery
from cfnkit.testing import (
    SERVICE_TOKEN,
    STACK_ID,
    FakeClock,
    FakeContext,
    RecordingInvoker,
    RecordingSender,
    ResponseServer,
    create_event,
    delete_event,
    update_event,
)


def test_fake_clock_moves_only_when_slept_or_advanced() -> None:
    clock = FakeClock(start=100.0)
    assert clock.now() == 100.0
    clock.sleep(0.25)
    clock.sleep(-3.0)
    clock.advance(10.0)
    assert clock.now() == 110.25
    assert clock.sleeps == [0.25, -3.0]


def test_fake_context_follows_a_fake_clock() -> None:
    clock = FakeClock()
    context = FakeContext(60.0, clock=clock)
    assert context.get_remaining_time_in_millis() == 60000
    clock.advance(59.5)
    assert context.get_remaining_time_in_millis() == 500
    clock.advance(10.0)
    assert context.get_remaining_time_in_millis() == 0


def test_fake_context_has_a_real_deadline_and_lambda_attributes() -> None:
    context = FakeContext(2.0, function_name="fn", region="eu-west-1", account="111122223333", request_id="r")
    first = context.get_remaining_time_in_millis()
    time.sleep(0.01)
    assert 0 < context.get_remaining_time_in_millis() < first <= 2000
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:111122223333:function:fn"
    assert (context.aws_request_id, context.log_group_name) == ("r", "/aws/lambda/fn")
    assert context.log_stream_name
    assert (context.function_name, context.function_version, context.memory_limit_in_mb) == ("fn", "$LATEST", 256)


def test_recording_sender_records_bodies_and_can_fail() -> None:
    sender = RecordingSender()
    with pytest.raises(AssertionError, match="expected exactly one response, got 0"):
        _ = sender.only
    assert sender.send("http://h/r", b'{"Status":"SUCCESS"}') == Delivery(True, 1, 200)
    assert sender.only == {"Status": "SUCCESS"}
    sender.send("http://h/r", b"{}")
    assert sender.bodies == [{"Status": "SUCCESS"}, {}]
    with pytest.raises(AssertionError, match="got 2"):
        _ = sender.only
    assert RecordingSender(deliver=False).send("http://h/r", b"{}") == Delivery(False, 1, 500)


def put(server: ResponseServer, body: bytes = b"{}", timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("PUT", "/r?sig=1", body=body, headers={"Content-Type": ""})
        return conn.getresponse().status
    finally:
        conn.close()


def test_response_server_records_puts_and_fails_or_stalls_on_request() -> None:
    with ResponseServer() as server:
        assert server.url == server.url_for("response")
        assert server.url.startswith(f"http://127.0.0.1:{server.port}/response?")
        server.fail_next(2, 503)
        assert [put(server), put(server)] == [503, 503]
        assert put(server, b'{"a":1}') == 200
        server.stall_next(1, 0.5)
        with pytest.raises((TimeoutError, http.client.RemoteDisconnected)):
            put(server, timeout=0.2)
        assert put(server, b'{"b":2}') == 200
        received = server.wait_for(2)
        assert [r.json() for r in received] == [{"a": 1}, {"b": 2}]
        assert received[0].path == "/r?sig=1"
        assert received[0].headers["Content-Type"] == ""
        assert server.attempts == 5


def test_a_put_is_recorded_by_the_time_its_sender_has_the_answer() -> None:
    # Tests read `puts` as soon as the handler returns (a fleet of runners, joined, then
    # counted). A server that recorded the PUT after writing its 200 lost that race about
    # one time in three; a run of sends makes the old order fail all but surely.
    with ResponseServer() as server:
        for count in range(1, 51):
            assert put(server, b"{}") == 200
            assert len(server.puts) == count


def test_wait_for_raises_when_too_few_arrive() -> None:
    with ResponseServer() as server, pytest.raises(TimeoutError, match="expected 1 response"):
        server.wait_for(1, timeout=0.05)


def test_recording_invoker_records_a_json_copy_or_raises() -> None:
    invoker = RecordingInvoker()
    event = {"a": (1, 2)}
    invoker.invoke_async("arn", event)
    assert invoker.calls == [("arn", {"a": [1, 2]})]
    with pytest.raises(RuntimeError, match="denied"):
        RecordingInvoker(error=RuntimeError("denied")).invoke_async("arn", {})


def test_event_builders_make_protocol_complete_events() -> None:
    create = create_event({"Count": 3}, service_timeout=300)
    assert create["ResourceProperties"] == {"ServiceToken": SERVICE_TOKEN, "Count": 3, "ServiceTimeout": "300"}
    assert create["StackId"] == STACK_ID
    update = update_event({"A": "2"}, {"A": "1"}, "id-1")
    assert update["OldResourceProperties"] == {"ServiceToken": SERVICE_TOKEN, "A": "1"}
    assert update["PhysicalResourceId"] == "id-1"
    delete = delete_event({}, "id-1", logical_id="Db", resource_type="Custom::Db", response_url="http://x/y")
    assert (delete["LogicalResourceId"], delete["ResourceType"], delete["ResponseURL"]) == (
        "Db",
        "Custom::Db",
        "http://x/y",
    )
    types = [parse_request(e).request_type for e in (create, update, delete)]
    assert types == [RequestType.CREATE, RequestType.UPDATE, RequestType.DELETE]


def test_event_request_ids_are_deterministic_and_distinct() -> None:
    assert create_event({"A": "1"})["RequestId"] == create_event({"A": "1"})["RequestId"]
    assert create_event({"A": "1"})["RequestId"] != create_event({"A": "2"})["RequestId"]
    assert create_event({})["RequestId"] != delete_event({}, "id")["RequestId"]
    assert create_event({}, request_id="fixed")["RequestId"] == "fixed"


def test_scripted_clock_runs_each_action_once_when_the_wait_reaches_its_second() -> None:
    from cfnkit.testing import ScriptedClock

    clock = ScriptedClock()
    fired: list[str] = []
    clock.at(2.0, lambda: fired.append("two"))
    clock.at(0.5, lambda: fired.append("half"))
    clock.sleep(1.0)
    assert fired == ["half"]
    clock.sleep(1.0)
    clock.sleep(5.0)
    assert fired == ["half", "two"]
    assert clock.now() - clock.start == 7.0
