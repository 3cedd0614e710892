"""Every AWS call the providers make is allowed by template.yaml's roles, as deployed per the docs.

The example deployment (docs/deploy.md: stack `cfnkit`, consumer stack `todobackend`) is
played against moto: MigrateTask's properties come from examples/todobackend/stack.yaml,
the task definition has the example's roles and awslogs group, the secret is encrypted
with a customer managed key. The providers' calls are recorded and evaluated with
tests/iam/authz.py. A narrowed copy of the template must fail with a readable message.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from cfnkit import CustomResource
from cfnkit.testing import FakeContext, RecordingSender, ScriptedClock, create_event, delete_event
from cfnkit.waiter import LambdaInvoker
from cfnkit_tools.ecs_agent import EcsAgent
from cfnkit_tools.events import ConsumerStack
from ecs_runner import EcsTaskRunner, client_config
from secret_resolver import SecretsResolver

from tests.awsrules import EcsRules
from tests.iam.authz import (
    ACCOUNT,
    AUTHORIZATION,
    Call,
    assert_authorized,
    denials,
    deploy_parameters,
    recording,
    role_policies,
)
from tests.support import REGION, moto_ecs

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[2]
STACK = "todobackend"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/todobackend-ApplicationTaskRole-1A2B3C"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/todobackend-TaskExecutionRole-4D5E6F"
LOG_GROUP = "/todobackend/ecs/todobackend"


def template() -> dict[str, Any]:
    from cfnkit_tools.cfn_yaml import load_template

    return dict(load_template(ROOT / "template.yaml"))


@pytest.fixture(scope="module")
def policies() -> dict[str, Any]:
    return role_policies(template(), deploy_parameters(STACK))


class Example:
    """The todobackend example's AWS side in moto, deployed the way docs/deploy.md says."""

    def __init__(self) -> None:
        self.ecs = EcsRules().install(boto3.client("ecs", region_name=REGION, config=client_config()))
        self.agent = EcsAgent(REGION)
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's awsvpc tasks need it
        self.subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        self.ecs.create_cluster(clusterName=STACK)
        boto3.client("logs", region_name=REGION).create_log_group(logGroupName=LOG_GROUP)
        self.task_definition = self.ecs.register_task_definition(
            family=f"{STACK}-migrate",
            taskRoleArn=TASK_ROLE,
            executionRoleArn=EXECUTION_ROLE,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": "migrate",
                    "image": "todobackend",
                    "memory": 512,
                    "essential": True,
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": LOG_GROUP,
                            "awslogs-region": REGION,
                            "awslogs-stream-prefix": "migrate",
                        },
                    },
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        kms = boto3.client("kms", region_name=REGION)
        self.key = kms.create_key(Description="todobackend secrets")["KeyMetadata"]["Arn"]
        secrets = boto3.client("secretsmanager", region_name=REGION)
        self.secret = secrets.create_secret(
            Name="todobackend/credentials",
            KmsKeyId=self.key,
            SecretString=json.dumps({"MYSQL_PASSWORD": "not-a-real-password", "SECRET_KEY": "not-a-real-key"}),
        )["ARN"]

    def properties(self, logical_id: str) -> dict[str, Any]:
        stack = ConsumerStack.load(
            ROOT / "examples" / "todobackend" / "stack.yaml",
            {
                "AWS::StackName": STACK,
                "MigrateTaskDefinition": self.task_definition,
                "Subnets": self.subnet,
                "ApplicationSecurityGroup": "sg-0123456789abcdef0",
                "AssignPublicIp": "DISABLED",
            },
        )
        _, props = stack.custom_resource(logical_id)
        return props

    def stop_all(self, code: int) -> Any:
        def action() -> None:
            for arn in self.agent.task_arns(STACK):
                self.agent.stop(arn, exit_codes={"migrate": code})

        return action


@pytest.fixture
def example(aws_env: None) -> Iterator[Example]:
    with moto_ecs():
        yield Example()


def run_migrate(
    example: Example, event: dict[str, Any], clock: ScriptedClock, *, timeout: float = 900.0, invoker: Any = None
) -> dict[str, Any]:
    sender = RecordingSender()
    runner = EcsTaskRunner(ecs_client=example.ecs, clock=clock)
    CustomResource(runner, sender=sender, clock=clock, invoker=invoker)(event, FakeContext(timeout, clock=clock))
    return sender.bodies[-1] if sender.bodies else {}


# -- the scenarios ------------------------------------------------------------------------------


def test_migration_success_failure_and_timeout_are_authorized(example: Example, policies: dict[str, Any]) -> None:
    props = example.properties("MigrateTask")
    with recording(example.ecs) as recorder:
        ok = ScriptedClock()
        ok.at(2, example.stop_all(0))
        assert run_migrate(example, create_event(props, logical_id="MigrateTask"), ok)["Status"] == "SUCCESS"
        failed = ScriptedClock()
        failed.at(2, example.stop_all(1))
        body = run_migrate(example, create_event(props, logical_id="MigrateTask", request_id="r-2"), failed)
        assert "exited with code 1" in body["Reason"]
        slow = ScriptedClock()  # nobody stops it: the timeout stops the task
        body = run_migrate(
            example, create_event({**props, "Timeout": "5"}, logical_id="MigrateTask", request_id="r-3"), slow
        )
        assert body["Reason"].startswith("timed out after 5 s")
    operations = {c.name for c in recorder.calls}
    assert operations == {
        "ecs:DescribeTaskDefinition",
        "ecs:ListTasks",
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "logs:GetLogEvents",
        "ecs:StopTask",
    }
    assert_authorized(recorder.calls, policies)


