"""Faults around the ECS task runner: throttling, capacity, duplicate delivery, a crash mid-wait.

moto plays ECS in-process, the ECS agent emulator stops tasks, the real HTTP sender
answers a local ResponseServer. A container override carries the canary: the runner
passes it to RunTask and must never print it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from cfnkit import CustomResource
from cfnkit.sender import HttpSender
from cfnkit.testing import FakeContext, ResponseServer, ScriptedClock, create_event
from cfnkit_tools.ecs_agent import EcsAgent
from ecs_runner import EcsTaskRunner, client_config

from tests.awsrules import EcsRules
from tests.reliability.faults import CANARY, BlockingClock, DeadSender, assert_no_canary
from tests.support import REGION, moto_ecs

pytestmark = pytest.mark.functional

CLUSTER = "faults"


class _Raw:
    """The raw body botocore reads from an injected HTTP response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Ecs:
    """moto ECS with one EC2 container instance, a task definition, and the agent holding tasks."""

    def __init__(self) -> None:
        self.client = boto3.client("ecs", region_name=REGION, config=client_config())
        ec2 = boto3.client("ec2", region_name=REGION)
        self.client.create_cluster(clusterName=CLUSTER)
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
        identity = json.dumps(
            {
                "instanceId": instance["InstanceId"],
                "region": REGION,
                "availabilityZone": f"{REGION}a",
                "instanceType": "t3.large",
            }
        )
        self.client.register_container_instance(cluster=CLUSTER, instanceIdentityDocument=identity)
        self.client.register_task_definition(
            family="migrate",
            containerDefinitions=[{"name": "migrate", "image": "todobackend", "memory": 64, "essential": True}],
        )
        self.agent = EcsAgent(REGION)
        self.run_task_attempts = 0
        self._injected: list[tuple[int, dict[str, Any]]] = []
        self.client.meta.events.register_first("before-send.ecs.RunTask", self._before_send)  # type: ignore[arg-type]
        # ListTasks and RunTask's clientToken as AWS documents them (moto skips both rules).
        self.rules = EcsRules()
        self.rules.install(self.client)

    def inject_run_task(self, *replies: tuple[int, dict[str, Any]]) -> None:
        """The next RunTask HTTP attempts get these (status, body) replies; later ones reach moto."""
        self._injected.extend(replies)

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        self.run_task_attempts += 1
        if not self._injected:
            return None
        status, body = self._injected.pop(0)
        # Every before-send handler runs; this one runs first (most specific). A URL moto does not
        # serve keeps moto from also executing the call, so only the injected reply exists.
        request.url = "https://injected.invalid/"
        headers = HTTPHeaders()
        headers["x-amzn-RequestId"] = "injected"
        headers["Content-Type"] = "application/x-amz-json-1.1"
        return AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))

    def tasks(self) -> list[str]:
        return self.agent.task_arns(CLUSTER)

    def stop_all(self) -> None:
        for arn in self.tasks():
            self.agent.stop(arn)

    def handler(self, clock: Any, sender: Any = None) -> CustomResource:
        provider = EcsTaskRunner(ecs_client=self.client, clock=clock)
        # Without a sender the core's HttpSender follows the same (fake) clock for its deadline.
        return CustomResource(provider, clock=clock, sender=sender)


@pytest.fixture
def ecs(aws_env: None) -> Iterator[Ecs]:
    with moto_ecs():
        yield Ecs()


def migrate_event(url: str) -> dict[str, Any]:
    overrides = {"ContainerOverrides": [{"Name": "migrate", "Environment": [{"Name": "DB_PASSWORD", "Value": CANARY}]}]}
    return create_event(
        {"Cluster": CLUSTER, "TaskDefinition": "migrate", "Overrides": overrides},
        response_url=url,
        logical_id="MigrateTask",
        resource_type="Custom::EcsTask",
    )


