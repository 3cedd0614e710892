"""SecretsResolver against a stubbed Secrets Manager client: attributes, Reasons, ids."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from botocore.stub import Stubber
from cfnkit import CustomResource
from cfnkit.testing import FakeContext, RecordingSender, create_event, delete_event, update_event
from secret_resolver import SecretCache, SecretsResolver

SECRET_ID = "todobackend/credentials"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:todobackend/credentials-AbCdEf"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b7f6a52-1111-4222-8333-444455556666"
VERSION_1 = "11111111-1111-4111-8111-111111111111"
VERSION_2 = "22222222-2222-4222-8222-222222222222"
PROPS = {"SecretId": SECRET_ID}
#: The id for SECRET_ID as logical id Secrets of the test stack (fixed: it must not drift between releases).
PHYSICAL_ID = "demo-stack-Secrets-aa15fc96b238"


def answer(*, string: str | None = None, binary: bytes | None = None, version: str = VERSION_1) -> dict[str, Any]:
    doc: dict[str, Any] = {"ARN": SECRET_ARN, "Name": SECRET_ID, "VersionId": version, "VersionStages": ["AWSCURRENT"]}
    if string is not None:
        doc["SecretString"] = string
    if binary is not None:
        doc["SecretBinary"] = binary
    return doc


def described(**extra: Any) -> dict[str, Any]:
    return {
        "ARN": SECRET_ARN,
        "Name": SECRET_ID,
        "VersionIdsToStages": {VERSION_1: ["AWSCURRENT"], VERSION_2: ["AWSPREVIOUS"]},
        **extra,
    }


def run(provider: SecretsResolver, event: dict[str, Any]) -> dict[str, Any]:
    sender = RecordingSender()
    CustomResource(provider, sender=sender)(event, FakeContext(60))
    return sender.only


def create(props: dict[str, Any]) -> dict[str, Any]:
    return create_event(props, logical_id="Secrets", resource_type="Custom::SecretsResolver")


def failed_create(event: dict[str, Any], reason: str) -> dict[str, Any]:
    return {"Status": "FAILED", "Reason": reason, "PhysicalResourceId": f"cfnkit-failed-create-{event['RequestId']}"}


def outcome(body: dict[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in ("Status", "Reason", "PhysicalResourceId")}


def expect_get(stub: Stubber, response: dict[str, Any], **params: str) -> None:
    stub.add_response("get_secret_value", response, {"SecretId": SECRET_ID, **params})


def expect_error(stub: Stubber, code: str, message: str, operation: str = "get_secret_value") -> None:
    stub.add_client_error(operation, service_error_code=code, service_message=message, http_status_code=400)


# -- attributes ---------------------------------------------------------------------------


def test_json_object_secret_gives_one_attribute_per_key(client: Any, stub: Stubber) -> None:
    expect_get(
        stub,
        answer(
            string=json.dumps(
                {"MYSQL_PASSWORD": "pw-one", "PORT": 3306, "OPTS": {"ssl": True}, "ENABLED": False, "NOTHING": None}
            )
        ),
    )
    body = run(SecretsResolver(client), create(PROPS))
    assert body["Status"] == "SUCCESS"
    assert body["NoEcho"] is True
    assert body["Data"] == {
        "MYSQL_PASSWORD": "pw-one",
        "PORT": "3306",
        "OPTS": '{"ssl":true}',
        "ENABLED": "false",
        "NOTHING": "null",
    }


def test_plain_string_secret_gives_secret_string(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="just-a-password"))
    body = run(SecretsResolver(client), create(PROPS))
    assert (body["Status"], body["Data"], body["NoEcho"]) == ("SUCCESS", {"SecretString": "just-a-password"}, True)


def test_json_that_is_not_an_object_is_a_plain_string(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string='["a", "b"]'))
    body = run(SecretsResolver(client), create(PROPS))
    assert body["Data"] == {"SecretString": '["a", "b"]'}


def test_binary_secret_gives_base64_secret_binary(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(binary=b"\x00\xffbinary-secret"))
    body = run(SecretsResolver(client), create(PROPS))
    assert (body["Status"], body["Data"], body["NoEcho"]) == ("SUCCESS", {"SecretBinary": "AP9iaW5hcnktc2VjcmV0"}, True)


def test_keys_returns_only_the_listed_keys(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string=json.dumps({"MYSQL_PASSWORD": "pw-one", "SECRET_KEY": "sk-two"})))
    body = run(SecretsResolver(client), create({**PROPS, "Keys": ["MYSQL_PASSWORD"]}))
    assert body["Data"] == {"MYSQL_PASSWORD": "pw-one"}


def test_missing_keys_fail_naming_them(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string=json.dumps({"MYSQL_PASSWORD": "pw-one", "SECRET_KEY": "sk-two"})))
    event = create({**PROPS, "Keys": ["MYSQL_PASSWORD", "DB_HOST", "DB_PORT"]})
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        'Secret todobackend/credentials has no keys "DB_HOST", "DB_PORT" that Keys asks for; its keys are: '
        '"MYSQL_PASSWORD", "SECRET_KEY". Fix Keys or add the keys to the secret.',
    )


def test_keys_on_a_plain_string_secret_fail(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="just-a-password"))
    event = create({**PROPS, "Keys": ["MYSQL_PASSWORD"]})
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        "Secret todobackend/credentials is a plain string, not a JSON object, so it has no keys to select; "
        "remove Keys and use the SecretString attribute.",
    )


def test_keys_getatt_cannot_address_fail_by_name(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string=json.dumps({"GOOD_KEY": "v1", "db password": "v2", "a..b": "v3", "ключ": "v4"})))
    event = create(PROPS)
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        'Secret todobackend/credentials has keys that Fn::GetAtt cannot address: "db password", "a..b", "ключ". '
        "Attribute names may hold letters, digits, '_', '-' and single inner dots; list the keys this stack "
        "needs in Keys, or rename them in the secret.",
    )


def test_keys_avoids_unaddressable_keys(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string=json.dumps({"GOOD_KEY": "v1", "db password": "v2", "db.host": "h"})))
    body = run(SecretsResolver(client), create({**PROPS, "Keys": ["GOOD_KEY", "db.host"]}))
    assert body["Data"] == {"GOOD_KEY": "v1", "db.host": "h"}


def test_too_large_fails_with_size_limit_and_keys_by_size(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string=json.dumps({"SMALL": "s" * 10, "BIG": "b" * 3000, "MEDIUM": "m" * 1500})))
    event = create(PROPS)
    body = run(SecretsResolver(client), event)
    assert "Data" not in body
    # The core keeps the provider's id when it turns an oversized SUCCESS into FAILED.
    assert outcome(body) == {
        "Status": "FAILED",
        "Reason": "Response too large: 4845 bytes with its Data; the limit is 4096 bytes. Largest Data keys: "
        "BIG (3008 B), MEDIUM (1511 B), SMALL (20 B). Secret todobackend/credentials gives 3 keys; "
        "list only the keys this stack needs in the Keys property.",
        "PhysicalResourceId": PHYSICAL_ID,
    }


def test_too_large_plain_string_says_keys_cannot_help(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="x" * 5000))
    assert outcome(run(SecretsResolver(client), create(PROPS))) == {
        "Status": "FAILED",
        "Reason": "Response too large: 5321 bytes with its Data; the limit is 4096 bytes. Largest Data keys: "
        "SecretString (5017 B). Secret todobackend/credentials is a plain string; a string this large "
        "cannot pass through a custom resource response: store a smaller value.",
        "PhysicalResourceId": PHYSICAL_ID,
    }


# -- properties ---------------------------------------------------------------------------


def test_version_id_and_stage_naming_the_same_version_are_both_passed(client: Any, stub: Stubber) -> None:
    # botocore secretsmanager model, GetSecretValue: "If you include both this parameter and
    # VersionStage, the two parameters must refer to the same secret version."
    expect_get(stub, answer(string="current"), VersionId=VERSION_1, VersionStage="AWSCURRENT")
    body = run(SecretsResolver(client), create({**PROPS, "VersionId": VERSION_1, "VersionStage": "AWSCURRENT"}))
    assert body["Data"] == {"SecretString": "current"}


@pytest.mark.parametrize("code", ["InvalidRequestException", "ResourceNotFoundException"])
def test_version_id_and_stage_naming_different_versions_say_which_is_where(
    client: Any, stub: Stubber, code: str
) -> None:
    expect_error(stub, code, "You provided a VersionStage that is not associated to the provided VersionId.")
    stub.add_response("describe_secret", described(), {"SecretId": SECRET_ID})
    event = create({**PROPS, "VersionId": VERSION_1, "VersionStage": "AWSPREVIOUS"})
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        f"Secret todobackend/credentials: VersionId {VERSION_1} and VersionStage AWSPREVIOUS name different "
        f"versions (version {VERSION_1} has AWSCURRENT; AWSPREVIOUS is on version {VERSION_2}) (AWS said: {code}: "
        "You provided a VersionStage that is not associated to the provided VersionId.). Give only one of them, "
        "or a matching pair.",
    )


@pytest.mark.parametrize(("length", "valid"), [(31, False), (32, True), (64, True), (65, False)])
def test_version_id_length_is_checked_at_aws_bounds(client: Any, stub: Stubber, length: int, valid: bool) -> None:
    # botocore secretsmanager model: SecretVersionIdType has min 32, max 64.
    version_id = "v" * length
    event = create({**PROPS, "VersionId": version_id})
    if valid:
        expect_get(stub, answer(string="pinned", version=version_id), VersionId=version_id)
        assert run(SecretsResolver(client), event)["Data"] == {"SecretString": "pinned"}
        return
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        "Invalid properties: VersionId: expected the id of a version of secret todobackend/credentials, 32 to 64 "
        "characters (Secrets Manager uses UUIDs such as 11111111-2222-4333-8444-555555555555), got "
        f"{length} characters; see aws secretsmanager list-secret-version-ids, or use VersionStage to follow "
        "a label",
    )


def test_missing_secret_id_fails(client: Any) -> None:
    event = create({"Keys": ["A"]})
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event, "Invalid properties: SecretId: required; expected a non-empty string"
    )


def test_version_id_is_passed_to_secrets_manager(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="pinned", version=VERSION_2), VersionId=VERSION_2)
    body = run(SecretsResolver(client), create({**PROPS, "VersionId": VERSION_2}))
    assert body["Data"] == {"SecretString": "pinned"}


def test_version_stage_is_passed_to_secrets_manager(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="previous", version=VERSION_2), VersionStage="AWSPREVIOUS")
    body = run(SecretsResolver(client), create({**PROPS, "VersionStage": "AWSPREVIOUS"}))
    assert body["Data"] == {"SecretString": "previous"}


# -- failures -----------------------------------------------------------------------------


def test_not_found_names_secret_region_and_fix(client: Any, stub: Stubber) -> None:
    expect_error(stub, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    event = create(PROPS)
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        "Secret todobackend/credentials was not found in us-east-1 (AWS said: ResourceNotFoundException: "
        "Secrets Manager can't find the specified secret.). Check SecretId: give the name or ARN of an existing "
        "secret in this stack's account and region.",
    )


def test_unknown_version_id_lists_the_versions(client: Any, stub: Stubber) -> None:
    unknown = "33333333-3333-4333-8333-333333333333"
    expect_error(
        stub,
        "ResourceNotFoundException",
        f"Secrets Manager can't find the specified secret value for VersionId: {unknown}",
    )
    stub.add_response("describe_secret", described(), {"SecretId": SECRET_ID})
    event = create({**PROPS, "VersionId": unknown})
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        f"Secret todobackend/credentials has no version with VersionId {unknown}; its versions are: "
        f"{VERSION_1} (AWSCURRENT); {VERSION_2} (AWSPREVIOUS). Use one of them, or VersionStage to follow a label.",
    )


def test_unknown_version_stage_lists_the_labels(client: Any, stub: Stubber) -> None:
    expect_error(
        stub,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
    )
    stub.add_response("describe_secret", described(), {"SecretId": SECRET_ID})
    event = create({**PROPS, "VersionStage": "AWSPENDING"})
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        "Secret todobackend/credentials has no version labelled AWSPENDING (VersionStage); its labels are: "
        "AWSCURRENT, AWSPREVIOUS. Use one of them, or VersionId to pin a version.",
    )


def test_unknown_version_of_a_missing_secret_is_not_found(client: Any, stub: Stubber) -> None:
    expect_error(stub, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    expect_error(
        stub, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", "describe_secret"
    )
    event = create({**PROPS, "VersionStage": "AWSPENDING"})
    assert outcome(run(SecretsResolver(client), event))["Reason"].startswith(
        "Secret todobackend/credentials was not found in us-east-1"
    )


def test_scheduled_for_deletion_says_when_and_how_to_restore(client: Any, stub: Stubber) -> None:
    expect_error(
        stub,
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
    deleted = datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.UTC)
    stub.add_response("describe_secret", described(DeletedDate=deleted), {"SecretId": SECRET_ID})
    event = create(PROPS)
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        "Secret todobackend/credentials is scheduled for deletion on 2026-11-20T09:30:00+00:00 "
        "(AWS said: InvalidRequestException: You can't perform this operation on the secret because it was "
        "marked for deletion.). Restore it (aws secretsmanager restore-secret --secret-id "
        "todobackend/credentials) or point SecretId at another secret.",
    )


def test_access_denied_names_action_and_arn(client: Any, stub: Stubber) -> None:
    message = (
        "User: arn:aws:sts::123456789012:assumed-role/resolver/fn is not authorized to perform: "
        "secretsmanager:GetSecretValue on resource: todobackend/credentials"
    )
    expect_error(stub, "AccessDeniedException", message)
    expect_error(stub, "AccessDeniedException", "denied", "describe_secret")
    event = create(PROPS)
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        f"Access denied reading secret todobackend/credentials (AWS said: AccessDeniedException: {message}). "
        "The function's role needs secretsmanager:GetSecretValue on "
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:todobackend/credentials-?????? "
        "(and the secret's resource policy must not deny it).",
    )


def test_access_denied_uses_the_arn_when_describe_is_allowed(client: Any, stub: Stubber) -> None:
    expect_error(stub, "AccessDeniedException", "not authorized")
    stub.add_response("describe_secret", described(), {"SecretId": SECRET_ID})
    event = create(PROPS)
    assert outcome(run(SecretsResolver(client), event))["Reason"] == (
        "Access denied reading secret todobackend/credentials (AWS said: AccessDeniedException: not authorized). "
        f"The function's role needs secretsmanager:GetSecretValue on {SECRET_ARN} "
        "(and the secret's resource policy must not deny it)."
    )


def test_access_denied_with_an_arn_secret_id_names_it(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_secret_value",
            service_error_code="AccessDeniedException",
            service_message="not authorized",
            http_status_code=400,
        )
        event = create({"SecretId": SECRET_ARN})
        assert outcome(run(SecretsResolver(client), event))["Reason"] == (
            f"Access denied reading secret {SECRET_ARN} (AWS said: AccessDeniedException: not authorized). "
            f"The function's role needs secretsmanager:GetSecretValue on {SECRET_ARN} "
            "(and the secret's resource policy must not deny it)."
        )


def test_kms_access_denied_names_kms_decrypt_and_key(client: Any, stub: Stubber) -> None:
    expect_error(stub, "AccessDeniedException", "Access to KMS is not allowed")
    stub.add_response("describe_secret", described(KmsKeyId=KEY_ARN), {"SecretId": SECRET_ID})
    event = create(PROPS)
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        "Secrets Manager could not decrypt secret todobackend/credentials (AWS said: AccessDeniedException: "
        f"Access to KMS is not allowed). The function's role needs kms:Decrypt on KMS key {KEY_ARN}, "
        "the key's policy must allow the role, and the key must be enabled.",
    )


def test_decryption_failure_names_kms_decrypt_and_key(client: Any, stub: Stubber) -> None:
    message = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
    expect_error(stub, "DecryptionFailure", message)
    stub.add_response("describe_secret", described(KmsKeyId=KEY_ARN), {"SecretId": SECRET_ID})
    event = create(PROPS)
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        f"Secrets Manager could not decrypt secret todobackend/credentials (AWS said: DecryptionFailure: {message}). "
        f"The function's role needs kms:Decrypt on KMS key {KEY_ARN}, the key's policy must allow the role, "
        "and the key must be enabled.",
    )


def test_decryption_failure_without_describe_names_the_secrets_key(client: Any, stub: Stubber) -> None:
    expect_error(stub, "DecryptionFailure", "cannot decrypt")
    expect_error(stub, "AccessDeniedException", "denied", "describe_secret")
    assert "needs kms:Decrypt on the secret's KMS key, " in run(SecretsResolver(client), create(PROPS))["Reason"]


def test_decryption_failure_with_the_aws_managed_key_says_so(client: Any, stub: Stubber) -> None:
    expect_error(stub, "DecryptionFailure", "cannot decrypt")
    stub.add_response("describe_secret", described(), {"SecretId": SECRET_ID})
    reason = run(SecretsResolver(client), create(PROPS))["Reason"]
    assert "kms:Decrypt on the secret's KMS key (the AWS managed key aws/secretsmanager)," in reason


def test_other_errors_name_the_secret_and_the_error(client: Any, stub: Stubber) -> None:
    # (InternalServiceError and throttling are retried: see test_throttling.py.)
    expect_error(stub, "InvalidParameterException", "bad parameter")
    event = create(PROPS)
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event, "Could not read secret todobackend/credentials (AWS said: InvalidParameterException: bad parameter)."
    )


# -- ids, update, delete, cache ------------------------------------------------------------


def test_physical_id_depends_on_secret_id_only(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="one"))
    expect_get(stub, answer(string="two", version=VERSION_2), VersionId=VERSION_2)
    resolver = SecretsResolver(client, cache=SecretCache(max_age=0))
    created = run(resolver, create(PROPS))
    updated = run(
        resolver,
        update_event({**PROPS, "VersionId": VERSION_2}, PROPS, created["PhysicalResourceId"], logical_id="Secrets"),
    )
    assert created["PhysicalResourceId"] == PHYSICAL_ID
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert (created["Data"], updated["Data"]) == ({"SecretString": "one"}, {"SecretString": "two"})


def test_a_new_secret_id_is_a_new_physical_id(client: Any, stub: Stubber) -> None:
    stub.add_response("get_secret_value", answer(string="other"), {"SecretId": "other/secret"})
    resolver = SecretsResolver(client)
    old_id = "demo-stack-Secrets-000000000000"
    body = run(resolver, update_event({"SecretId": "other/secret"}, PROPS, old_id, logical_id="Secrets"))
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] != old_id


def test_update_reads_again_even_when_cached(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="before"))
    expect_get(stub, answer(string="after"))
    resolver = SecretsResolver(client, cache=SecretCache(max_age=3600))
    created = run(resolver, create(PROPS))
    updated = run(resolver, update_event(PROPS, PROPS, created["PhysicalResourceId"], logical_id="Secrets"))
    assert updated["Data"] == {"SecretString": "after"}


def test_create_reuses_a_cached_read_of_the_same_version(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="cached"))
    resolver = SecretsResolver(client, cache=SecretCache(max_age=3600))
    first = run(resolver, create(PROPS))
    second = run(resolver, create_event(PROPS, logical_id="Other"))
    assert first["Data"] == second["Data"] == {"SecretString": "cached"}


def test_pinned_version_is_not_served_from_the_current_versions_cache(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string="current"))
    expect_get(stub, answer(string="pinned", version=VERSION_2), VersionId=VERSION_2)
    resolver = SecretsResolver(client, cache=SecretCache(max_age=3600))
    assert run(resolver, create(PROPS))["Data"] == {"SecretString": "current"}
    assert run(resolver, create({**PROPS, "VersionId": VERSION_2}))["Data"] == {"SecretString": "pinned"}


class ExplodingClient:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"Delete must not call Secrets Manager ({name})")


def test_delete_succeeds_at_once_touching_nothing() -> None:
    event = delete_event(
        {**PROPS, "VersionId": VERSION_1, "VersionStage": "AWSCURRENT"}, "demo-stack-Secrets-abc", logical_id="Secrets"
    )
    body = run(SecretsResolver(ExplodingClient()), event)  # type: ignore[arg-type]
    assert outcome(body) == {"Status": "SUCCESS", "Reason": "", "PhysicalResourceId": "demo-stack-Secrets-abc"}


def test_no_client_is_created_before_it_is_needed() -> None:
    made: list[str] = []

    def factory() -> Any:
        made.append("client")
        return ExplodingClient()

    run(SecretsResolver(client_factory=factory), delete_event(PROPS, "id", logical_id="Secrets"))
    assert made == []


def test_botocore_errors_name_the_secret(client: Any) -> None:
    from botocore.exceptions import NoCredentialsError

    class NoCredentials:
        meta = client.meta

        def get_secret_value(self, **_: Any) -> Any:
            raise NoCredentialsError()

    event = create(PROPS)
    assert outcome(run(SecretsResolver(NoCredentials()), event)) == failed_create(  # type: ignore[arg-type]
        event, "Could not read secret todobackend/credentials: NoCredentialsError: Unable to locate credentials"
    )


@pytest.mark.parametrize("empty", [{}, {"SecretString": None}])
def test_a_secret_without_a_value_fails(client: Any, empty: dict[str, Any]) -> None:
    class Empty:
        meta = client.meta

        def get_secret_value(self, **_: Any) -> Any:
            return {"ARN": SECRET_ARN, "VersionId": VERSION_1}

    event = create(PROPS)
    assert outcome(run(SecretsResolver(Empty()), event)) == failed_create(  # type: ignore[arg-type]
        event, "Secret todobackend/credentials has neither SecretString nor SecretBinary; put a value into the secret"
    )


def test_keys_on_a_binary_secret_fail(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(binary=b"\x00bin"))
    event = create({**PROPS, "Keys": ["A"]})
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event,
        "Secret todobackend/credentials is binary, so it has no keys to select; remove Keys and use the "
        "SecretBinary attribute.",
    )


def test_too_large_with_keys_suggests_fewer(client: Any, stub: Stubber) -> None:
    expect_get(stub, answer(string=json.dumps({"A": "a" * 2500, "B": "b" * 2500, "C": "c"})))
    body = run(SecretsResolver(client), create({**PROPS, "Keys": ["A", "B", "A"]}))
    assert body["Reason"] == (
        "Response too large: 5317 bytes with its Data; the limit is 4096 bytes. Largest Data keys: A (2506 B), "
        "B (2506 B). Keys selects 2 keys of secret todobackend/credentials; select fewer."
    )


def test_unknown_property_suggests_the_right_one(client: Any) -> None:
    event = create({**PROPS, "Key": ["A"]})
    assert outcome(run(SecretsResolver(client), event)) == failed_create(
        event, "Invalid properties: Key: unknown property (did you mean Keys?)"
    )
