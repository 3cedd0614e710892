"""Least privilege, statement by statement, in both templates.

Rules: no wildcard actions; Resource "*" only with a Condition; iam:PassRole only to
ecs-tasks.amazonaws.com; kms:Decrypt only through Secrets Manager; the ECS task
actions only on the allowed clusters; the runner invokes only itself, by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

Statement = dict[str, Any]
CLUSTER_CONDITION = {"ArnLike": {"ecs:cluster": {"Ref": "AllowedClusterArns"}}}


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _unwrap_if(value: Any) -> Iterator[Any]:
    """Both branches of Fn::If, recursively; AWS::NoValue dropped."""
    if isinstance(value, dict) and "Fn::If" in value:
        for branch in value["Fn::If"][1:]:
            yield from _unwrap_if(branch)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


def _role_of(props: dict[str, Any], name: str) -> str:
    """The role a separate policy resource is attached to (by Ref), else the policy's own id."""
    roles = _listify(props.get("RoleName") or props.get("Roles") or [])
    refs = [r["Ref"] for r in roles if isinstance(r, dict) and "Ref" in r]
    return refs[0] if len(refs) == 1 else name


def statements_by_role(template: dict[str, Any]) -> dict[str, list[Statement]]:
    """Every policy statement granted by the template, keyed by role (or policy) resource."""
    found: dict[str, list[Statement]] = {}
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents: list[Any] = []
        name = logical_id
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                documents += [p["PolicyDocument"] for p in _unwrap_if(policy)]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            name = _role_of(props, logical_id)
            documents.append(props["PolicyDocument"])
        elif resource["Type"] == "AWS::Serverless::Function":
            for policy in _listify(props.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    documents.append(policy)
        for document in documents:
            for statement in _unwrap_if(document["Statement"]):
                found.setdefault(name, []).extend(_listify(statement))
    return found


def all_statements(template: dict[str, Any]) -> list[Statement]:
    return [s for group in statements_by_role(template).values() for s in group]


def actions(statement: Statement) -> list[str]:
    return [str(a) for a in _listify(statement["Action"])]


def resources(statement: Statement) -> list[Any]:
    return _listify(statement["Resource"])


@pytest.fixture(scope="module", params=["template.yaml", "examples/todobackend/stack.yaml"])
def any_template(request: pytest.FixtureRequest, template: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return template if request.param == "template.yaml" else example


@pytest.fixture(scope="module")
def runner(template: dict[str, Any]) -> list[Statement]:
    return statements_by_role(template)["EcsTaskRunnerRole"]


@pytest.fixture(scope="module")
def resolver(template: dict[str, Any]) -> list[Statement]:
    return statements_by_role(template)["SecretsResolverRole"]


def granting(statements: list[Statement], action: str) -> list[Statement]:
    found = [s for s in statements if action in actions(s)]
    assert found, f"no statement grants {action}"
    return found


# -- rules for every statement of both templates ---------------------------------------


def test_every_statement_allows_named_actions_on_named_resources(any_template: dict[str, Any]) -> None:
    for statement in all_statements(any_template):
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement)
        for action in actions(statement):
            assert "*" not in action, f"wildcard action {action!r}"


def test_resource_star_only_with_condition(any_template: dict[str, Any]) -> None:
    for statement in all_statements(any_template):
        if "*" in resources(statement):
            assert statement.get("Condition"), f"Resource '*' without a Condition: {statement.get('Sid')}"


def test_pass_role_only_to_ecs_tasks(any_template: dict[str, Any]) -> None:
    for statement in all_statements(any_template):
        if "iam:PassRole" in actions(statement):
            assert actions(statement) == ["iam:PassRole"]
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
            assert "*" not in resources(statement)


def test_kms_decrypt_only_via_secrets_manager(any_template: dict[str, Any]) -> None:
    for statement in all_statements(any_template):
        if "kms:Decrypt" in actions(statement):
            assert actions(statement) == ["kms:Decrypt"]
            assert statement["Condition"]["StringEquals"]["kms:ViaService"] == {
                "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"
            }


def test_actions_exist_in_iam(any_template: dict[str, Any]) -> None:
    """Every action is a real IAM action (cfn-lint's copy of the service authorization data)."""
    import cfnlint.data.AdditionalSpecs

    data = json.loads((Path(cfnlint.data.AdditionalSpecs.__file__).parent / "Policies.json").read_text())
    for statement in all_statements(any_template):
        for action in actions(statement):
            service, _, name = action.partition(":")
            assert name.lower() in data[service]["Actions"], f"unknown IAM action {action}"


# -- what each function's role grants ---------------------------------------------------


def test_runner_role_grants_exactly_its_actions(runner: list[Statement]) -> None:
    granted = {a for s in runner for a in actions(s)}
    assert granted == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "ecs:StopTask",
        "ecs:ListTasks",
        "ecs:TagResource",
        "ecs:DescribeTaskDefinition",
        "iam:PassRole",
        "lambda:InvokeFunction",
        "logs:GetLogEvents",
    }


