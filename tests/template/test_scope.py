"""The cfnkit scope the deploy guide gives for the example admits exactly what the example uses.

The guide deploys the example as stack `todobackend` and cfnkit with the parameter values
below (region and account substituted). Every ARN the runner and the resolver will meet
for the example's resources must match them, as IAM matches wildcards.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

REGION, ACCOUNT, STACK = "us-east-1", "123456789012", "todobackend"
ROOT = Path(__file__).resolve().parents[2]
#: The deploy guide is the documentation site's "Deploying" page.
GUIDES = [ROOT / "docs" / "deploy.md"]
COMMAND = "sam deploy --stack-name cfnkit"


def guide_parameters() -> dict[str, str]:
    """`Name=value` pairs of the guide's non-interactive `sam deploy` command."""
    texts = [p.read_text() for p in GUIDES if p.is_file() and COMMAND in p.read_text()]
    assert texts, f"no guide holds `{COMMAND} ...`"
    text = texts[0]
    block = text[text.index(COMMAND) :]
    block = block[: block.index("```")]
    pairs = dict(re.findall(r"(Allowed\w+)=([^\s\"]+)", block))
    return {k: v.replace("$REGION", REGION).replace("$ACCOUNT", ACCOUNT) for k, v in pairs.items()}


def resolve(value: Any, parameters: dict[str, Any]) -> str:
    """A template string value with pseudo parameters and the example's defaults substituted."""
    if isinstance(value, dict) and "Ref" in value:
        return str(parameters[value["Ref"]])
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{([\w:]+)\}", lambda m: str(parameters[m.group(1)]), value["Fn::Sub"])
    assert isinstance(value, str)
    return value


@pytest.fixture(scope="module")
def scope() -> dict[str, str]:
    found = guide_parameters()
    assert set(found) == {
        "AllowedClusterArns",
        "AllowedTaskDefinitionArns",
        "AllowedTaskRoleArns",
        "AllowedTaskLogStreamArns",
        "AllowedSecretPrefix",
    }
    return found


@pytest.fixture(scope="module")
def names(example: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "AWS::StackName": STACK,
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
    }
    values.update({name: p.get("Default") for name, p in example["Parameters"].items()})
    return values


def matches(arn: str, patterns: str) -> bool:
    return any(fnmatchcase(arn, pattern) for pattern in patterns.split(","))


def test_scope_admits_the_example_cluster(
    example: dict[str, Any], names: dict[str, Any], scope: dict[str, str]
) -> None:
    cluster = resolve(example["Resources"]["ApplicationCluster"]["Properties"]["ClusterName"], names)
    assert matches(f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}", scope["AllowedClusterArns"])
    assert not matches(f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}-other", scope["AllowedClusterArns"])


def test_scope_admits_every_revision_of_the_migrate_task_only(
    example: dict[str, Any], names: dict[str, Any], scope: dict[str, str]
) -> None:
    migrate = resolve(example["Resources"]["MigrateTaskDefinition"]["Properties"]["Family"], names)
    app = resolve(example["Resources"]["ApplicationTaskDefinition"]["Properties"]["Family"], names)
    prefix = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/"
    assert matches(f"{prefix}{migrate}:7", scope["AllowedTaskDefinitionArns"])
    assert not matches(f"{prefix}{app}:7", scope["AllowedTaskDefinitionArns"])


@pytest.mark.parametrize("role", ["TaskExecutionRole", "ApplicationTaskRole"])
def test_scope_admits_the_roles_cloudformation_names_for_the_stack(
    example: dict[str, Any], scope: dict[str, str], role: str
) -> None:
    assert "RoleName" not in example["Resources"][role]["Properties"]
    # CloudFormation names an unnamed role <stack>-<logical id>-<random suffix>.
    assert matches(f"arn:aws:iam::{ACCOUNT}:role/{STACK}-{role}-A1B2C3D4E5F6", scope["AllowedTaskRoleArns"])


def test_scope_admits_the_migrate_containers_log_stream(
    example: dict[str, Any], names: dict[str, Any], scope: dict[str, str]
) -> None:
    group = resolve(example["Resources"]["ApplicationLogGroup"]["Properties"]["LogGroupName"], names)
    (container,) = example["Resources"]["MigrateTaskDefinition"]["Properties"]["ContainerDefinitions"]
    prefix = container["LogConfiguration"]["Options"]["awslogs-stream-prefix"]
    stream = f"{prefix}/{container['Name']}/0123456789abcdef0123456789abcdef"
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{stream}"
    assert matches(arn, scope["AllowedTaskLogStreamArns"])


def test_scope_admits_the_example_secret(names: dict[str, Any], scope: dict[str, str]) -> None:
    assert str(names["SecretId"]).startswith(scope["AllowedSecretPrefix"])
