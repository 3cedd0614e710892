"""The secrets resolver's Lambda handler (app.py) against moto, answering a real local ResponseURL."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from cfnkit.logs import redactor
from cfnkit.testing import FakeContext, ResponseServer, create_event, delete_event, update_event
from moto import mock_aws

from tests.support import load_app

pytestmark = pytest.mark.functional

SECRET_ID = "todobackend/credentials"
VERSION_1 = "11111111-1111-4111-8111-111111111111"
VERSION_2 = "22222222-2222-4222-8222-222222222222"
PHYSICAL_ID = "demo-stack-Secrets-aa15fc96b238"


@pytest.fixture(scope="module")
def app() -> ModuleType:
    return load_app("secrets_resolver", "secrets_resolver_app_functional")


@pytest.fixture
def client(aws_env: None, app: ModuleType) -> Iterator[Any]:
    app._CACHE.clear()
    with mock_aws():
        import boto3

        yield boto3.client("secretsmanager", region_name="us-east-1")
    app._CACHE.clear()
    redactor.clear()


def invoke(app: ModuleType, server: ResponseServer, event: dict[str, Any]) -> dict[str, Any]:
    before = len(server.puts)
    app.handler(event, FakeContext(60))
    puts = server.wait_for(before + 1)
    assert len(puts) == before + 1
    return puts[-1].json()


def create(server: ResponseServer, props: dict[str, Any]) -> dict[str, Any]:
    return create_event(props, response_url=server.url, logical_id="Secrets", resource_type="Custom::SecretsResolver")


def update(server: ResponseServer, props: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return update_event(
        props, old, PHYSICAL_ID, response_url=server.url, logical_id="Secrets", resource_type="Custom::SecretsResolver"
    )


def outcome(body: dict[str, Any]) -> tuple[str, str, str]:
    return body["Status"], body["Reason"], body["PhysicalResourceId"]


def test_json_secret_becomes_noecho_attributes(app: ModuleType, client: Any, server: ResponseServer) -> None:
    client.create_secret(
        Name=SECRET_ID,
        ClientRequestToken=VERSION_1,
        SecretString=json.dumps({"MYSQL_PASSWORD": "pw-1", "SECRET_KEY": "sk-1", "PORT": 3306}),
    )
    body = invoke(app, server, create(server, {"SecretId": SECRET_ID}))
    assert body == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": PHYSICAL_ID,
        "StackId": body["StackId"],
        "RequestId": body["RequestId"],
        "LogicalResourceId": "Secrets",
        "NoEcho": True,
        "Data": {"MYSQL_PASSWORD": "pw-1", "SECRET_KEY": "sk-1", "PORT": "3306"},
    }


def test_keys_select_attributes(app: ModuleType, client: Any, server: ResponseServer) -> None:
    client.create_secret(Name=SECRET_ID, SecretString=json.dumps({"MYSQL_PASSWORD": "pw-1", "SECRET_KEY": "sk-1"}))
    body = invoke(app, server, create(server, {"SecretId": SECRET_ID, "Keys": ["MYSQL_PASSWORD"]}))
    assert (body["Status"], body["Data"]) == ("SUCCESS", {"MYSQL_PASSWORD": "pw-1"})


def test_plain_and_binary_secrets(app: ModuleType, client: Any, server: ResponseServer) -> None:
    # Under the deploy docs' AllowedSecretPrefix (todobackend/), as a real deployment needs.
    client.create_secret(Name="todobackend/plain", SecretString="plain-value")
    client.create_secret(Name="todobackend/binary", SecretBinary=b"\x01\x02binary")
    plain = invoke(app, server, create(server, {"SecretId": "todobackend/plain"}))
    binary = invoke(app, server, create(server, {"SecretId": "todobackend/binary"}))
    assert (plain["Data"], plain["NoEcho"]) == ({"SecretString": "plain-value"}, True)
    assert (binary["Data"], binary["NoEcho"]) == ({"SecretBinary": base64.b64encode(b"\x01\x02binary").decode()}, True)


def test_update_with_same_properties_reads_the_new_value(app: ModuleType, client: Any, server: ResponseServer) -> None:
    client.create_secret(Name=SECRET_ID, SecretString=json.dumps({"MYSQL_PASSWORD": "old"}))
    props = {"SecretId": SECRET_ID}
    created = invoke(app, server, create(server, props))
    client.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"MYSQL_PASSWORD": "new"}))
    updated = invoke(app, server, update(server, props, props))
    assert (created["Data"], updated["Data"]) == ({"MYSQL_PASSWORD": "old"}, {"MYSQL_PASSWORD": "new"})
    assert created["PhysicalResourceId"] == updated["PhysicalResourceId"] == PHYSICAL_ID


def test_update_to_another_version_id_refreshes_attributes(
    app: ModuleType, client: Any, server: ResponseServer
) -> None:
    client.create_secret(Name=SECRET_ID, ClientRequestToken=VERSION_1, SecretString=json.dumps({"K": "v1"}))
    client.put_secret_value(SecretId=SECRET_ID, ClientRequestToken=VERSION_2, SecretString=json.dumps({"K": "v2"}))
    old = {"SecretId": SECRET_ID, "VersionId": VERSION_2}
    new = {"SecretId": SECRET_ID, "VersionId": VERSION_1}
    first = invoke(app, server, create(server, old))
    second = invoke(app, server, update(server, new, old))
    previous = invoke(app, server, update(server, {"SecretId": SECRET_ID, "VersionStage": "AWSPREVIOUS"}, new))
    assert (first["Data"], second["Data"], previous["Data"]) == ({"K": "v2"}, {"K": "v1"}, {"K": "v1"})
    assert second["PhysicalResourceId"] == PHYSICAL_ID


def test_delete_succeeds_even_when_the_secret_is_gone(app: ModuleType, client: Any, server: ResponseServer) -> None:
    event = delete_event({"SecretId": "never-existed"}, PHYSICAL_ID, response_url=server.url, logical_id="Secrets")
    assert outcome(invoke(app, server, event)) == ("SUCCESS", "", PHYSICAL_ID)


def test_not_found(app: ModuleType, client: Any, server: ResponseServer) -> None:
    event = create(server, {"SecretId": "todobackend/missing"})
    assert outcome(invoke(app, server, event)) == (
        "FAILED",
        "Secret todobackend/missing was not found in us-east-1 (AWS said: ResourceNotFoundException: Secrets "
        "Manager can't find the specified secret.). Check SecretId: give the name or ARN of an existing secret in "
        "this stack's account and region.",
        f"cfnkit-failed-create-{event['RequestId']}",
    )


def test_scheduled_for_deletion(app: ModuleType, client: Any, server: ResponseServer) -> None:
    client.create_secret(Name=SECRET_ID, SecretString="v")
    client.delete_secret(SecretId=SECRET_ID, RecoveryWindowInDays=7)
    when = client.describe_secret(SecretId=SECRET_ID)["DeletedDate"].isoformat(timespec="seconds")
    event = create(server, {"SecretId": SECRET_ID})
    assert outcome(invoke(app, server, event)) == (
        "FAILED",
        f"Secret todobackend/credentials is scheduled for deletion on {when} (AWS said: InvalidRequestException: "
        "An error occurred (InvalidRequestException) when calling the GetSecretValue operation: You tried to "
        "perform the operation on a secret that's currently marked deleted.). Restore it (aws secretsmanager "
        "restore-secret --secret-id todobackend/credentials) or point SecretId at another secret.",
        f"cfnkit-failed-create-{event['RequestId']}",
    )


def test_unknown_version_id(app: ModuleType, client: Any, server: ResponseServer) -> None:
    client.create_secret(Name=SECRET_ID, ClientRequestToken=VERSION_1, SecretString="v")
    unknown = "33333333-3333-4333-8333-333333333333"
    event = create(server, {"SecretId": SECRET_ID, "VersionId": unknown})
    assert outcome(invoke(app, server, event)) == (
        "FAILED",
        f"Secret todobackend/credentials has no version with VersionId {unknown}; its versions are: {VERSION_1} "
        "(AWSCURRENT). Use one of them, or VersionStage to follow a label.",
        f"cfnkit-failed-create-{event['RequestId']}",
    )


def test_unknown_version_stage(app: ModuleType, client: Any, server: ResponseServer) -> None:
    client.create_secret(Name=SECRET_ID, ClientRequestToken=VERSION_1, SecretString="v")
    event = create(server, {"SecretId": SECRET_ID, "VersionStage": "AWSPENDING"})
    assert outcome(invoke(app, server, event)) == (
        "FAILED",
        "Secret todobackend/credentials has no version labelled AWSPENDING (VersionStage); its labels are: "
        "AWSCURRENT. Use one of them, or VersionId to pin a version.",
        f"cfnkit-failed-create-{event['RequestId']}",
    )


def test_version_id_and_stage_together(app: ModuleType, client: Any, server: ResponseServer) -> None:
    # GetSecretValue accepts both when they name the same version (botocore secretsmanager model).
    client.create_secret(Name=SECRET_ID, ClientRequestToken=VERSION_1, SecretString=json.dumps({"K": "v1"}))
    client.put_secret_value(SecretId=SECRET_ID, ClientRequestToken=VERSION_2, SecretString=json.dumps({"K": "v2"}))
    same = invoke(
        app, server, create(server, {"SecretId": SECRET_ID, "VersionId": VERSION_1, "VersionStage": "AWSPREVIOUS"})
    )
    assert (same["Status"], same["Data"]) == ("SUCCESS", {"K": "v1"})
    event = create(server, {"SecretId": SECRET_ID, "VersionId": VERSION_1, "VersionStage": "AWSCURRENT"})
    assert outcome(invoke(app, server, event)) == (
        "FAILED",
        f"Secret todobackend/credentials: VersionId {VERSION_1} and VersionStage AWSCURRENT name different "
        f"versions (version {VERSION_1} has AWSPREVIOUS; AWSCURRENT is on version {VERSION_2}) (AWS said: "
        "InvalidRequestException: You provided a VersionStage that is not associated to the provided VersionId.). "
        "Give only one of them, or a matching pair.",
        f"cfnkit-failed-create-{event['RequestId']}",
    )


def test_short_version_id_is_failed_before_botocore(app: ModuleType, client: Any, server: ResponseServer) -> None:
    # botocore would raise ParamValidationError (SecretVersionIdType: 32-64 characters).
    event = create(server, {"SecretId": SECRET_ID, "VersionId": "v1"})
    assert outcome(invoke(app, server, event))[1] == (
        "Invalid properties: VersionId: expected the id of a version of secret todobackend/credentials, 32 to 64 "
        "characters (Secrets Manager uses UUIDs such as 11111111-2222-4333-8444-555555555555), got 2 characters; "
        "see aws secretsmanager list-secret-version-ids, or use VersionStage to follow a label"
    )


def test_too_large(app: ModuleType, client: Any, server: ResponseServer) -> None:
    client.create_secret(Name=SECRET_ID, SecretString=json.dumps({f"KEY_{n}": "v" * (400 + n) for n in range(12)}))
    body = invoke(app, server, create(server, {"SecretId": SECRET_ID}))
    assert "Data" not in body
    assert outcome(body) == (
        "FAILED",
        "Response too large: 5303 bytes with its Data; the limit is 4096 bytes. Largest Data keys: "
        "KEY_11 (422 B), KEY_10 (421 B), KEY_9 (419 B), KEY_8 (418 B), KEY_7 (417 B), KEY_6 (416 B), "
        "KEY_5 (415 B), KEY_4 (414 B), KEY_3 (413 B), KEY_2 (412 B). Secret todobackend/credentials gives 12 "
        "keys; list only the keys this stack needs in the Keys property.",
        PHYSICAL_ID,
    )
