"""EcsTaskRunner under ECS throttling (botocore Stubber): every call site backs off and carries on.

ECS throttles per account and Region with token buckets shared by every caller
("Request throttling for the Amazon ECS API", ECS API Reference: DescribeTasks and
ListTasks share the cluster resource read bucket, RunTask and StopTask the modify one).
A throttle must never fail a request that still has time; only the deadline does, and
then its Reason says what was throttled and for how long.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from cfnkit import CustomResource
from cfnkit.schedule import PollSchedule
from cfnkit.testing import FakeClock, FakeContext, RecordingInvoker, RecordingSender, create_event
from ecs_runner import IN_PLACE_RETRY_S, EcsTaskRunner

CLUSTER = "todobackend"
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/migrate:3"
TASK = "arn:aws:ecs:us-east-1:123456789012:task/todobackend/0f7a1c2b3d4e5f60718293a4b5c6d7e8"
GROUP = "/todobackend/ecs"
STREAM = "migrate/migrate/0f7a1c2b3d4e5f60718293a4b5c6d7e8"
PROPS = {"Cluster": CLUSTER, "TaskDefinition": "migrate", "LaunchType": "EC2"}
STEADY = PollSchedule(jitter=0.0, start_pace=1.0)


class Ceiling(random.Random):
    """Jitter that always picks the top of its range: backoffs become exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


def definition() -> dict[str, Any]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": TD_ARN,
            "family": "migrate",
            "networkMode": "bridge",
            "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [
                {
                    "name": "migrate",
                    "image": "todobackend",
                    "essential": True,
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": GROUP,
                            "awslogs-region": "us-east-1",
                            "awslogs-stream-prefix": "migrate",
                        },
                    },
                }
            ],
        }
    }


def stopped(code: int = 0) -> dict[str, Any]:
    return {
        "taskArn": TASK,
        "lastStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "containers": [{"name": "migrate", "lastStatus": "STOPPED", "exitCode": code}],
    }


def running() -> dict[str, Any]:
    return {"taskArn": TASK, "lastStatus": "RUNNING", "containers": []}


def throttle(stub: Stubber, operation: str, times: int = 1) -> None:
    for _ in range(times):
        stub.add_client_error(
            operation, service_error_code="ThrottlingException", service_message="Rate exceeded", http_status_code=400
        )


def expect_definition(stub: Stubber) -> None:
    stub.add_response("describe_task_definition", definition(), {"taskDefinition": "migrate"})


def expect_list(stub: Stubber) -> None:
    stub.add_response("list_tasks", {"taskArns": []}, {"cluster": CLUSTER, "startedBy": ANY})


def expect_lookup(stub: Stubber) -> None:
    expect_definition(stub)
    expect_list(stub)


def expect_run(stub: Stubber) -> None:
    stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
        {
            "cluster": CLUSTER,
            "taskDefinition": "migrate",
            "launchType": "EC2",
            "count": 1,
            "startedBy": ANY,
            "clientToken": ANY,
        },
    )


def expect_describe(stub: Stubber, task: dict[str, Any]) -> None:
    stub.add_response("describe_tasks", {"tasks": [task], "failures": []}, {"cluster": CLUSTER, "tasks": [TASK]})


def handle(
    runner: EcsTaskRunner,
    event: dict[str, Any],
    clock: FakeClock,
    invoker: RecordingInvoker | None = None,
    lambda_timeout: float = 900,
) -> RecordingSender:
    sender = RecordingSender()
    CustomResource(runner, sender=sender, clock=clock, invoker=invoker or RecordingInvoker())(
        event, FakeContext(lambda_timeout, clock=clock)
    )
    return sender


# -- botocore -------------------------------------------------------------------------------


def test_ecs_client_uses_standard_mode_with_one_attempt() -> None:
    runner = EcsTaskRunner(region="us-east-1")
    assert runner.ecs.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_throttled_http_response_reaches_the_runner_after_one_attempt() -> None:
    """A 400 ThrottlingException at the HTTP layer: botocore gives it back at once, the runner retries it."""
    runner = EcsTaskRunner(region="us-east-1")
    sent: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.url)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        return AWSResponse(request.url, 400, headers, _Raw(body))

    runner.ecs.meta.events.register("before-send.ecs.ListTasks", answer)
    with pytest.raises(ClientError) as caught:
        runner.ecs.list_tasks(cluster=CLUSTER)
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(sent) == 1


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


