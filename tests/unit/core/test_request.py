"""Request's own methods: the ids and tokens later releases must reproduce, and the answers it builds."""

from __future__ import annotations

import hashlib

import pytest
from cfnkit.errors import MalformedEvent
from cfnkit.protocol import FAILED_CREATE_PREFIX, Request, RequestType, Status, parse_request
from cfnkit.testing import SERVICE_TOKEN, STACK_ID, create_event, delete_event

# Ids and tokens are derived, never random, and must come out the same in every later release:
# a Create redelivered after an upgrade must find the task its first delivery started (the
# token is the ECS clientToken and startedBy), and a default physical id that changed would make
# CloudFormation replace the resource on the next Update.


def sha256(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def request(stack_id: str = STACK_ID, logical_id: str = "Db", request_id: str = "r1") -> Request:
    return parse_request(create_event({}, stack_id=stack_id, logical_id=logical_id, request_id=request_id))


def test_the_token_is_the_sha256_of_stack_logical_id_request_id_and_extras_cut_to_32() -> None:
    assert request().token() == sha256(STACK_ID, "Db", "r1")[:32]
    assert request().token("attempt-2", length=36) == sha256(STACK_ID, "Db", "r1", "attempt-2")[:36]


def test_the_default_physical_id_is_stack_logical_id_and_12_hex_digits_of_their_sha256() -> None:
    assert request().default_physical_id() == "demo-stack-Db-" + sha256(STACK_ID, "Db")[:12]
    assert request().default_physical_id("prod/db") == "demo-stack-Db-" + sha256(STACK_ID, "Db", "prod/db")[:12]


def test_a_long_default_physical_id_keeps_its_last_200_characters() -> None:
    logical_id = "L" * 250  # CloudFormation allows 255 characters
    full = f"demo-stack-{logical_id}-" + sha256(STACK_ID, logical_id)[:12]
    physical_id = request(logical_id=logical_id).default_physical_id()
    assert physical_id == full[-200:]
    assert len(physical_id) == 200


def test_an_answer_is_not_no_echo_unless_asked() -> None:
    plain = request().response(Status.SUCCESS, "p")
    secret = request().response(Status.SUCCESS, "p", data={"K": "v"}, no_echo=True)
    assert (plain.no_echo, secret.no_echo) == (False, True)


def test_a_failed_create_answers_with_the_marker_whatever_id_the_request_carries() -> None:
    # CloudFormation sends a Create no id; a Request a test builds with one still fails
    # with the marker, so the Delete that follows a failed Create is recognised.
    built = Request(
        request_type=RequestType.CREATE,
        stack_id=STACK_ID,
        request_id="r1",
        logical_id="Db",
        resource_type="Custom::X",
        response_url="http://127.0.0.1:9/r",
        service_token=SERVICE_TOKEN,
        service_timeout=None,
        properties={},
        physical_id="p",
    )
    assert built.failed("no").physical_id == f"{FAILED_CREATE_PREFIX}r1"
    deleting = parse_request(delete_event({}, "db-1", request_id="r2"))
    assert deleting.failed("no").physical_id == "db-1"


def test_the_service_token_in_the_properties_wins_and_a_non_string_one_is_ignored() -> None:
    event = create_event({})
    event["ResourceProperties"]["ServiceToken"] = "arn:aws:lambda:us-east-1:123456789012:function:from-properties"
    assert parse_request(event).service_token.endswith(":from-properties")
    event["ResourceProperties"]["ServiceToken"] = 7
    assert parse_request(event).service_token == SERVICE_TOKEN
    del event["ResourceProperties"]["ServiceToken"]
    event["ServiceToken"] = 7
    event["ResourceProperties"]["ServiceToken"] = "arn:aws:lambda:us-east-1:123456789012:function:only-here"
    assert parse_request(event).service_token.endswith(":only-here")
    del event["ResourceProperties"]["ServiceToken"]
    with pytest.raises(MalformedEvent) as refused:  # a number at the top is no token either
        parse_request(event)
    assert refused.value.problems == ["ServiceToken must be a non-empty string"]
