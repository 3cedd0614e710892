"""Custom::EcsTask end to end: moto ECS and Logs in-process, the real HTTP sender, a local ResponseURL.

The ECS agent emulator (cfnkit_tools.ecs_agent) decides when and how moto's tasks stop;
a scripted fake clock runs its actions at chosen seconds of the wait, so no test sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from cfnkit import CustomResource
from cfnkit.testing import (
    STACK_ID,
    FakeClock,
    FakeContext,
    RecordingInvoker,
    ResponseServer,
    ScriptedClock,
    create_event,
    delete_event,
    update_event,
)
from cfnkit_tools.ecs_agent import EcsAgent
from ecs_runner import EcsTaskRunner, client_config

from tests.awsrules import EcsRules
from tests.functional.conftest import ANY_CLUSTER
from tests.support import REGION, load_app, moto_ecs

#: The enum as the installed botocore models it (CI also runs these tests on the older botocore
#: of the Lambda runtime, whose model lists fewer launch types).
LAUNCH_TYPES = ", ".join(botocore.session.get_session().get_service_model("ecs").shape_for("LaunchType").enum)

pytestmark = pytest.mark.functional

CLUSTER = "todobackend"
LOG_GROUP = "/todobackend/ecs"
LOGICAL_ID = "MigrateTask"
DEFAULT_ID = "demo-stack-MigrateTask-"


def awslogs(prefix: str = "migrate") -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {"awslogs-group": LOG_GROUP, "awslogs-region": REGION, "awslogs-stream-prefix": prefix},
    }


class Aws:
    """moto's ECS world for one test: a cluster, a subnet, task definitions and the agent.

    The runner's ECS clients get EcsRules: ListTasks and RunTask's clientToken behave as in AWS.
    """

    active: Aws | None = None

    def __init__(self) -> None:
        self.rules = EcsRules()
        self.ecs = boto3.client("ecs", region_name=REGION)
        self.logs = boto3.client("logs", region_name=REGION)
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        self.subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        self.ecs.create_cluster(clusterName=CLUSTER)
        self.logs.create_log_group(logGroupName=LOG_GROUP)
        self.agent = EcsAgent(REGION)
        # A sidecar first and the essential container second: reading containers[0] is wrong.
        self.register(
            "migrate",
            [
                {
                    "name": "sidecar",
                    "image": "busybox",
                    "memory": 128,
                    "essential": False,
                    "logConfiguration": awslogs(),
                },
                {
                    "name": "migrate",
                    "image": "todobackend",
                    "memory": 256,
                    "essential": True,
                    "command": ["python3", "manage.py", "migrate", "--no-input"],
                    "logConfiguration": awslogs(),
                },
            ],
        )

    def register(self, family: str, containers: list[dict[str, Any]], fargate: bool = True) -> str:
        extra: dict[str, Any] = (
            {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512"}
            if fargate
            else {}
        )
        reply = self.ecs.register_task_definition(
            family=family,
            containerDefinitions=containers,  # type: ignore[arg-type]
            **extra,
        )
        return str(reply["taskDefinition"]["taskDefinitionArn"])

    def properties(self, **extra: Any) -> dict[str, Any]:
        return {
            "Cluster": CLUSTER,
            "TaskDefinition": "migrate",
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {"Subnets": [self.subnet], "SecurityGroups": [], "AssignPublicIp": "DISABLED"}
            },
            **extra,
        }

    def tasks(self) -> list[str]:
        return self.agent.task_arns(CLUSTER)

    def client(self, service: str, region: str | None) -> Any:
        """The runner's client factory: what AWS would answer, rules moto skips included."""
        client = boto3.client(service, region_name=region or REGION, config=client_config())  # type: ignore[call-overload]
        return self.rules.install(client) if service == "ecs" else client

    def stop_all(self, **kwargs: Any) -> Callable[[], None]:
        def action() -> None:
            for arn in self.tasks():
                self.agent.stop(arn, **kwargs)

        return action


@pytest.fixture
def aws(aws_env: None) -> Iterator[Aws]:
    with moto_ecs():
        try:
            Aws.active = Aws()
            yield Aws.active
        finally:
            Aws.active = None