# -- every call site ------------------------------------------------------------------------


def test_throttled_describe_tasks_skips_a_poll_and_slows_the_pace(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    throttle(ecs_stub, "describe_tasks", 2)
    expect_describe(ecs_stub, running())
    expect_describe(ecs_stub, stopped())
    clock = FakeClock()
    body = handle(
        EcsTaskRunner(ecs, clock=clock, schedule=STEADY), create_event({**PROPS, "LogTailLines": 0}), clock
    ).only
    assert body["Status"] == "SUCCESS", body["Reason"]
    # 1 s; each throttle sets the pace to the ceiling (5), however slow it already was; one clean
    # poll takes a tenth off it.
    assert clock.sleeps == pytest.approx([1.0, 5.0, 5.0, 4.5])


def test_throttled_list_tasks_is_retried_in_place(ecs: Any, ecs_stub: Stubber) -> None:
    expect_definition(ecs_stub)
    throttle(ecs_stub, "list_tasks")
    expect_list(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped())
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY, rng=Ceiling())
    body = handle(runner, create_event({**PROPS, "LogTailLines": 0}), clock).only
    assert body["Status"] == "SUCCESS", body["Reason"]
    # The in-place backoff (full jitter up to 2 s); the bucket was short, so the wait starts at pace 5.
    assert clock.sleeps == [2.0, 5.0]


def test_throttled_describe_task_definition_is_retried_in_place(ecs: Any, ecs_stub: Stubber) -> None:
    throttle(ecs_stub, "describe_task_definition", 2)
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped())
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY, rng=Ceiling())
    body = handle(runner, create_event({**PROPS, "LogTailLines": 0}), clock).only
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert clock.sleeps == [2.0, 4.0, 5.0]


def test_run_task_throttled_past_its_in_place_budget_is_retried_with_the_same_client_token(ecs: Any) -> None:
    tokens: list[str] = []
    with Stubber(ecs) as stub:
        expect_lookup(stub)
        # In place: attempts at 0, 2 and 6 s; the next pause (8 s) would pass the 8 s budget.
        throttle(stub, "run_task", 3)
        expect_run(stub)
        expect_describe(stub, stopped())
        ecs.meta.events.register(
            "provide-client-params.ecs.RunTask", lambda params, **_: tokens.append(params["clientToken"])
        )
        clock = FakeClock()
        runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY, rng=Ceiling())
        body = handle(runner, create_event({**PROPS, "LogTailLines": 0}), clock).only
        stub.assert_no_pending_responses()
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert len(tokens) == 4
    assert len(set(tokens)) == 1  # RunTask stays idempotent: every retry carries the same clientToken
    # 2 in-place pauses; the wait's backoff (full jitter to 2**3 s); the first poll at pace 5.
    assert clock.sleeps == [2.0, 4.0, 8.0, 5.0]
    assert sum(clock.sleeps[:2]) < IN_PLACE_RETRY_S


def test_throttled_stop_task_at_the_deadline_is_retried(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    for _ in range(3):  # polls at 4, 8 and 10 s (Timeout 10 s: pause min(interval, time left))
        expect_describe(ecs_stub, running())
    throttle(ecs_stub, "stop_task")
    ecs_stub.add_response("stop_task", {}, {"cluster": CLUSTER, "task": TASK, "reason": ANY})
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=PollSchedule(jitter=0.0, fast=4.0, start_pace=1.0), rng=Ceiling())
    body = handle(runner, create_event({**PROPS, "Timeout": "10"}), clock).only
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "timed out after 10 s; task stopped"


def test_stop_task_throttled_past_its_budget_says_so(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    for _ in range(2):  # polls at 4 and 8 s
        expect_describe(ecs_stub, running())
    throttle(ecs_stub, "stop_task", 2)  # at 0 and 2 s; the next pause (4 s) would pass the 3 s budget
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=PollSchedule(jitter=0.0, fast=4.0, start_pace=1.0), rng=Ceiling())
    body = handle(runner, create_event({**PROPS, "Timeout": "8"}), clock).only
    assert body["Reason"] == f"timed out after 8 s; could not stop {TASK} (ThrottlingException for 2 s)"


