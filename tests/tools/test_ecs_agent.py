"""cfnkit_tools.ecs_agent: moto tasks stop when and how the emulated ECS agent says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cfnkit_tools.ecs_agent import EcsAgent
from moto import mock_aws

LOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/demo", "awslogs-stream-prefix": "app"}}


@pytest.fixture
def ecs(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client: Any = boto3.client("ecs", region_name="us-east-1")
        client.create_cluster(clusterName="demo")
        client.register_task_definition(
            family="app",
            containerDefinitions=[
                {"name": "proxy", "image": "nginx", "memory": 64, "essential": False},
                {"name": "app", "image": "app", "memory": 128, "logConfiguration": LOGS},
            ],
        )
        yield client
        EcsAgent.release()


def start(ecs: Any, agent: EcsAgent) -> str:
    ecs.run_task(cluster="demo", taskDefinition="app", launchType="FARGATE")
    [arn] = agent.task_arns("demo")
    return arn


def test_held_task_stays_running_until_stopped(ecs: Any) -> None:
    agent = EcsAgent()
    agent.hold()
    arn = start(ecs, agent)
    for _ in range(6):
        assert ecs.describe_tasks(cluster="demo", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING"
    agent.stop(
        arn,
        {"app": 3, "proxy": None},
        stop_code="EssentialContainerExited",
        reasons={"proxy": "CannotPullContainerError: no such image"},
    )
    task = ecs.describe_tasks(cluster="demo", tasks=[arn])["tasks"][0]
    assert (task["lastStatus"], task["stopCode"]) == ("STOPPED", "EssentialContainerExited")
    containers = {c["name"]: c for c in task["containers"]}
    assert containers["app"]["exitCode"] == 3
    assert "exitCode" not in containers["proxy"]
    assert containers["proxy"]["reason"] == "CannotPullContainerError: no such image"


def test_stop_writes_the_container_log_stream(ecs: Any) -> None:
    agent = EcsAgent()
    agent.hold()
    arn = start(ecs, agent)
    agent.stop(arn, logs={"app": ["first", "last"]})
    events = boto3.client("logs", region_name="us-east-1").get_log_events(
        logGroupName="/demo", logStreamName=f"app/app/{arn.rsplit('/', 1)[-1]}"
    )["events"]
    assert [e["message"] for e in events] == ["first", "last"]


def test_released_tasks_progress_as_moto_decides(ecs: Any) -> None:
    agent = EcsAgent()
    agent.hold()
    arn = start(ecs, agent)
    agent.release()
    statuses = [ecs.describe_tasks(cluster="demo", tasks=[arn])["tasks"][0]["lastStatus"] for _ in range(5)]
    assert statuses[-1] == "STOPPED"
