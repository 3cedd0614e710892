"""cfnkit.awsparams: PascalCase properties to botocore-typed parameters, coerced as schemas coerce."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from cfnkit.awsparams import api_params
from cfnkit.errors import InvalidProperties

#: The enum as the installed botocore models it (CI also runs these tests on the older botocore
#: of the Lambda runtime, whose model lists fewer launch types).
LAUNCH_TYPES = ", ".join(botocore.session.get_session().get_service_model("ecs").shape_for("LaunchType").enum)

CANARY = "Zq9-canary-value-7731"


def problems(properties: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidProperties) as caught:
        api_params("ecs", "RunTask", properties, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_run_task_parameters_are_cased_and_coerced_by_the_service_model() -> None:
    params = api_params(
        "ecs",
        "RunTask",
        {
            "Cluster": "main",
            "TaskDefinition": "migrate:3",
            "Count": "2",
            "EnableExecuteCommand": "true",
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": ["subnet-1", "subnet-2"],
                    "SecurityGroups": ["sg-1"],
                    "AssignPublicIp": "DISABLED",
                }
            },
            "Overrides": {
                "ContainerOverrides": [
                    {
                        "Name": "app",
                        "Command": ["python", "manage.py", "migrate"],
                        "Memory": "512",
                        "Environment": [{"Name": "DEBUG", "Value": "0"}],
                    }
                ]
            },
            "Tags": [{"Key": "team", "Value": "core"}],
        },
    )
    assert params == {
        "cluster": "main",
        "taskDefinition": "migrate:3",
        "count": 2,
        "enableExecuteCommand": True,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-1", "subnet-2"],
                "securityGroups": ["sg-1"],
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {
            "containerOverrides": [
                {
                    "name": "app",
                    "command": ["python", "manage.py", "migrate"],
                    "memory": 512,
                    "environment": [{"name": "DEBUG", "value": "0"}],
                }
            ]
        },
        "tags": [{"key": "team", "value": "core"}],
    }


def test_unknown_nested_key_has_its_path_and_a_did_you_mean() -> None:
    assert problems({"TaskDefinition": "td", "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnet": ["s"]}}}) == [
        "NetworkConfiguration.AwsvpcConfiguration.Subnet: unknown property (did you mean Subnets?)",
        "NetworkConfiguration.AwsvpcConfiguration.Subnets: required; expected a list",
    ]


def test_wrong_types_are_reported_with_paths_never_values() -> None:
    found = problems(
        {
            "TaskDefinition": "td",
            "Count": CANARY,
            "EnableExecuteCommand": CANARY,
            "LaunchType": CANARY,
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": CANARY}},
            "Overrides": {"ContainerOverrides": [{"Cpu": [CANARY]}]},
            "Tags": {"Key": "k"},
            "PlacementConstraints": [CANARY],
        }
    )
    assert found == [
        "Count: expected an integer, got a string",
        "EnableExecuteCommand: expected a boolean (true or false), got a string",
        f"LaunchType: expected one of {LAUNCH_TYPES}",
        "NetworkConfiguration.AwsvpcConfiguration.Subnets: expected a list, got a string",
        "Overrides.ContainerOverrides[0].Cpu: expected an integer, got a list",
        "Tags: expected a list, got an object",
        "PlacementConstraints[0]: expected an object, got a string",
    ]
    assert not any(CANARY in problem for problem in found)


def test_allowed_limits_the_top_level_names() -> None:
    assert problems({"TaskDefinition": "td", "Cluster": "c"}, allowed={"TaskDefinition", "Count"}) == [
        "Cluster: unknown property",
    ]
    assert api_params("ecs", "RunTask", {"TaskDefinition": "td"}, allowed={"TaskDefinition"}) == {
        "taskDefinition": "td"
    }


def test_required_members_outside_allowed_are_not_demanded() -> None:
    assert api_params("ecs", "RunTask", {"Cluster": "c"}, allowed={"Cluster"}) == {"cluster": "c"}


def test_path_prefixes_every_problem() -> None:
    assert problems({"Count": "x", "TaskDefinition": "td"}, path="RunTask") == [
        "RunTask.Count: expected an integer, got a string",
    ]


def test_maps_floats_numbers_and_passthrough_shapes() -> None:
    assert api_params("ecs", "TagResource", {"ResourceArn": "arn", "Tags": [{"Key": "k", "Value": 5}]}) == {
        "resourceArn": "arn",
        "tags": [{"key": "k", "value": "5"}],
    }
    assert api_params(
        "sqs",
        "SendMessage",
        {
            "QueueUrl": "u",
            "MessageBody": "b",
            "MessageAttributes": {"Attr": {"DataType": "Binary", "BinaryValue": b"\x00"}},
        },
    ) == {
        "QueueUrl": "u",
        "MessageBody": "b",
        "MessageAttributes": {"Attr": {"DataType": "Binary", "BinaryValue": b"\x00"}},
    }
    assert api_params(
        "cloudwatch",
        "PutMetricData",
        {
            "Namespace": "n",
            "MetricData": [{"MetricName": "m", "Value": "1.5", "Values": [2, 3.5]}],
        },
    ) == {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": 1.5, "Values": [2.0, 3.5]}]}


def test_map_and_float_type_errors() -> None:
    with pytest.raises(InvalidProperties) as caught:
        api_params("sqs", "SendMessage", {"QueueUrl": "u", "MessageBody": "b", "MessageAttributes": ["x"]})
    assert caught.value.reason() == "Invalid properties: MessageAttributes: expected an object, got a list"
    with pytest.raises(InvalidProperties) as caught:
        api_params(
            "cloudwatch",
            "PutMetricData",
            {
                "Namespace": "n",
                "MetricData": [{"MetricName": "m", "Value": "high", "Dimensions": "d", "StorageResolution": True}],
            },
        )
    assert [str(p) for p in caught.value.problems] == [
        "MetricData[0].Value: expected a number, got a string",
        "MetricData[0].Dimensions: expected a list, got a string",
        "MetricData[0].StorageResolution: expected an integer, got a boolean",
    ]


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(InvalidProperties) as caught:
        api_params("ecs", "RunTask", ["not", "an", "object"])  # type: ignore[arg-type]
    assert caught.value.reason() == "Invalid properties: expected an object, got a list"


def test_structure_and_map_shapes_describe_themselves_when_required() -> None:
    with pytest.raises(InvalidProperties) as caught:
        api_params(
            "ecs",
            "CreateService",
            {"ServiceName": "s", "DeploymentConfiguration": {"DeploymentCircuitBreaker": {"Enable": "yes"}}},
        )
    assert [str(p) for p in caught.value.problems] == [
        "DeploymentConfiguration.DeploymentCircuitBreaker.Rollback: required; expected a boolean (true or false)",
    ]


def test_native_json_types_pass_and_wrong_ones_are_named() -> None:
    assert api_params("ecs", "RunTask", {"TaskDefinition": "td", "Count": 2, "EnableExecuteCommand": True}) == {
        "taskDefinition": "td",
        "count": 2,
        "enableExecuteCommand": True,
    }
    assert problems({"TaskDefinition": "td", "Cluster": ["c"]}) == ["Cluster: expected a string, got a list"]
    with pytest.raises(InvalidProperties) as caught:
        api_params("cloudwatch", "PutMetricData", {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": [1]}]})
    assert caught.value.reason() == "Invalid properties: MetricData[0].Value: expected a number, got a list"


def test_missing_required_members_name_their_shape() -> None:
    with pytest.raises(InvalidProperties) as caught:
        api_params("lambda", "CreateFunction", {"FunctionName": "f", "Role": "r"})
    assert [str(p) for p in caught.value.problems] == ["Code: required; expected an object"]
    with pytest.raises(InvalidProperties) as caught:
        api_params("resourcegroupstaggingapi", "TagResources", {})
    assert [str(p) for p in caught.value.problems] == [
        "ResourceARNList: required; expected a list",
        "Tags: required; expected an object",
    ]
    with pytest.raises(InvalidProperties) as caught:
        api_params("sqs", "SendMessage", {"MessageBody": "b"})
    assert [str(p) for p in caught.value.problems] == ["QueueUrl: required; expected a string"]


def test_numbers_python_cannot_hold_are_problems_not_crashes() -> None:
    assert problems({"TaskDefinition": "td", "Count": "9" * 5000}) == ["Count: expected an integer, got a string"]
    with pytest.raises(InvalidProperties) as caught:
        api_params(
            "cloudwatch",
            "PutMetricData",
            {"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": "inf", "Values": [10**400, "nan"]}]},
        )
    assert [str(p) for p in caught.value.problems] == [
        "MetricData[0].Value: expected a number, got a string",
        "MetricData[0].Values[0]: expected a number, got a number out of range",
        "MetricData[0].Values[1]: expected a number, got a string",
    ]


@pytest.mark.parametrize(("count", "coerced"), [("3", 3), (" 3 ", 3), (3, 3), (3.0, 3)])
def test_integers_are_coerced_exactly_as_a_schema_integer(count: Any, coerced: int) -> None:
    from cfnkit.schema import Integer, parse_at

    assert api_params("ecs", "RunTask", {"TaskDefinition": "td", "Count": count})["count"] == coerced
    assert parse_at(Integer(), count, "Count", []) == coerced


@pytest.mark.parametrize("count", ["3.5", 3.5, True, "", "three"])
def test_what_a_schema_integer_refuses_is_refused(count: Any) -> None:
    from cfnkit.schema import Integer, parse_at

    expected: list[Any] = []
    parse_at(Integer(), count, "Count", expected)
    assert problems({"TaskDefinition": "td", "Count": count}) == [str(p) for p in expected]
    assert len(expected) == 1
