"""examples/todobackend/stack.yaml: the document's application wired to cfnkit properly."""

from __future__ import annotations

from typing import Any

import pytest

RUNNER_PROPERTIES = {
    "Cluster",
    "TaskDefinition",
    "Overrides",
    "LaunchType",
    "CapacityProviderStrategy",
    "NetworkConfiguration",
    "PlatformVersion",
    "Count",
    "Group",
    "PlacementConstraints",
    "PlacementStrategy",
    "Tags",
    "PropagateTags",
    "EnableExecuteCommand",
    "RunOn",
    "Timeout",
    "SuccessExitCodes",
    "LogTailLines",
    "StopOnTimeout",
}
RESOLVER_PROPERTIES = {"SecretId", "VersionId", "VersionStage", "Keys"}
COMMON = {"ServiceToken", "ServiceTimeout"}


def resources(example: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in example["Resources"].items() if r["Type"] == kind}


def container(example: dict[str, Any], task_definition: str, name: str) -> dict[str, Any]:
    definitions = example["Resources"][task_definition]["Properties"]["ContainerDefinitions"]
    found: dict[str, Any] = next(c for c in definitions if c["Name"] == name)
    return found


def environment(definition: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in definition.get("Environment", [])}


def test_database_password_comes_from_the_resolver(example: dict[str, Any]) -> None:
    database = example["Resources"]["ApplicationDatabase"]["Properties"]
    assert database["MasterUserPassword"] == {"Fn::GetAtt": ["Secrets", "MYSQL_PASSWORD"]}
    secrets = example["Resources"]["Secrets"]
    assert secrets["Type"] == "Custom::SecretsResolver"
    assert set(secrets["Properties"]) <= RESOLVER_PROPERTIES | COMMON
    assert secrets["Properties"]["SecretId"] == {"Ref": "SecretId"}
    assert "MYSQL_PASSWORD" in secrets["Properties"]["Keys"]


def test_no_password_parameter_or_plaintext_secret_remains(example: dict[str, Any]) -> None:
    assert not [p for p in example["Parameters"] if "Password" in p]
    for name in ("MigrateTaskDefinition", "ApplicationTaskDefinition"):
        for definition in example["Resources"][name]["Properties"]["ContainerDefinitions"]:
            assert not {"MYSQL_PASSWORD", "SECRET_KEY"} & set(environment(definition))


def test_migrate_task_definition_runs_migrate_on_fargate_with_awslogs(example: dict[str, Any]) -> None:
    props = example["Resources"]["MigrateTaskDefinition"]["Properties"]
    assert props["RequiresCompatibilities"] == ["FARGATE"]
    assert props["NetworkMode"] == "awsvpc"
    migrate = container(example, "MigrateTaskDefinition", "migrate")
    assert migrate["Command"] == ["python3", "manage.py", "migrate", "--no-input"]
    logging = migrate["LogConfiguration"]
    assert logging["LogDriver"] == "awslogs"
    assert logging["Options"]["awslogs-group"] == {"Ref": "ApplicationLogGroup"}
    assert logging["Options"]["awslogs-stream-prefix"]


def test_migrate_task_uses_the_runner_with_documented_properties_only(example: dict[str, Any]) -> None:
    task = example["Resources"]["MigrateTask"]
    assert task["Type"] == "Custom::EcsTask"
    props = task["Properties"]
    assert set(props) <= RUNNER_PROPERTIES | COMMON
    assert props["ServiceToken"] == {"Fn::ImportValue": {"Fn::Sub": "${CfnkitStackName}-EcsTaskRunner"}}
    assert props["Cluster"] == {"Ref": "ApplicationCluster"}
    assert props["TaskDefinition"] == {"Ref": "MigrateTaskDefinition"}
    assert props["LaunchType"] == "FARGATE"
    assert "AwsvpcConfiguration" in props["NetworkConfiguration"]
    # The runner's own wait ends before CloudFormation stops waiting.
    assert props["Timeout"] < props["ServiceTimeout"] <= 3600


def test_service_waits_for_the_migration(example: dict[str, Any]) -> None:
    service = example["Resources"]["ApplicationService"]
    assert service["Type"] == "AWS::ECS::Service"
    assert "MigrateTask" in service["DependsOn"]
    assert service["Properties"]["LaunchType"] == "FARGATE"
    assert service["Properties"]["TaskDefinition"] == {"Ref": "ApplicationTaskDefinition"}


@pytest.mark.parametrize(
    ("task_definition", "name"),
    [("MigrateTaskDefinition", "migrate"), ("ApplicationTaskDefinition", "todobackend")],
)
def test_containers_load_secrets_through_the_task_role(
    example: dict[str, Any], task_definition: str, name: str
) -> None:
    assert example["Resources"][task_definition]["Properties"]["TaskRoleArn"] == {
        "Fn::GetAtt": ["ApplicationTaskRole", "Arn"]
    }
    env = environment(container(example, task_definition, name))
    assert env["SECRETS"] == {"Ref": "SecretId"}
    assert env["AWS_DEFAULT_REGION"] == {"Ref": "AWS::Region"}


def test_task_role_is_assumable_only_by_ecs_tasks_of_this_account(example: dict[str, Any]) -> None:
    trust = example["Resources"]["ApplicationTaskRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_cfnkit_stack_name_is_a_parameter(example: dict[str, Any]) -> None:
    assert example["Parameters"]["CfnkitStackName"]["Type"] == "String"
    assert example["Parameters"]["CfnkitStackName"]["Default"] == "cfnkit"