def test_throttled_run_task_is_retried_by_botocore(
    ecs: Ecs, server: ResponseServer, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("ECS: RunTask throttled (ThrottlingException), then accepted", "1 task, 1 response SUCCESS")
    ecs.inject_run_task((400, {"__type": "ThrottlingException", "message": "Rate exceeded"}))
    clock = ScriptedClock()
    clock.at(2, ecs.stop_all)

    ecs.handler(clock)(migrate_event(server.url), FakeContext(900, clock=clock))

    puts = server.wait_for(1)
    matrix(
        observed=f"{len(ecs.tasks())} task, {ecs.run_task_attempts} RunTask attempts, "
        f"{len(puts)} response {puts[0].json()['Status']}"
    )
    assert (ecs.run_task_attempts, len(ecs.tasks()), len(puts)) == (2, 1, 1)
    assert puts[0].json()["Status"] == "SUCCESS"
    assert puts[0].json()["Data"]["TaskArn"] == ecs.tasks()[0]
    assert_no_canary(capfd, puts[0].json())


def test_capacity_failure_is_retried_until_the_task_is_placed(
    ecs: Ecs, server: ResponseServer, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("ECS: RunTask failures [RESOURCE:MEMORY], then placed", "backoff, 1 task, 1 response SUCCESS")
    failure = {
        "arn": f"arn:aws:ecs:{REGION}:123456789012:container-instance/{CLUSTER}/abc",
        "reason": "RESOURCE:MEMORY",
    }
    ecs.inject_run_task((200, {"tasks": [], "failures": [failure]}))
    clock = ScriptedClock()
    clock.at(5, ecs.stop_all)

    ecs.handler(clock)(migrate_event(server.url), FakeContext(900, clock=clock))

    puts = server.wait_for(1)
    output = assert_no_canary(capfd, puts[0].json())
    matrix(
        observed=f"{ecs.run_task_attempts} RunTask calls, {len(ecs.tasks())} task, "
        f"{len(puts)} response {puts[0].json()['Status']}"
    )
    assert (ecs.run_task_attempts, len(ecs.tasks()), len(puts)) == (2, 1, 1)
    assert puts[0].json()["Status"] == "SUCCESS"
    assert "no capacity to place the task yet; retrying" in output


def test_duplicate_delivery_starts_one_task_and_answers_each_delivery_once(
    ecs: Ecs, server: ResponseServer, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("Duplicate delivery of one event while its task runs", "1 task; 2 deliveries, 1 SUCCESS each")
    event = migrate_event(server.url)
    second = ScriptedClock()
    second.at(2, ecs.stop_all)
    first = ScriptedClock()
    # Two seconds into the first delivery's wait, Lambda delivers the same event again.
    first.at(2, lambda: ecs.handler(second)(dict(event), FakeContext(900, clock=second)))

    ecs.handler(first)(dict(event), FakeContext(900, clock=first))

    puts = server.wait_for(2)
    bodies = [p.json() for p in puts]
    matrix(
        observed=f"{len(ecs.tasks())} task, {ecs.run_task_attempts} RunTask call, "
        f"{len(bodies)} responses {sorted(b['Status'] for b in bodies)}"
    )
    assert (len(ecs.tasks()), ecs.run_task_attempts, len(bodies)) == (1, 1, 2)
    assert [b["Status"] for b in bodies] == ["SUCCESS", "SUCCESS"]
    assert bodies[0]["PhysicalResourceId"] == bodies[1]["PhysicalResourceId"]
    assert {b["Data"]["TaskArn"] for b in bodies} == set(ecs.tasks())
    assert_no_canary(capfd, bodies)


def test_lambda_retry_after_a_crash_mid_wait_adopts_the_running_task(
    ecs: Ecs, server: ResponseServer, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("Crash mid-wait after RunTask, then Lambda's retry", "1 task; 1 response SUCCESS (from the retry)")
    event = migrate_event(server.url)
    stuck = BlockingClock()
    dead = DeadSender(HttpSender(clock=stuck))
    crashed = threading.Thread(
        target=ecs.handler(stuck, dead), args=(dict(event), FakeContext(900, clock=stuck)), daemon=True
    )
    crashed.start()
    assert stuck.sleeping.wait(10), "the first invocation never reached its wait"
    assert len(ecs.tasks()) == 1
    dead.killed = True  # the process is gone: whatever it would still do never leaves it
    retry = ScriptedClock()
    retry.at(2, ecs.stop_all)

    ecs.handler(retry)(dict(event), FakeContext(900, clock=retry))

    stuck.release.set()
    crashed.join(10)
    puts = server.wait_for(1)
    matrix(
        observed=f"{len(ecs.tasks())} task, {ecs.run_task_attempts} RunTask call, "
        f"{len(puts)} response {puts[0].json()['Status']}"
    )
    assert not crashed.is_alive()
    assert (len(ecs.tasks()), ecs.run_task_attempts, len(server.puts)) == (1, 1, 1)
    assert puts[0].json()["Status"] == "SUCCESS"
    assert dead.dropped == 1
    assert_no_canary(capfd, puts[0].json())