def test_throttled_log_tail_is_retried_then_read(ecs: Any, ecs_stub: Stubber, logs: Any, logs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped(code=2))
    throttle(logs_stub, "get_log_events")
    logs_stub.add_response(
        "get_log_events",
        {"events": [{"timestamp": 1, "message": "boom"}]},
        {"logGroupName": GROUP, "logStreamName": STREAM, "startFromHead": False, "limit": 20},
    )
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, logs, clock=clock, schedule=STEADY, rng=Ceiling())
    body = handle(runner, create_event(PROPS), clock).only
    assert body["Reason"] == (
        f"Task {TASK}: essential container migrate exited with code 2 (SuccessExitCodes: 0). "
        f"Last 1 log lines ({GROUP} {STREAM}): boom"
    )


def test_log_tail_throttled_past_its_budget_keeps_the_failure_reason(
    ecs: Any, ecs_stub: Stubber, logs: Any, logs_stub: Stubber
) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped(code=2))
    throttle(logs_stub, "get_log_events", 2)
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, logs, clock=clock, schedule=STEADY, rng=Ceiling())
    body = handle(runner, create_event(PROPS), clock).only
    assert body["Reason"] == (
        f"Task {TASK}: essential container migrate exited with code 2 (SuccessExitCodes: 0). "
        f"Logs: could not read {GROUP} {STREAM} (ThrottlingException for 2 s)"
    )


# -- the deadline -----------------------------------------------------------------------------


def test_throttle_that_outlasts_the_deadline_fails_in_time_naming_it(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    # Polls at 1, 6, 11, ..., 56 (pace 5 from the first throttle) and (the deadline) 60 s.
    throttle(ecs_stub, "describe_tasks", 13)
    ecs_stub.add_response("stop_task", {}, {"cluster": CLUSTER, "task": TASK, "reason": ANY})
    clock = FakeClock()
    started = clock.now()
    body = handle(
        EcsTaskRunner(ecs, clock=clock, schedule=STEADY), create_event({**PROPS, "Timeout": "60"}), clock
    ).only
    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        "timed out after 60 s; the ECS API was throttling DescribeTasks for the last 59 s "
        "(13 calls, last error ThrottlingException); task stopped"
    )
    assert clock.now() - started == 60.0


def test_throttle_streak_survives_a_continuation(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    # At 1, 6, 11, ..., 41 s; then 5 s more would leave less than the 15 s hand-off margin of a 60 s Lambda.
    throttle(ecs_stub, "describe_tasks", 9)
    clock = FakeClock()
    invoker = RecordingInvoker()
    sender = handle(EcsTaskRunner(ecs, clock=clock, schedule=STEADY), create_event(PROPS), clock, invoker, 60)
    assert sender.bodies == []
    [(_, event)] = invoker.calls
    state = event["CfnkitContinuation"]["state"]
    assert state["pace"] == 5.0
    assert state["throttle"]["count"] == 9
    # The continued invocation keeps the pace (5 s) and the streak; the task has stopped meanwhile.
    expect_describe(ecs_stub, stopped())
    sender = handle(EcsTaskRunner(ecs, clock=clock, schedule=STEADY), event, clock)
    assert sender.only["Status"] == "SUCCESS"
    assert clock.sleeps[-1] == 5.0


def test_in_place_retries_never_run_past_the_deadline(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    # Timeout 5 s: RunTask at 0 and 2 s; the next pause (4 s) would pass the deadline.
    throttle(ecs_stub, "run_task", 2)
    clock = FakeClock()
    started = clock.now()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY, rng=Ceiling())
    body = handle(runner, create_event({**PROPS, "Timeout": "5"}), clock).only
    assert body["Reason"] == (
        "timed out after 5 s; the ECS API was throttling RunTask for the last 5 s "
        "(2 calls, last error ThrottlingException); no task was started"
    )
    assert clock.now() - started == 5.0
