"""Custom::SecureParameter against moto: each request answers once, with the exact response.

No network: moto serves SSM in-process, and cfnkit.testing records the response (or, for
app.handler, a real local HTTP server on 127.0.0.1 stands in for the ResponseURL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from cfnkit import CustomResource
from cfnkit.testing import (
    FakeClock,
    FakeContext,
    RecordingSender,
    ResponseServer,
    create_event,
    delete_event,
    update_event,
)
from moto import mock_aws

import app
from secure_parameter import SecureParameter

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

TYPE = "Custom::SecureParameter"
VALUE = "s3cr3t-7f3e9b1c"  # a canary: it must never appear in a log line or a Reason
PROPS = {"Name": "/myapp/db-password", "Value": VALUE}
ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/myapp/db-password"


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def ssm() -> Iterator[SSMClient]:
    with mock_aws():
        yield boto3.client("ssm")


def answer(ssm: SSMClient | None, event: dict[str, Any]) -> dict[str, Any]:
    """The one response for event (FakeClock: nothing sleeps)."""
    sender = RecordingSender()
    CustomResource(SecureParameter(ssm), sender=sender, clock=FakeClock())(event, FakeContext())
    return sender.only


def stored(ssm: SSMClient, name: str = "/myapp/db-password") -> tuple[str, str, int]:
    parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    return parameter["Type"], parameter["Value"], parameter["Version"]


def test_create_writes_a_securestring_and_answers_its_name_arn_and_version(ssm: SSMClient) -> None:
    body = answer(ssm, create_event(PROPS, resource_type=TYPE))

    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "/myapp/db-password")
    assert body["Data"] == {"Name": "/myapp/db-password", "Arn": ARN, "Version": "1"}
    assert stored(ssm) == ("SecureString", VALUE, 1)


def test_a_repeated_create_adopts_its_own_parameter(ssm: SSMClient) -> None:
    event = create_event(PROPS, resource_type=TYPE)
    answer(ssm, event)

    body = answer(ssm, event)

    assert (body["Status"], body["Data"]["Version"]) == ("SUCCESS", "2")


def test_a_create_over_somebody_elses_parameter_fails_and_leaves_it(ssm: SSMClient) -> None:
    ssm.put_parameter(Name="/myapp/db-password", Value="theirs", Type="SecureString")

    body = answer(ssm, create_event(PROPS, resource_type=TYPE))

    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        "Parameter /myapp/db-password already exists and was not created by this resource; "
        "choose another Name, or delete the parameter first"
    )
    assert stored(ssm) == ("SecureString", "theirs", 1)


def test_update_of_the_value_writes_a_new_version(ssm: SSMClient) -> None:
    answer(ssm, create_event(PROPS, resource_type=TYPE))

    body = answer(ssm, update_event({**PROPS, "Value": "n3w-value-1"}, PROPS, "/myapp/db-password", resource_type=TYPE))

    assert (body["Status"], body["PhysicalResourceId"], body["Data"]["Version"]) == (
        "SUCCESS",
        "/myapp/db-password",
        "2",
    )
    assert stored(ssm) == ("SecureString", "n3w-value-1", 2)


def test_update_of_the_name_creates_a_new_parameter_so_cloudformation_replaces_it(ssm: SSMClient) -> None:
    answer(ssm, create_event(PROPS, resource_type=TYPE))

    body = answer(ssm, update_event({**PROPS, "Name": "/myapp/db"}, PROPS, "/myapp/db-password", resource_type=TYPE))

    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "/myapp/db")
    assert stored(ssm, "/myapp/db") == ("SecureString", VALUE, 1)
    assert stored(ssm) == ("SecureString", VALUE, 1)  # the old one stays until CloudFormation deletes it


def test_delete_removes_the_parameter_and_succeeds_when_it_is_gone(ssm: SSMClient) -> None:
    answer(ssm, create_event(PROPS, resource_type=TYPE))

    first = answer(ssm, delete_event(PROPS, "/myapp/db-password", resource_type=TYPE))
    again = answer(ssm, delete_event(PROPS, "/myapp/db-password", resource_type=TYPE))

    assert (first["Status"], again["Status"]) == ("SUCCESS", "SUCCESS")
    assert ssm.describe_parameters()["Parameters"] == []


def test_bad_properties_fail_naming_each_problem_never_the_value(ssm: SSMClient) -> None:
    body = answer(ssm, create_event({"Name": "my parameter", "Value": VALUE, "KeyID": "k"}, resource_type=TYPE))

    assert body["Reason"] == (
        "Invalid properties: KeyID: unknown property (did you mean KeyId?); "
        "Name: expected a string matching /?[A-Za-z0-9_.\\-/]+"
    )


def test_missing_permissions_at_first_use_are_one_failed_naming_the_action() -> None:
    """The function's role lacks ssm:PutParameter: AWS says so at the first call, and so does the Reason."""
    client = boto3.client("ssm")
    denied = (
        "User: arn:aws:sts::123456789012:assumed-role/params-role/params-SecureParameter is not authorized "
        "to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter/myapp/"
        "db-password because no identity-based policy allows the ssm:PutParameter action"
    )
    with Stubber(client) as stub:
        stub.add_client_error("put_parameter", "AccessDeniedException", denied, 400)

        body = answer(client, create_event(PROPS, resource_type=TYPE))

    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        "AccessDeniedException: An error occurred (AccessDeniedException) when calling the PutParameter "
        f"operation: {denied} (see CloudWatch Logs group /aws/lambda/cfnkit-provider, stream "
        "2026/01/01/[$LATEST]0123456789abcdef, request 00000000-0000-4000-8000-000000000001)"
    )


def test_an_aws_error_that_quotes_the_value_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    client = boto3.client("ssm")
    with Stubber(client) as stub:
        stub.add_client_error(
            "put_parameter", "ValidationException", f"Value '{VALUE}' at 'value' failed to satisfy constraint", 400
        )

        body = answer(client, create_event(PROPS, resource_type=TYPE))

    assert body["Reason"].startswith(
        "ValidationException: An error occurred (ValidationException) when calling "
        "the PutParameter operation: Value '****' at 'value' failed to satisfy"
    )
    out = capsys.readouterr()
    assert "7f3e9b1c" not in body["Reason"] + out.out + out.err


def test_app_handler_answers_over_http(ssm: SSMClient) -> None:
    with ResponseServer() as server:
        app.handler(create_event(PROPS, resource_type=TYPE, response_url=server.url), FakeContext())
        body = server.wait_for(1)[0].json()

    assert (body["Status"], body["Data"]["Version"]) == ("SUCCESS", "1")
