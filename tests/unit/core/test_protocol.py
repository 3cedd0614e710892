"""cfnkit.protocol: request parsing, and responses kept within the protocol's limits."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from cfnkit.errors import MalformedEvent
from cfnkit.protocol import (
    MAX_BODY_BYTES,
    Request,
    RequestType,
    Response,
    Status,
    as_text,
    check_physical_id,
    clean_reason,
    cut_utf8,
    data_sizes,
    encode_response,
    parse_request,
    too_large_reason,
)
from cfnkit.testing import STACK_ID, create_event, delete_event, update_event
from hypothesis import example, given
from hypothesis import strategies as st


def problems_of(event: Any) -> list[str]:
    with pytest.raises(MalformedEvent) as caught:
        parse_request(event)
    return caught.value.problems


def test_create_event_is_parsed_with_service_token_and_timeout_split_out() -> None:
    event = create_event({"Name": "x", "Count": "3"}, service_timeout=120, request_id="req-1")
    request = parse_request(event)
    assert request.request_type is RequestType.CREATE
    assert request.stack_id == STACK_ID
    assert request.request_id == "req-1"
    assert request.logical_id == "Resource"
    assert request.resource_type == "Custom::Resource"
    assert request.response_url == "http://127.0.0.1:9/response"
    assert request.service_token.startswith("arn:aws:lambda:")
    assert request.service_timeout == 120
    assert request.properties == {"Name": "x", "Count": "3"}
    assert request.old_properties is None
    assert request.physical_id is None
    assert request.raw is event


def test_update_event_carries_old_properties_and_physical_id() -> None:
    request = parse_request(update_event({"Name": "new"}, {"Name": "old"}, "res-1"))
    assert request.request_type is RequestType.UPDATE
    assert request.properties == {"Name": "new"}
    assert request.old_properties == {"Name": "old"}
    assert request.physical_id == "res-1"


def test_delete_event_carries_physical_id() -> None:
    request = parse_request(delete_event({}, "res-1"))
    assert (request.request_type, request.physical_id) == (RequestType.DELETE, "res-1")


def test_service_token_falls_back_to_the_top_level_field() -> None:
    event = create_event({})
    del event["ResourceProperties"]["ServiceToken"]
    assert parse_request(event).service_token == event["ServiceToken"]


def test_absent_service_timeout_is_none() -> None:
    assert parse_request(create_event({})).service_timeout is None


def test_non_object_event_is_malformed() -> None:
    assert problems_of(["not", "an", "event"]) == ["the event must be a JSON object"]


def test_every_missing_field_is_listed_once() -> None:
    assert problems_of({}) == [
        "RequestType must be one of Create, Update, Delete",
        "StackId must be a non-empty string (missing)",
        "RequestId must be a non-empty string (missing)",
        "LogicalResourceId must be a non-empty string (missing)",
        "ResourceType must be a non-empty string (missing)",
        "ResponseURL must be a non-empty string (missing)",
        "ResourceProperties must be an object (missing)",
        "ServiceToken must be a non-empty string",
    ]


def test_unknown_request_type_is_malformed() -> None:
    event = create_event({})
    event["RequestType"] = "Replace"
    assert problems_of(event) == ["RequestType must be one of Create, Update, Delete"]


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("StackId", 7, "StackId must be a non-empty string"),
        ("RequestId", "", "RequestId must be a non-empty string"),
        ("ResponseURL", "ftp://host/x", "ResponseURL must be an http or https URL"),
        ("ResourceProperties", ["a"], "ResourceProperties must be an object"),
    ],
)
def test_mistyped_field_is_malformed(name: str, value: Any, problem: str) -> None:
    event = create_event({})
    event[name] = value
    if name == "ResourceProperties":
        del event["ServiceToken"]
        assert problems_of(event) == [problem, "ServiceToken must be a non-empty string"]
    else:
        assert problems_of(event) == [problem]


@pytest.mark.parametrize("value", ["0", "3601", "ten", "1.5"])
def test_service_timeout_outside_1_to_3600_is_malformed(value: str) -> None:
    event = create_event({})
    event["ResourceProperties"]["ServiceTimeout"] = value
    assert problems_of(event) == ["ServiceTimeout must be a whole number of seconds from 1 to 3600"]


def test_update_without_old_properties_or_physical_id_is_malformed() -> None:
    event = update_event({}, {}, "res-1")
    del event["OldResourceProperties"]
    del event["PhysicalResourceId"]
    assert problems_of(event) == [
        "PhysicalResourceId must be a non-empty string (missing)",
        "OldResourceProperties must be an object (missing)",
    ]


def test_malformed_reason_names_every_problem() -> None:
    exc = MalformedEvent(["A is wrong", "B is wrong"])
    assert exc.reason() == "Malformed custom resource event: A is wrong; B is wrong"


def request(stack_id: str = STACK_ID, logical_id: str = "Db", request_id: str = "r1") -> Request:
    return parse_request(create_event({}, stack_id=stack_id, logical_id=logical_id, request_id=request_id))


def test_default_physical_id_is_deterministic_and_names_stack_and_resource() -> None:
    first = request(request_id="r1").default_physical_id()
    assert first == request(request_id="r2").default_physical_id()
    assert first.startswith("demo-stack-Db-")
    assert len(first) == len("demo-stack-Db-") + 12
    assert request(logical_id="Other").default_physical_id() != first


def test_a_default_physical_id_can_follow_a_property() -> None:
    plain = request().default_physical_id()
    follows = request().default_physical_id("prod/db")
    assert follows.startswith("demo-stack-Db-")
    assert follows not in (plain, request().default_physical_id("prod/other"))
    assert follows == request(request_id="r9").default_physical_id("prod/db")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("as is", "as is"),
        ("", ""),
        (3, "3"),
        (2.5, "2.5"),
        (True, "true"),
        (None, "null"),
        ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
    ],
)
def test_as_text_keeps_strings_and_writes_other_values_as_compact_json(value: object, text: str) -> None:
    assert as_text(value) == text


def test_stack_name_of_a_non_arn_stack_id_is_the_id() -> None:
    assert request(stack_id="plain").stack_name == "plain"


def test_token_is_stable_per_request_and_differs_by_extra() -> None:
    assert request().token() == request().token()
    assert request().token("a") != request().token("b")
    assert len(request().token(length=8)) == 8
    assert request(request_id="r1").token() != request(request_id="r2").token()


def test_failed_create_id_uses_the_marker_prefix() -> None:
    assert request(request_id="abc").failed_create_id() == "cfnkit-failed-create-abc"


def test_physical_id_checks() -> None:
    assert check_physical_id("") == "PhysicalResourceId must not be empty"
    assert check_physical_id("x" * 1024) is None
    assert check_physical_id("x" * 1025) == "PhysicalResourceId is 1025 bytes; the limit is 1024"
    assert check_physical_id("é" * 513) == "PhysicalResourceId is 1026 bytes; the limit is 1024"


def test_clean_reason_removes_control_characters() -> None:
    assert clean_reason("line one\r\nline two\nthree\x00\x1b[31m\tend\x7f ") == "line one line two three  [31m\tend"


def test_cut_utf8_keeps_the_head_and_marks_the_cut() -> None:
    assert cut_utf8("short", 10) == "short"
    assert cut_utf8("abcdefghijklmnop", 10) == "abcd [...]"


def test_cut_utf8_never_splits_a_multibyte_character() -> None:
    cut = cut_utf8("€" * 10, 14)  # room for 8 bytes of text: two whole euros (6 bytes)
    assert cut == "€€ [...]"
    assert len(cut.encode()) <= 14


def test_cut_utf8_with_less_room_than_the_marker_keeps_only_the_head() -> None:
    assert cut_utf8("abcdefgh", 4) == "abcd"
    assert cut_utf8("€€", 4) == "€"
    assert cut_utf8("abc", -1) == ""


def response(**changes: Any) -> Response:
    base: dict[str, Any] = {
        "status": Status.SUCCESS,
        "physical_id": "id-1",
        "stack_id": STACK_ID,
        "request_id": "r1",
        "logical_id": "Db",
    }
    return Response(**{**base, **changes})


def test_document_has_every_protocol_field_and_no_data_when_empty() -> None:
    body, sent = encode_response(response(no_echo=True))
    assert json.loads(body) == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": "id-1",
        "StackId": STACK_ID,
        "RequestId": "r1",
        "LogicalResourceId": "Db",
        "NoEcho": True,
    }
    assert sent == response(no_echo=True)


def test_no_echo_and_data_pass_through() -> None:
    body, _ = encode_response(response(data={"Password": "pw"}, no_echo=True))
    doc = json.loads(body)
    assert (doc["NoEcho"], doc["Data"]) == (True, {"Password": "pw"})


def test_failed_without_reason_gets_one() -> None:
    body, _ = encode_response(response(status=Status.FAILED))
    assert json.loads(body)["Reason"] == "FAILED without a reason"


def test_oversize_data_becomes_failed_listing_largest_keys_never_values() -> None:
    data = {"Big": "V" * 3000, "Bigger": "W" * 3500, "Small": "s"}
    body, sent = encode_response(response(data=data), oversize_hint="Ask for fewer keys.")
    doc = json.loads(body)
    assert doc["Status"] == "FAILED"
    assert "Data" not in doc
    assert sent.status is Status.FAILED
    size = len(json.dumps(response(data=data).document(), separators=(",", ":")).encode())
    assert doc["Reason"] == (
        f"Response too large: {size} bytes with its Data; the limit is 4096 bytes. "
        "Largest Data keys: Bigger (3511 B), Big (3008 B), Small (11 B). Ask for fewer keys."
    )
    assert "VVV" not in body.decode()
    assert "WWW" not in body.decode()
    assert doc["PhysicalResourceId"] == "id-1"


def test_data_sizes_are_largest_first_then_by_key() -> None:
    assert data_sizes({"b": "x", "a": "x", "c": "xyz"}) == [("c", 9), ("a", 7), ("b", 7)]


def test_long_reason_is_cut_keeping_its_head() -> None:
    body, sent = encode_response(response(status=Status.FAILED, reason="HEAD " + "x" * 5000 + " TAIL"))
    assert len(body) == MAX_BODY_BYTES
    assert sent.reason.startswith("HEAD xxx")
    assert sent.reason.endswith(" [...]")
    assert "TAIL" not in sent.reason


def test_reason_needing_json_escapes_is_cut_to_fit() -> None:
    body, sent = encode_response(response(status=Status.FAILED, reason='"\\' * 3000))
    assert len(body) <= MAX_BODY_BYTES
    assert json.loads(body)["Reason"] == sent.reason
    assert sent.reason.startswith('"\\"\\')
    assert len(sent.reason) > 1000


def test_multibyte_reason_is_cut_on_a_character_boundary() -> None:
    body, sent = encode_response(response(status=Status.FAILED, reason="ü€😀" * 2000))
    assert len(body) <= MAX_BODY_BYTES
    assert json.loads(body.decode("utf-8"))["Reason"] == sent.reason
    assert sent.reason.startswith("ü€😀ü€😀")


def test_identifiers_too_long_for_any_body_are_cut_so_the_body_fits() -> None:
    body, sent = encode_response(
        response(status=Status.FAILED, stack_id="s" * 9000, logical_id="l" * 3000, reason="why")
    )
    assert len(body) <= MAX_BODY_BYTES
    assert sent.stack_id.startswith("sss")
    assert json.loads(body)["Reason"].startswith("w")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)


@given(
    status=st.sampled_from(Status),
    reason=st.text(max_size=6000),
    physical_id=st.text(min_size=1, max_size=300),
    data=st.dictionaries(st.text(max_size=40), json_values | st.text(max_size=3000), max_size=8),
    no_echo=st.booleans(),
    hint=st.text(max_size=200),
)
def test_encoded_body_always_fits_and_is_valid_json(
    status: Status, reason: str, physical_id: str, data: dict[str, Any], no_echo: bool, hint: str
) -> None:
    body, sent = encode_response(
        response(status=status, reason=reason, physical_id=physical_id, data=data, no_echo=no_echo),
        oversize_hint=hint,
    )
    assert len(body) <= MAX_BODY_BYTES
    doc = json.loads(body.decode("utf-8"))
    assert doc["NoEcho"] is no_echo
    assert doc["Reason"] == sent.reason
    assert not any(ch in sent.reason for ch in "\n\r\x00\x1b")
    if sent.status is Status.FAILED:
        assert doc["Reason"]
    if "Data" in doc:
        assert doc["Data"] == data


def test_service_timeout_bounds_1_and_3600_are_accepted() -> None:
    for seconds in (1, 3600):
        event = create_event({}, service_timeout=seconds)
        assert parse_request(event).service_timeout == seconds


def body_of_size(size: int) -> Response:
    """A SUCCESS response whose encoded body is exactly `size` bytes (its Data pads it)."""
    empty = len(encode_response(response(data={"V": ""}))[0])
    return response(data={"V": "v" * (size - empty)})


def test_a_body_of_exactly_4096_bytes_is_sent_unchanged() -> None:
    body, sent = encode_response(body_of_size(4096))
    assert len(body) == 4096
    assert sent == body_of_size(4096)
    assert json.loads(body)["Status"] == "SUCCESS"


def test_a_body_of_4097_bytes_becomes_failed_naming_its_size() -> None:
    body, sent = encode_response(body_of_size(4097))
    assert sent.status is Status.FAILED
    assert sent.data is None
    assert sent.reason == (
        "Response too large: 4097 bytes with its Data; the limit is 4096 bytes. Largest Data keys: V (3858 B)."
    )
    assert len(body) < 4096


def test_a_physical_id_of_1024_multibyte_bytes_is_accepted_and_one_more_byte_is_not() -> None:
    assert check_physical_id("é" * 512) is None
    assert check_physical_id("é" * 512 + "x") == "PhysicalResourceId is 1025 bytes; the limit is 1024"


# -- a FAILED answer always says why ------------------------------------------------------
# Identifiers are CloudFormation's, echoed back; only a malformed event makes them long,
# but then the answer must still fit and still carry a Reason. The example pinned below
# once produced a 4096-byte body with an EMPTY Reason: the identifiers were cut only
# until the document fitted without one.

FUZZ_REQUEST_ID = "5f39b24b-a38c-565b-a432-95dbee04e68e"
IDENTIFIER_UNITS = ["a", "é", "€", "😀", '"', "\\", "\x01", "\u2028"]
long_identifiers = st.builds(
    lambda unit, count, tail: unit * count + tail,
    st.sampled_from(IDENTIFIER_UNITS),
    st.integers(0, 5000),
    st.text(max_size=20),
)


@given(
    stack_id=long_identifiers,
    request_id=long_identifiers,
    logical_id=long_identifiers,
    physical_id=long_identifiers.filter(bool),
    reason=st.text(max_size=600),
    data=st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=4000), max_size=2),
)
@example(stack_id="a" * 3947, request_id="r1", logical_id="Db", physical_id="id-1", reason="boom", data=None)
@example(
    stack_id="é" * 1937,
    request_id=FUZZ_REQUEST_ID,
    logical_id="Resource",
    physical_id=f"cfnkit-failed-create-{FUZZ_REQUEST_ID}",
    reason="the database refused the connection",
    data=None,
)
@example(stack_id="s", request_id="r1", logical_id="Db", physical_id="id-1", reason="boom", data={"K": "v" * 3900})
@example(stack_id="s", request_id="r1", logical_id="Db", physical_id="id-1", reason="", data=None)
def test_a_failed_answer_always_has_a_reason_and_fits(
    stack_id: str, request_id: str, logical_id: str, physical_id: str, reason: str, data: dict[str, str] | None
) -> None:
    original = Response(Status.FAILED, physical_id, stack_id, request_id, logical_id, reason=reason, data=data)
    body, sent = encode_response(original)
    assert len(body) <= MAX_BODY_BYTES
    doc = json.loads(body.decode("utf-8"))
    assert doc == sent.document()
    assert doc["Status"] == "FAILED"
    assert doc["Reason"].strip()
    assert doc["PhysicalResourceId"]
    expected = clean_reason(reason) or "FAILED without a reason"
    # The Reason is the cleaned one, or its head marked as cut.
    assert doc["Reason"] == expected or (
        doc["Reason"].endswith(" [...]") and expected.startswith(doc["Reason"][: -len(" [...]")])
    )
    # A short Reason is never cut to make room for identifiers: they are cut instead.
    if len(expected.encode()) <= 100 and '"' not in expected and "\\" not in expected:
        assert doc["Reason"] == expected


def test_identifiers_are_cut_so_that_the_reason_fits_whole() -> None:
    failed = Response(
        Status.FAILED,
        f"cfnkit-failed-create-{FUZZ_REQUEST_ID}",
        "é" * 1937,
        FUZZ_REQUEST_ID,
        "Resource",
        reason="the database refused the connection",
    )
    body, sent = encode_response(failed)
    assert json.loads(body)["Reason"] == "the database refused the connection"
    assert sent.stack_id == "é" * 968  # the longest identifier, halved
    assert (sent.physical_id, sent.request_id) == (failed.physical_id, FUZZ_REQUEST_ID)
    assert len(body) <= MAX_BODY_BYTES


BAD_TIMEOUT = "Malformed custom resource event: ServiceTimeout must be a whole number of seconds from 1 to 3600"


@pytest.mark.parametrize(
    ("timeout", "answer"),
    [
        ("1", ("SUCCESS", "")),
        ("3600", ("SUCCESS", "")),
        ("0", ("FAILED", BAD_TIMEOUT)),
        ("3601", ("FAILED", BAD_TIMEOUT)),
    ],
)
def test_service_timeout_is_answered_by_its_inclusive_bounds(timeout: str, answer: tuple[str, str]) -> None:
    from cfnkit import CustomResource, Provider, Result
    from cfnkit.testing import FakeClock, FakeContext, RecordingInvoker, RecordingSender

    class Creates(Provider):
        def create(self, request: Request) -> Result:
            return Result(physical_id="made")

    event = create_event({})
    event["ResourceProperties"]["ServiceTimeout"] = timeout
    clock, sender = FakeClock(), RecordingSender()
    CustomResource(Creates(), sender=sender, clock=clock, invoker=RecordingInvoker())(event, FakeContext(clock=clock))
    assert (sender.only["Status"], sender.only["Reason"]) == answer


def test_identifiers_are_cut_only_until_the_body_fits_exactly() -> None:
    empty = len(encode_response(response(stack_id=""))[0])
    room = MAX_BODY_BYTES - empty  # the longest stack id that fits
    body, sent = encode_response(response(stack_id="s" * (2 * room + 1)))  # halved once: exactly 4096 bytes
    assert sent.stack_id == "s" * room
    assert len(body) == MAX_BODY_BYTES


def test_cut_utf8_at_exactly_its_size_and_at_exactly_the_marker_size() -> None:
    assert cut_utf8("abcdefghij", 10) == "abcdefghij"
    assert cut_utf8("abcdefghijk", 10) == "abcd [...]"
    assert cut_utf8("abcdefgh", 6) == " [...]"  # room for the marker alone
    assert cut_utf8("abcdefgh", 5) == "abcde"  # no room for the marker: the head alone


def test_an_https_response_url_is_accepted_in_any_case() -> None:
    for url in ("https://bucket.s3.amazonaws.com/r?X-Amz-Signature=1", "HTTPS://bucket/r", "Http://h/r"):
        assert parse_request(create_event({}, response_url=url)).response_url == url


def test_old_properties_that_are_not_an_object_are_malformed() -> None:
    event = update_event({}, {}, "res-1")
    event["OldResourceProperties"] = ["not", "an", "object"]
    assert problems_of(event) == ["OldResourceProperties must be an object"]


def test_too_large_reason_names_at_most_the_ten_largest_keys_and_no_hint_by_default() -> None:
    data = {f"K{index:02d}": "v" * index for index in range(12)}
    reason = too_large_reason(5000, data)
    assert reason == (
        "Response too large: 5000 bytes with its Data; the limit is 4096 bytes. Largest Data keys: "
        "K11 (19 B), K10 (18 B), K09 (17 B), K08 (16 B), K07 (15 B), K06 (14 B), K05 (13 B), K04 (12 B), "
        "K03 (11 B), K02 (10 B)."
    )


def failed_of_size(size: int, pad: str) -> Response:
    """A FAILED response with Reason "boom" whose body WITHOUT the Reason is `size` bytes,
    padded in its StackId or its Data."""

    def padded(text: str) -> Response:
        filler: dict[str, Any] = {"data": {"K": text}} if pad == "data" else {"stack_id": text}
        return response(status=Status.FAILED, **filler)

    empty = len(json.dumps(padded("").document(), separators=(",", ":")).encode())
    return dataclasses.replace(padded("x" * (size - empty)), reason="boom")


def test_a_reason_that_fits_exactly_leaves_the_identifiers_whole() -> None:
    failed = failed_of_size(MAX_BODY_BYTES - len('"boom"'), pad="stack_id")  # room for exactly the reserve
    body, sent = encode_response(failed)
    assert (sent.stack_id, sent.reason) == (failed.stack_id, "boom")
    assert len(body) == MAX_BODY_BYTES - 2  # the reserve counts the quotes the body already has


def test_the_data_of_a_failed_answer_goes_before_its_reason_or_identifiers_are_cut() -> None:
    failed = failed_of_size(MAX_BODY_BYTES - 3, pad="data")
    body, sent = encode_response(failed)
    assert sent == Response(Status.FAILED, "id-1", STACK_ID, "r1", "Db", reason="boom")
    assert json.loads(body)["Reason"] == "boom"


def test_a_reason_that_cannot_fit_at_all_is_dropped_rather_than_the_limit_broken() -> None:
    empty = len(encode_response(response(stack_id=""))[0])
    full = response(stack_id="s" * (MAX_BODY_BYTES - empty), reason="ok")  # 4096 bytes without its Reason
    body, sent = encode_response(full)
    assert (len(body), sent.reason, sent.stack_id) == (MAX_BODY_BYTES, "", full.stack_id)


@given(length=st.integers(4100, 9000))
def test_a_long_ascii_reason_is_cut_to_the_longest_head_that_fits(length: int) -> None:
    body, sent = encode_response(response(status=Status.FAILED, reason="r" * length))
    assert len(body) == MAX_BODY_BYTES  # one JSON byte per character: the best cut fills the body exactly
    assert sent.reason.endswith(" [...]")


@pytest.mark.parametrize("id_length", range(1, 13))
def test_the_longest_head_of_a_long_reason_is_found_whatever_room_the_ids_leave(id_length: int) -> None:
    # Each length of LogicalResourceId leaves the Reason one byte less room: the head kept
    # is always the longest that fits, so the body is exactly the limit every time.
    body, sent = encode_response(response(status=Status.FAILED, logical_id="L" * id_length, reason="r" * 5000))
    assert len(body) == MAX_BODY_BYTES
    assert sent.reason == "r" * (len(sent.reason) - len(" [...]")) + " [...]"


def test_a_malformed_event_is_answered_with_its_ids_cut_to_fit_at_an_https_url() -> None:
    from cfnkit.protocol import malformed_response

    event = update_event(
        {}, {}, "x" + "é" * 512, response_url="https://bucket/r?X-Amz-Signature=1", logical_id="Db", request_id="r-9"
    )  # 1025 bytes: the cut splits the last é
    del event["ResourceType"]
    answered = malformed_response(event, "Malformed custom resource event: ResourceType is missing")
    assert answered is not None
    url, failed = answered
    assert url == "https://bucket/r?X-Amz-Signature=1"
    assert failed == Response(
        Status.FAILED,
        "x" + "é" * 511,
        STACK_ID,
        "r-9",
        "Db",
        reason="Malformed custom resource event: ResourceType is missing",
    )
