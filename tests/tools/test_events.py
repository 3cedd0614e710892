"""cfnkit event: protocol-complete events for the example stack's custom resources."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cfnkit.protocol import RequestType, parse_request
from cfnkit_tools.provider_ids import function_for_token

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "examples" / "todobackend" / "stack.yaml"
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "sample" / "template.yaml"
FIXTURE = REPO / "tools" / "cfnkit_tools" / "fixtures" / "todobackend.json"

RUNNER_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:cfnkit-EcsTaskRunner"


def event_of(ran: Any) -> dict[str, Any]:
    assert ran.code == 0, ran.err
    event: dict[str, Any] = json.loads(ran.out)
    return event


def test_create_resolves_refs_subs_imports_and_defaults(cfnkit: Callable[..., Any]) -> None:
    event = event_of(cfnkit("event", "create", "--template", STACK, "--resource", "MigrateTask"))

    request = parse_request(event)
    assert request.request_type is RequestType.CREATE
    assert request.physical_id is None
    assert event["ServiceToken"] == RUNNER_TOKEN
    assert event["ResourceType"] == "Custom::EcsTask"
    assert event["StackId"].startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/todobackend/")
    props = event["ResourceProperties"]
    assert props["ServiceToken"] == RUNNER_TOKEN
    assert props["ServiceTimeout"] == "1200"
    assert props["Cluster"] == "todobackend"  # ClusterName: !Ref AWS::StackName
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    assert props["Count"] == "1"
    assert props["EnableExecuteCommand"] == "false"
    assert props["SuccessExitCodes"] == ["0"]
    assert "OldResourceProperties" not in event


def test_values_only_a_deploy_knows_become_named_placeholders(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "MigrateTask")

    props = event_of(ran)["ResourceProperties"]
    assert props["TaskDefinition"] == "<MigrateTaskDefinition>"
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == ["<Subnets>"]
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"] == ["<ApplicationSecurityGroup>"]
    assert "<MigrateTaskDefinition>" in ran.err
    assert "--parameter" in ran.err


def test_parameters_fill_refs_lists_pseudo_parameters_and_exports(cfnkit: Callable[..., Any]) -> None:
    event = event_of(
        cfnkit(
            "event",
            "create",
            "--template",
            STACK,
            "--resource",
            "MigrateTask",
            "--parameter",
            "AWS::StackName=shop",
            "--parameter",
            "AWS::Region=eu-west-1",
            "-p",
            "Subnets=subnet-1,subnet-2",
            "-p",
            "ApplicationSecurityGroup=sg-9",
            "-p",
            "MigrateTaskDefinition=arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-migrate:7",
            "-p",
            "CfnkitStackName=tools",
            "-p",
            "tools-EcsTaskRunner=arn:aws:lambda:eu-west-1:123456789012:function:runner",
        )
    )

    props = event["ResourceProperties"]
    assert props["Cluster"] == "shop"
    assert props["TaskDefinition"] == "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-migrate:7"
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == ["subnet-1", "subnet-2"]
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"] == ["sg-9"]
    assert event["ServiceToken"] == "arn:aws:lambda:eu-west-1:123456789012:function:runner"
    assert event["StackId"].startswith("arn:aws:cloudformation:eu-west-1:123456789012:stack/shop/")


def test_secrets_resource_takes_the_parameter_default(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "Secrets")
    event = event_of(ran)

    assert event["ResourceType"] == "Custom::SecretsResolver"
    assert event["ResourceProperties"] == {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cfnkit-SecretsResolver",
        "ServiceTimeout": "60",
        "SecretId": "todobackend/credentials",
        "Keys": ["MYSQL_PASSWORD"],
    }
    assert ran.err == ""  # the ServiceToken import became the function's ARN: no placeholder left


def test_update_carries_old_properties_and_the_physical_id(cfnkit: Callable[..., Any]) -> None:
    event = event_of(
        cfnkit(
            "event", "update", "--template", STACK, "--resource", "Secrets", "--physical-id", "todobackend-Secrets-1"
        )
    )

    request = parse_request(event)
    assert request.request_type is RequestType.UPDATE
    assert event["PhysicalResourceId"] == "todobackend-Secrets-1"
    assert event["OldResourceProperties"] == event["ResourceProperties"]


def test_update_takes_old_properties_from_a_file(cfnkit: Callable[..., Any], tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"SecretId": "todobackend/old", "Keys": ["MYSQL_PASSWORD"]}))

    event = event_of(cfnkit("event", "update", "--template", STACK, "--resource", "Secrets", "--old-properties", old))

    assert event["OldResourceProperties"] == {
        "SecretId": "todobackend/old",
        "Keys": ["MYSQL_PASSWORD"],
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cfnkit-SecretsResolver",
    }


@pytest.mark.functional
def test_update_carries_the_id_the_secrets_resolver_really_answers_on_create(
    cfnkit: Callable[..., Any], tmp_path: Path
) -> None:
    # The resolver hashes SecretId into its id, so the core's default would be a replacement.
    create = tmp_path / "create.json"
    assert cfnkit("event", "create", "--template", STACK, "--resource", "Secrets", "-o", create).code == 0
    answered = cfnkit(
        "invoke",
        "SecretsResolverFunction",
        "--event",
        create,
        "--template",
        REPO / "template.yaml",
        "--fixture",
        FIXTURE,
        "--json",
        "-q",
    )
    update = event_of(cfnkit("event", "update", "--template", STACK, "--resource", "Secrets"))
    delete = event_of(
        cfnkit(
            "event",
            "delete",
            "--template",
            STACK,
            "--resource",
            "Secrets",
            "--response-url",
            "http://127.0.0.1:9/r",
            "--request-id",
            "req-1",
        )
    )

    physical_id = json.loads(answered.out)["PhysicalResourceId"]
    assert answered.code == 0, answered.err
    assert update["PhysicalResourceId"] == physical_id
    assert delete["PhysicalResourceId"] == physical_id
    assert physical_id != parse_request(json.loads(create.read_text())).default_physical_id()
    assert delete["RequestType"] == "Delete"
    assert delete["ResponseURL"] == "http://127.0.0.1:9/r"
    assert delete["RequestId"] == "req-1"
    assert "OldResourceProperties" not in delete


def test_a_provider_without_its_own_id_gets_the_cores_default(cfnkit: Callable[..., Any]) -> None:
    create = event_of(cfnkit("event", "create", "--template", STACK, "--resource", "MigrateTask"))
    update = event_of(cfnkit("event", "update", "--template", STACK, "--resource", "MigrateTask"))

    assert update["PhysicalResourceId"] == parse_request(create).default_physical_id()


def test_a_provider_template_without_the_function_falls_back_to_the_cores_default(cfnkit: Callable[..., Any]) -> None:
    create = event_of(cfnkit("event", "create", "--template", STACK, "--resource", "Secrets"))
    update = event_of(
        cfnkit("event", "update", "--template", STACK, "--resource", "Secrets", "--provider-template", SAMPLE)
    )

    assert update["PhysicalResourceId"] == parse_request(create).default_physical_id()


def test_an_explicit_physical_id_wins(cfnkit: Callable[..., Any]) -> None:
    update = event_of(
        cfnkit("event", "update", "--template", STACK, "--resource", "Secrets", "--physical-id", "from-cloudformation")
    )

    assert update["PhysicalResourceId"] == "from-cloudformation"


def test_a_misspelt_parameter_is_an_error_that_suggests_the_closest(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "Secrets", "-p", "SecretIdd=foo")

    assert ran.code == 3
    assert ran.out == ""
    assert ran.err == (
        f"cfnkit: error: --parameter SecretIdd: {STACK} has no parameter, resource or export of that name; "
        "did you mean SecretId? (its parameters: CfnkitStackName, VpcId, Subnets, AssignPublicIp, "
        "ApplicationImageRepository, ApplicationImageTag, ApplicationDesiredCount, SecretId, "
        "DatabaseInstanceClass, LogRetentionDays)\n"
    )


def test_a_parameter_far_from_every_name_gets_no_guess(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "Secrets", "-p", "Zzzzzz=1")

    assert ran.code == 3
    assert "has no parameter, resource or export of that name (its parameters: CfnkitStackName," in ran.err
    assert "did you mean" not in ran.err


@pytest.mark.parametrize(
    "name",
    [
        "AWS::StackName",
        "ApplicationCluster",
        "ApplicationDatabase.Endpoint.Address",
        "cfnkit-SecretsResolver",
        "SecretId",
    ],
)
def test_every_kind_of_value_the_resolver_uses_is_accepted(cfnkit: Callable[..., Any], name: str) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "Secrets", "-p", f"{name}=x")

    assert ran.code == 0, ran.err


def test_an_unknown_pseudo_parameter_is_an_error(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "Secrets", "-p", "AWS::Regoin=x")

    assert ran.code == 3
    assert ran.err == "cfnkit: error: unknown pseudo parameter AWS::Regoin\n"


def test_output_file(cfnkit: Callable[..., Any], tmp_path: Path) -> None:
    target = tmp_path / "event.json"

    ran = cfnkit("event", "delete", "--template", STACK, "--resource", "Secrets", "-o", target)

    assert ran.code == 0
    assert ran.out == ""
    assert json.loads(target.read_text())["RequestType"] == "Delete"


def test_a_resource_that_is_not_custom_is_an_input_error(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "ApplicationCluster")

    assert ran.code == 3
    assert ran.err == "cfnkit: error: ApplicationCluster is AWS::ECS::Cluster, not a custom resource\n"


def test_an_unknown_resource_lists_the_custom_resources(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "Migrate")

    assert ran.code == 3
    assert ran.err.endswith("has no resource Migrate; its custom resources: MigrateTask, Secrets\n")


def test_a_malformed_parameter_is_an_input_error(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("event", "create", "--template", STACK, "--resource", "Secrets", "-p", "SecretId")

    assert ran.code == 3
    assert ran.err == "cfnkit: error: --parameter 'SecretId': expected KEY=VALUE\n"


@pytest.mark.functional
def test_a_nested_cfnkit_applications_token_is_asked_of_the_same_provider(
    cfnkit: Callable[..., Any], tmp_path: Path
) -> None:
    nested = REPO / "examples" / "nested" / "stack.yaml"
    create = tmp_path / "create.json"
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps({"secrets": [{"Name": "myapp/credentials", "SecretString": {"K": "v"}}]}))
    assert cfnkit("event", "create", "--template", nested, "--resource", "Secrets", "-o", create).code == 0
    answered = cfnkit(
        "invoke",
        "SecretsResolverFunction",
        "--event",
        create,
        "--template",
        REPO / "template.yaml",
        "--fixture",
        fixture,
        "--json",
        "-q",
    )

    update = event_of(cfnkit("event", "update", "--template", nested, "--resource", "Secrets"))

    assert answered.code == 0, answered.err
    assert update["ServiceToken"].endswith(":function:nested-Cfnkit-SecretsResolverServiceToken")
    assert update["PhysicalResourceId"] == json.loads(answered.out)["PhysicalResourceId"]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("arn:aws:lambda:us-east-1:1:function:prod-SecretsResolver", "SecretsResolverFunction"),  # the export
        ("arn:aws:lambda:us-east-1:1:function:app-Cfnkit-1X2Y-EcsTaskRunnerServiceToken", "EcsTaskRunnerFunction"),
        ("arn:aws:lambda:us-east-1:1:function:SecretsResolver", None),  # no stack name before the suffix
        ("arn:aws:lambda:us-east-1:1:function:prod-Unknown", None),
    ],
)
def test_a_token_is_traced_to_the_function_behind_its_export_or_output(token: str, expected: str | None) -> None:
    assert function_for_token(REPO / "template.yaml", token) == expected


def test_a_token_naming_a_function_of_the_template_by_its_function_name() -> None:
    assert function_for_token(SAMPLE, "arn:aws:lambda:us-east-1:1:function:mystack-Sample") == "SampleFunction"
    assert function_for_token(SAMPLE, "arn:aws:lambda:us-east-1:1:function:Sample") is None