def run(
    event: dict[str, Any], clock: FakeClock, *, invoker: RecordingInvoker | None = None, lambda_timeout: float = 900.0
) -> RecordingInvoker:
    invoker = invoker or RecordingInvoker()
    factory = Aws.active.client if Aws.active is not None else None
    handler = CustomResource(EcsTaskRunner(clock=clock, client_factory=factory), clock=clock, invoker=invoker)
    handler(event, FakeContext(lambda_timeout, clock=clock))
    return invoker


def answer(server: ResponseServer, count: int = 1) -> dict[str, Any]:
    puts = server.wait_for(count, timeout=5)
    assert len(puts) == count
    return puts[-1].json()


def test_successful_task_answers_success_with_its_attributes(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(3, aws.stop_all(exit_codes={"sidecar": 0, "migrate": 0}))
    event = create_event(aws.properties(), response_url=server.url, logical_id=LOGICAL_ID)
    run(event, clock)
    body = answer(server)
    [arn] = aws.tasks()
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"].startswith(DEFAULT_ID)
    assert body["Data"] == {
        "TaskArn": arn,
        "TaskArns": arn,
        "ExitCode": "0",
        "StoppedReason": "Essential container in task exited",
        "LogStreamName": f"migrate/migrate/{arn.rsplit('/', 1)[-1]}",
    }
    # Slow start: the first poll within 1-3 s, then about every 2 s easing towards 1 s (jittered).
    assert 1.0 <= clock.sleeps[0] <= 3.0
    assert all(pause <= 2.4 for pause in clock.sleeps[1:])
    assert 3.0 <= sum(clock.sleeps) <= 5.4


def test_essential_container_failure_reports_exit_code_and_log_tail(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    lines = [
        "Operations to perform:",
        "Applying todo.0001_initial...",
        'django.db.utils.OperationalError: (2003, "Can\'t connect to MySQL server")',
    ]
    clock.at(2, aws.stop_all(exit_codes={"migrate": 1}, logs={"migrate": lines}))
    run(create_event(aws.properties(LogTailLines="2"), response_url=server.url, logical_id=LOGICAL_ID), clock)
    body = answer(server)
    [arn] = aws.tasks()
    stream = f"migrate/migrate/{arn.rsplit('/', 1)[-1]}"
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == f"cfnkit-failed-create-{event_id(body)}"
    assert body["Reason"] == (
        f"Task {arn}: essential container migrate exited with code 1 (SuccessExitCodes: 0). "
        f"Last 2 log lines ({LOG_GROUP} {stream}): Applying todo.0001_initial... | "
        'django.db.utils.OperationalError: (2003, "Can\'t connect to MySQL server")'
    )


def event_id(body: dict[str, Any]) -> str:
    return str(body["RequestId"])


def test_non_essential_container_failure_does_not_fail_the_task(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(1, aws.stop_all(exit_codes={"sidecar": 137, "migrate": 0}))
    run(create_event(aws.properties(), response_url=server.url, logical_id=LOGICAL_ID), clock)
    body = answer(server)
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["ExitCode"] == "0"


def test_success_exit_codes_accept_a_chosen_nonzero_code(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(1, aws.stop_all(exit_codes={"migrate": 3}))
    run(create_event(aws.properties(SuccessExitCodes=["0", "3"]), response_url=server.url), clock)
    body = answer(server)
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["ExitCode"] == "3"


def test_container_without_exit_code_reports_stop_code_and_reasons(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    pull = "CannotPullContainerError: pull image manifest has been retried 1 time(s): not found"
    clock.at(
        1,
        aws.stop_all(
            exit_codes={"sidecar": None, "migrate": None},
            stop_code="TaskFailedToStart",
            stopped_reason="Task failed to start",
            reasons={"migrate": pull},
        ),
    )
    run(create_event(aws.properties(LogTailLines="0"), response_url=server.url, logical_id=LOGICAL_ID), clock)
    body = answer(server)
    [arn] = aws.tasks()
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f"Task {arn}: essential container migrate has no exit code; stopCode TaskFailedToStart; "
        f"stoppedReason: Task failed to start; container reason: {pull}"
    )


def test_every_task_of_count_must_succeed(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()

    def stop_second_failing() -> None:
        first, second = aws.tasks()
        aws.agent.stop(first)
        aws.agent.stop(second, exit_codes={"migrate": 2})

    clock.at(2, stop_second_failing)
    run(create_event(aws.properties(Count="2", LogTailLines="0"), response_url=server.url), clock)
    body = answer(server)
    arns = aws.tasks()
    assert len(arns) == 2
    second = arns[1]
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f"Task {second} (2 of 2): essential container migrate exited with code 2 (SuccessExitCodes: 0)"
    )


def test_count_gives_every_task_arn(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(1, aws.stop_all())
    run(create_event(aws.properties(Count=3), response_url=server.url), clock)
    body = answer(server)
    arns = aws.tasks()
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["TaskArn"] == arns[0]
    assert body["Data"]["TaskArns"] == ",".join(arns)


def test_duplicate_delivery_never_starts_a_second_task(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(1, aws.stop_all())
    event = create_event(aws.properties(), response_url=server.url, logical_id=LOGICAL_ID)
    run(event, clock)
    run(dict(event), clock)  # CloudFormation or Lambda delivered the same event again
    first, second = server.wait_for(2, timeout=5)
    [arn] = aws.tasks()
    assert first.json()["Status"] == second.json()["Status"] == "SUCCESS"
    assert first.json()["Data"]["TaskArn"] == second.json()["Data"]["TaskArn"] == arn


def test_redelivery_after_the_task_stopped_is_answered_by_the_client_token(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(1, aws.stop_all())
    event = create_event(aws.properties(), response_url=server.url, logical_id=LOGICAL_ID)
    run(event, clock)
    run(dict(event), clock)  # ListTasks lists RUNNING tasks only: the stopped one is not found
    first, second = server.wait_for(2, timeout=5)
    [arn] = aws.tasks()
    assert (aws.rules.run_task_calls, aws.rules.idempotent_replies) == (1, 1)
    assert first.json() == second.json()
    assert second.json()["Data"]["TaskArn"] == arn


def test_redelivery_while_the_task_runs_is_found_by_list_tasks(aws: Aws, server: ResponseServer) -> None:
    event = create_event(aws.properties(), response_url=server.url, logical_id=LOGICAL_ID)
    first_clock = ScriptedClock()

    def redeliver() -> None:
        second_clock = ScriptedClock()
        second_clock.at(2, aws.stop_all())
        run(dict(event), second_clock)

    first_clock.at(1, redeliver)
    run(event, first_clock)
    puts = server.wait_for(2, timeout=5)
    [arn] = aws.tasks()
    # Found by ListTasks (startedBy as its only filter): the second delivery makes no RunTask call.
    assert (aws.rules.run_task_calls, aws.rules.idempotent_replies, aws.rules.conflicts) == (1, 0, 0)
    assert [p.json()["Data"]["TaskArn"] for p in puts] == [arn, arn]


def test_redelivery_after_one_of_two_tasks_stopped_adopts_both(aws: Aws, server: ResponseServer) -> None:
    event = create_event(aws.properties(Count="2"), response_url=server.url, logical_id=LOGICAL_ID)
    first_clock = ScriptedClock()

    def redeliver() -> None:  # one task has stopped, the other still runs
        aws.agent.stop(aws.tasks()[0], exit_codes={"migrate": 0})
        second_clock = ScriptedClock()
        second_clock.at(2, aws.stop_all())
        run(dict(event), second_clock)

    first_clock.at(1, redeliver)
    run(event, first_clock)
    puts = server.wait_for(2, timeout=5)
    tasks = aws.tasks()
    assert len(tasks) == 2
    # ListTasks found one; asking the first token for one task conflicted and named both.
    assert (aws.rules.run_task_calls, aws.rules.conflicts) == (1, 1)
    assert [sorted(p.json()["Data"]["TaskArns"].split(",")) for p in puts] == [sorted(tasks)] * 2
    assert [p.json()["Status"] for p in puts] == ["SUCCESS", "SUCCESS"]


def test_duplicate_delivery_while_the_task_runs_adopts_it(aws: Aws, server: ResponseServer) -> None:
    event = create_event(aws.properties(Timeout="5"), response_url=server.url, logical_id=LOGICAL_ID)
    first_clock = ScriptedClock()

    def redeliver() -> None:  # the second delivery arrives while the first one is waiting
        second_clock = ScriptedClock()
        second_clock.at(2, aws.stop_all())
        run(dict(event), second_clock)

    first_clock.at(1, redeliver)
    run(event, first_clock)
    puts = server.wait_for(2, timeout=5)
    [arn] = aws.tasks()
    assert [p.json()["Data"]["TaskArn"] for p in puts] == [arn, arn]


def test_long_task_continues_in_a_new_invocation(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(120, aws.stop_all())
    event = create_event(aws.properties(), response_url=server.url, logical_id=LOGICAL_ID)
    invoker = run(event, clock, lambda_timeout=60)
    assert server.puts == []
    [(_function_arn, continued)] = invoker.calls
    assert continued["CfnkitContinuation"]["hop"] == 1
    assert continued["CfnkitContinuation"]["state"]["phase"] == "running"
    second = run(continued, clock, lambda_timeout=900)
    body = answer(server)
    assert second.calls == []
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["TaskArn"] == aws.tasks()[0]
    assert len(aws.tasks()) == 1


def test_timeout_stops_the_task_and_says_so(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    run(create_event(aws.properties(Timeout="30"), response_url=server.url, logical_id=LOGICAL_ID), clock)
    body = answer(server)
    [arn] = aws.tasks()
    task = aws.ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "timed out after 30 s; task stopped"
    assert task["lastStatus"] == "STOPPED"
    assert task["stoppedReason"] == (
        "cfnkit: stack demo-stack resource MigrateTask stopped the task (Create did not finish in time or failed)"
    )


def test_timeout_without_stop_on_timeout_leaves_the_task_running(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    run(create_event(aws.properties(Timeout="10", StopOnTimeout="false"), response_url=server.url), clock)
    body = answer(server)
    [arn] = aws.tasks()
    assert body["Reason"] == f"timed out after 10 s; task left running (StopOnTimeout is false): {arn}"
    assert aws.ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING"


def test_update_runs_again_and_keeps_the_physical_id(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(1, aws.stop_all())
    props = aws.properties()
    event = update_event(
        props, props, "demo-stack-MigrateTask-0123456789ab", response_url=server.url, logical_id=LOGICAL_ID
    )
    run(event, clock)
    body = answer(server)
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == "demo-stack-MigrateTask-0123456789ab"
    assert len(aws.tasks()) == 1


def test_update_not_in_run_on_runs_nothing(aws: Aws, server: ResponseServer) -> None:
    props = aws.properties(RunOn=["Create"])
    run(update_event(props, props, "pid-1", response_url=server.url), ScriptedClock())
    body = answer(server)
    assert body["Status"] == "SUCCESS"
    assert body["Data"] == {"TaskArn": "", "TaskArns": "", "ExitCode": "", "StoppedReason": "", "LogStreamName": ""}
    assert aws.tasks() == []


def test_delete_in_run_on_runs_the_task(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(1, aws.stop_all(exit_codes={"migrate": 4}))
    run(delete_event(aws.properties(RunOn=["Delete"], LogTailLines="0"), "pid-1", response_url=server.url), clock)
    body = answer(server)
    [arn] = aws.tasks()
    assert body == {
        "Status": "FAILED",
        "Reason": f"Task {arn}: essential container migrate exited with code 4 (SuccessExitCodes: 0)",
        "PhysicalResourceId": "pid-1",
        "StackId": STACK_ID,
        "RequestId": body["RequestId"],
        "LogicalResourceId": "Resource",
        "NoEcho": False,
    }


@ANY_CLUSTER
def test_delete_after_failed_create_touches_nothing(aws: Aws, server: ResponseServer) -> None:
    run(create_event(aws.properties(Cluster="gone"), response_url=server.url), ScriptedClock())
    failed = answer(server)
    props = aws.properties(Cluster="gone", RunOn=["Create", "Delete"])
    run(delete_event(props, failed["PhysicalResourceId"], response_url=server.url), ScriptedClock())
    body = answer(server, 2)
    assert failed["Status"] == "FAILED"
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == failed["PhysicalResourceId"]
    assert aws.tasks() == []


def failed(server: ResponseServer, event: dict[str, Any]) -> str:
    run(event, ScriptedClock())
    body = answer(server)
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == f"cfnkit-failed-create-{event['RequestId']}"
    return str(body["Reason"])


@ANY_CLUSTER
def test_unknown_cluster_says_what_to_fix(aws: Aws, server: ResponseServer) -> None:
    reason = failed(server, create_event(aws.properties(Cluster="nope"), response_url=server.url))
    assert reason == (
        "Cluster nope was not found in us-east-1; set Cluster to the name or ARN of an existing ECS cluster"
    )


def test_unknown_task_definition_says_what_to_fix(aws: Aws, server: ResponseServer) -> None:
    reason = failed(server, create_event(aws.properties(TaskDefinition="migrat:7"), response_url=server.url))
    assert reason == (
        "TaskDefinition migrat:7 was not found in us-east-1 (ClientException: Unable to describe task definition.); "
        "set TaskDefinition to an existing family, family:revision or task definition ARN"
    )


def test_fargate_without_network_configuration_fails_before_run_task(aws: Aws, server: ResponseServer) -> None:
    props = aws.properties()
    del props["NetworkConfiguration"]
    reason = failed(server, create_event(props, response_url=server.url))
    assert reason == (
        "NetworkConfiguration is required: task definition migrate runs on Fargate. "
        "Add NetworkConfiguration: {AwsvpcConfiguration: {Subnets: [...], SecurityGroups: [...]}}"
    )
    assert aws.tasks() == []


def test_missing_and_mistyped_properties_are_listed(aws: Aws, server: ResponseServer) -> None:
    reason = failed(
        server,
        create_event(
            {"Cluster": CLUSTER, "Count": "11", "LaunchTyp": "FARGATE", "RunOn": ["Craete"]}, response_url=server.url
        ),
    )
    assert reason == (
        "Invalid properties: LaunchTyp: unknown property (did you mean LaunchType?); "
        "TaskDefinition: required; expected a task definition family, family:revision or ARN; "
        "Count: expected an integer from 1 to 10, got a number out of range; "
        "RunOn[0]: expected one of Create, Update, Delete (did you mean Create?)"
    )


def test_nested_run_task_properties_are_checked_with_their_path(aws: Aws, server: ResponseServer) -> None:
    props = aws.properties(
        LaunchType="FARGATES", Overrides={"ContainerOverrides": [{"Name": "migrate", "Memory": "lots"}]}
    )
    reason = failed(server, create_event(props, response_url=server.url))
    assert reason == (
        "Invalid properties: Overrides.ContainerOverrides[0].Memory: expected an integer, got a string; "
        f"LaunchType: expected one of {LAUNCH_TYPES} (did you mean FARGATE?)"
    )


def test_logs_unreadable_are_named_in_one_clause(aws: Aws, server: ResponseServer) -> None:
    aws.register("nologs", [{"name": "migrate", "image": "todobackend", "memory": 256}])
    clock = ScriptedClock()
    clock.at(1, aws.stop_all(exit_codes={"migrate": 1}))
    run(create_event(aws.properties(TaskDefinition="nologs"), response_url=server.url), clock)
    [arn] = aws.tasks()
    assert answer(server)["Reason"] == (
        f"Task {arn}: essential container migrate exited with code 1 (SuccessExitCodes: 0). "
        "Logs: unavailable (the container has no awslogs log driver with awslogs-group and awslogs-stream-prefix)"
    )


def test_missing_log_stream_still_reports_the_exit_code(aws: Aws, server: ResponseServer) -> None:
    clock = ScriptedClock()
    clock.at(1, aws.stop_all(exit_codes={"migrate": 1}))
    run(create_event(aws.properties(), response_url=server.url), clock)
    [arn] = aws.tasks()
    assert answer(server)["Reason"] == (
        f"Task {arn}: essential container migrate exited with code 1 (SuccessExitCodes: 0). "
        f"Logs: could not read {LOG_GROUP} migrate/migrate/{arn.rsplit('/', 1)[-1]} (ResourceNotFoundException)"
    )


def test_lambda_handler_wires_the_runner(aws: Aws, server: ResponseServer) -> None:
    app = load_app("ecs_task_runner", "ecs_task_runner_app_under_test")
    event = delete_event(aws.properties(Cluster="already-deleted"), "pid-1", response_url=server.url)
    app.handler(event, FakeContext(30))
    body = answer(server)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "pid-1")