@pytest.mark.parametrize("action", ["ecs:RunTask", "ecs:DescribeTasks", "ecs:StopTask", "ecs:ListTasks"])
def test_ecs_task_actions_only_on_allowed_clusters(runner: list[Statement], action: str) -> None:
    for statement in granting(runner, action):
        assert statement["Condition"] == CLUSTER_CONDITION


def test_run_task_only_for_allowed_task_definitions(runner: list[Statement]) -> None:
    for statement in granting(runner, "ecs:RunTask"):
        assert statement["Resource"] == {"Ref": "AllowedTaskDefinitionArns"}


def test_list_tasks_on_any_resource_scoped_by_the_cluster_condition(runner: list[Statement]) -> None:
    # ListTasks without containerInstance is authorized against Resource "*" with ecs:cluster
    # in the request context; a container-instance ARN never matches it (cdklabs/construct-hub
    # PR #1207, awsdocs/amazon-ecs-developer-guide issue #211; tests/iam evaluates the call).
    for statement in granting(runner, "ecs:ListTasks"):
        assert statement["Resource"] == "*"
        assert statement["Condition"] == CLUSTER_CONDITION


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("ecs:DescribeTasks", "task/*"),
        ("ecs:StopTask", "task/*"),
        ("ecs:TagResource", "task/*"),
    ],
)
def test_ecs_actions_on_their_resource_type_in_this_account_and_region(
    runner: list[Statement], action: str, resource: str
) -> None:
    for statement in granting(runner, action):
        assert statement["Resource"] == {
            "Fn::Sub": f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
        }


def test_tagging_only_while_run_task_creates_the_task(runner: list[Statement]) -> None:
    for statement in granting(runner, "ecs:TagResource"):
        assert statement["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}


def test_pass_role_only_for_allowed_task_roles(runner: list[Statement]) -> None:
    for statement in granting(runner, "iam:PassRole"):
        assert statement["Resource"] == {"Ref": "AllowedTaskRoleArns"}


def test_log_tail_only_from_allowed_streams(runner: list[Statement]) -> None:
    for statement in granting(runner, "logs:GetLogEvents"):
        assert statement["Resource"] == {"Ref": "AllowedTaskLogStreamArns"}


def test_own_logs_only_in_own_log_group(template: dict[str, Any]) -> None:
    for role, group in [
        ("EcsTaskRunnerRole", "EcsTaskRunnerLogGroup"),
        ("SecretsResolverRole", "SecretsResolverLogGroup"),
    ]:
        for statement in granting(statements_by_role(template)[role], "logs:PutLogEvents"):
            assert statement["Resource"] == {"Fn::GetAtt": [group, "Arn"]}
            assert "logs:CreateLogGroup" not in actions(statement)


def test_runner_invokes_only_itself_without_a_dependency_cycle(
    runner: list[Statement], template: dict[str, Any]
) -> None:
    for statement in granting(runner, "lambda:InvokeFunction"):
        assert statement["Resource"] == {"Fn::GetAtt": ["EcsTaskRunnerFunction", "Arn"]}
    # The grant is a separate policy on the role, so the role does not refer to the function
    # (function -> role -> function would be a cycle).
    role = json.dumps(template["Resources"]["EcsTaskRunnerRole"])
    assert "EcsTaskRunnerFunction" not in role
    policy = template["Resources"]["EcsTaskRunnerContinueWaitPolicy"]
    assert policy["Properties"]["RoleName"] == {"Ref": "EcsTaskRunnerRole"}


def test_resolver_role_grants_exactly_its_actions(resolver: list[Statement]) -> None:
    granted = {a for s in resolver for a in actions(s)}
    assert granted == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "kms:Decrypt",
    }


def test_secrets_only_under_allowed_prefix(resolver: list[Statement], template: dict[str, Any]) -> None:
    arn = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AllowedSecretPrefix}*"
    for action in ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"):
        for statement in granting(resolver, action):
            assert statement["Resource"] == {"Fn::Sub": arn}
    for statement in granting(resolver, "kms:Decrypt"):
        assert statement["Condition"]["StringLike"] == {"kms:EncryptionContext:SecretARN": {"Fn::Sub": arn}}
    # "*" alone (or any wildcard) is not a prefix.
    pattern = template["Parameters"]["AllowedSecretPrefix"]["AllowedPattern"]
    assert "*" not in pattern


# -- the example's task role (the container secrets entrypoint) ------------------------------


def test_example_task_role_reads_only_its_secret(example: dict[str, Any]) -> None:
    statements = statements_by_role(example)["ApplicationTaskRole"]
    assert {a for s in statements for a in actions(s)} == {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    for statement in granting(statements, "secretsmanager:GetSecretValue"):
        assert statement["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretId}-*"
        }