def test_continuation_is_authorized(example: Example, policies: dict[str, Any]) -> None:
    lambda_client = boto3.client("lambda", region_name=REGION)
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:cfnkit-EcsTaskRunnerFunction-AbC123"
    with Stubber(lambda_client) as stub, recording(example.ecs, lambda_client) as recorder:
        stub.add_response(
            "invoke", {"StatusCode": 202}, {"FunctionName": function, "InvocationType": "Event", "Payload": ANY}
        )
        clock = ScriptedClock()
        context = FakeContext(30, clock=clock, function_name="cfnkit-EcsTaskRunnerFunction-AbC123")
        runner = EcsTaskRunner(ecs_client=example.ecs, clock=clock)
        CustomResource(runner, sender=RecordingSender(), clock=clock, invoker=LambdaInvoker(lambda_client))(
            create_event(example.properties("MigrateTask"), logical_id="MigrateTask"), context
        )
    assert [c.name for c in recorder.calls][-1] == "lambda:Invoke"
    assert_authorized(recorder.calls, policies)


def test_secret_resolution_and_its_failure_explanations_are_authorized(
    example: Example, policies: dict[str, Any]
) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    with recording(client) as recorder:
        sender = RecordingSender()
        handler = CustomResource(SecretsResolver(client), sender=sender)
        handler(create_event(example.properties("Secrets"), logical_id="Secrets"), FakeContext(60))
        assert sender.bodies[-1]["Status"] == "SUCCESS"
        handler(
            create_event(
                {**example.properties("Secrets"), "VersionStage": "AWSPENDING"}, logical_id="Secrets", request_id="r-2"
            ),
            FakeContext(60),
        )
        assert "has no version labelled AWSPENDING" in sender.bodies[-1]["Reason"]
        handler(delete_event(example.properties("Secrets"), "pid"), FakeContext(60))
    assert {c.name for c in recorder.calls} == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert_authorized(recorder.calls, policies, {example.secret: example.key})


# -- the evaluator fails when it must -----------------------------------------------------------


def _call(role: str, service: str, operation: str, **params: Any) -> Call:
    return Call(role, service, operation, params, REGION)


def test_a_narrowed_statement_fails_naming_the_closest_statement() -> None:
    narrowed = copy.deepcopy(template())
    ecs_tasks = next(
        p
        for p in narrowed["Resources"]["EcsTaskRunnerRole"]["Properties"]["Policies"]
        if isinstance(p, dict) and p.get("PolicyName") == "ecs-tasks"
    )
    statement = next(
        s for s in ecs_tasks["PolicyDocument"]["Statement"] if s["Sid"] == "FindStartedTasksOnAllowedClusters"
    )
    statement["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:container-instance/*"
    }
    call = _call("EcsTaskRunnerRole", "ecs", "ListTasks", cluster=STACK, startedBy="cfnkit-0123")
    assert denials([call], role_policies(narrowed, deploy_parameters(STACK))) == [
        "EcsTaskRunnerRole denies ecs:ListTasks (ecs:ListTasks on * with "
        f"ecs:cluster=arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/todobackend); closest statement "
        "FindStartedTasksOnAllowedClusters (policy ecs-tasks): resource * matches none of "
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/*"
    ]


def test_a_cluster_outside_the_parameters_is_denied_by_its_condition(policies: dict[str, Any]) -> None:
    call = _call(
        "EcsTaskRunnerRole", "ecs", "StopTask", cluster="other", task=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/other/0123"
    )
    assert denials([call], policies) == [
        f"EcsTaskRunnerRole denies ecs:StopTask (ecs:StopTask on arn:aws:ecs:{REGION}:{ACCOUNT}:task/other/0123 "
        f"with ecs:cluster=arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/other); closest statement "
        "WatchAndStopTasksOnAllowedClusters (policy ecs-tasks): ArnLike ecs:cluster: "
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/other matches none of "
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/todobackend"
    ]


def test_a_role_outside_the_parameters_cannot_be_passed(policies: dict[str, Any]) -> None:
    call = _call(
        "EcsTaskRunnerRole",
        "ecs",
        "RunTask",
        cluster=STACK,
        taskDefinition="todobackend-migrate:1",
        overrides={"taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/admin"},
    )
    [problem] = denials([call], policies)
    assert problem.startswith(
        f"EcsTaskRunnerRole denies ecs:RunTask (iam:PassRole on arn:aws:iam::{ACCOUNT}:role/admin"
    )
    assert "closest statement PassTaskRolesToEcsTasksOnly" in problem


def test_an_unknown_call_fails(policies: dict[str, Any]) -> None:
    call = _call("EcsTaskRunnerRole", "ecs", "DescribeClusters", clusters=[STACK])
    assert denials([call], policies) == [
        "EcsTaskRunnerRole made ecs:DescribeClusters, which tests/iam/authz.py AUTHORIZATION does not map: "
        "add what IAM authorizes for it, with its source"
    ]


def test_every_mapping_cites_its_source() -> None:
    import inspect

    for key, mapping in AUTHORIZATION.items():
        text = inspect.getsource(mapping)
        assert any(word in text for word in ("Service Authorization Reference", "guide", "issue", "PR #")), key


def test_the_test_calls_are_not_recorded(example: Example) -> None:
    with recording(example.ecs) as recorder:
        example.ecs.list_clusters()
    assert recorder.calls == []
