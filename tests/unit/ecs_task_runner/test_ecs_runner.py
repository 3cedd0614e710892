"""EcsTaskRunner with stubbed clients: RunTask failures, capacity retries, throttling, Reasons, properties."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from cfnkit import CustomResource, ProviderError
from cfnkit.protocol import parse_request
from cfnkit.schedule import PollSchedule
from cfnkit.testing import FakeClock, FakeContext, RecordingInvoker, RecordingSender, create_event, delete_event
from ecs_runner import (
    CLIENT_TOKEN_LENGTH,
    REASON_BUDGET_BYTES,
    SCHEMA,
    STARTED_BY_LENGTH,
    EcsTaskRunner,
    LogConfig,
    Phase,
    WaitState,
    is_capacity_error_message,
    is_capacity_failure,
)

#: The default curve without jitter or slow start, for tests that check the exact pauses.
STEADY = PollSchedule(jitter=0.0, start_pace=1.0)
CLUSTER = "todobackend"
TD_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/migrate:3"
TASK = "arn:aws:ecs:us-east-1:123456789012:task/todobackend/0f7a1c2b3d4e5f60718293a4b5c6d7e8"
TASK2 = "arn:aws:ecs:us-east-1:123456789012:task/todobackend/1f7a1c2b3d4e5f60718293a4b5c6d7e9"
INSTANCE = "arn:aws:ecs:us-east-1:123456789012:container-instance/todobackend/9a8b7c6d5e4f"
GROUP = "/todobackend/ecs"
STREAM = "migrate/migrate/0f7a1c2b3d4e5f60718293a4b5c6d7e8"
PROPS = {"Cluster": CLUSTER, "TaskDefinition": "migrate", "LaunchType": "EC2"}


def definition(*, awslogs: bool = True, network_mode: str = "bridge", compat: tuple[str, ...] = ("EC2",)) -> Any:
    log_config = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": GROUP, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "migrate"},
    }
    container: dict[str, Any] = {"name": "migrate", "image": "todobackend", "essential": True}
    if awslogs:
        container["logConfiguration"] = log_config
    return {
        "taskDefinition": {
            "taskDefinitionArn": TD_ARN,
            "family": "migrate",
            "networkMode": network_mode,
            "requiresCompatibilities": list(compat),
            "containerDefinitions": [{"name": "proxy", "image": "nginx", "essential": False}, container],
        }
    }


def stopped(
    arn: str = TASK, *, migrate: int | None = 0, reason: str | None = None, stop_code: str = "EssentialContainerExited"
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "migrate", "lastStatus": "STOPPED"}
    if migrate is not None:
        container["exitCode"] = migrate
    if reason:
        container["reason"] = reason
    return {
        "taskArn": arn,
        "lastStatus": "STOPPED",
        "stopCode": stop_code,
        "stoppedReason": "Essential container in task exited",
        "containers": [{"name": "proxy", "lastStatus": "STOPPED", "exitCode": 0}, container],
    }


def expect_lookup(stub: Stubber, *, found: tuple[str, ...] = (), td: Any = None) -> None:
    stub.add_response("describe_task_definition", td or definition(), {"taskDefinition": "migrate"})
    # startedBy is the only filter (botocore ecs model, ListTasksRequest.startedBy).
    stub.add_response("list_tasks", {"taskArns": list(found)}, {"cluster": CLUSTER, "startedBy": ANY})


def expect_run(
    stub: Stubber,
    tasks: tuple[str, ...] = (TASK,),
    failures: tuple[dict[str, str], ...] = (),
    count: int = 1,
    token: Any = ANY,
) -> None:
    stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": arn, "lastStatus": "PROVISIONING"} for arn in tasks], "failures": list(failures)},
        {
            "cluster": CLUSTER,
            "taskDefinition": "migrate",
            "launchType": "EC2",
            "count": count,
            "startedBy": ANY,
            "clientToken": token,
        },
    )


def expect_describe(stub: Stubber, *tasks: dict[str, Any], arns: tuple[str, ...] = (TASK,)) -> None:
    stub.add_response(
        "describe_tasks", {"tasks": list(tasks), "failures": []}, {"cluster": CLUSTER, "tasks": list(arns)}
    )


def handle(runner: EcsTaskRunner, event: dict[str, Any], clock: FakeClock) -> RecordingSender:
    sender = RecordingSender()
    CustomResource(runner, sender=sender, clock=clock, invoker=RecordingInvoker())(event, FakeContext(900, clock=clock))
    return sender


def reason_of(runner: EcsTaskRunner, props: dict[str, Any], clock: FakeClock | None = None) -> str:
    body = handle(runner, create_event(props), clock or FakeClock()).only
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"].startswith("cfnkit-failed-create-")
    return str(body["Reason"])


# -- RunTask failures --------------------------------------------------------------------


def test_run_task_failure_is_failed_naming_reason_and_arn(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(
        ecs_stub, tasks=(), failures=({"arn": INSTANCE, "reason": "ATTRIBUTE", "detail": "ecs.cpu-architecture"},)
    )
    reason = reason_of(EcsTaskRunner(ecs), PROPS)
    assert reason == f"RunTask failed: ATTRIBUTE (ecs.cpu-architecture) on {INSTANCE}"


def test_run_task_failure_stops_the_tasks_it_did_start(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub, tasks=(TASK,), failures=({"arn": INSTANCE, "reason": "MISSING"},), count=2)
    ecs_stub.add_response("stop_task", {}, {"cluster": CLUSTER, "task": TASK, "reason": ANY})
    reason = reason_of(EcsTaskRunner(ecs), {**PROPS, "Count": "2"})
    assert reason == f"RunTask failed: MISSING on {INSTANCE}; task stopped"


@pytest.mark.parametrize(
    ("reason", "capacity"),
    [
        ("RESOURCE:CPU", True),
        ("RESOURCE:MEMORY", True),
        ("AGENT", True),
        ("Capacity is unavailable at this time. Please try again later or in a different availability zone", True),
        ("ATTRIBUTE", False),
        ("MISSING", False),
        ("LAUNCH_TYPE", False),
    ],
)
def test_capacity_failures_are_told_apart(reason: str, capacity: bool) -> None:
    assert is_capacity_failure(reason) is capacity


def test_capacity_failure_is_retried_with_backoff_then_succeeds(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub, tasks=(), failures=({"arn": INSTANCE, "reason": "RESOURCE:MEMORY"},))
    expect_run(ecs_stub, tasks=(), failures=({"arn": INSTANCE, "reason": "RESOURCE:CPU"},))
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped())
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY)
    body = handle(runner, create_event({**PROPS, "LogTailLines": 0}), clock).only
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["TaskArn"] == TASK
    assert clock.sleeps == [1.0, 2.0, 1.0]


def test_capacity_retries_use_a_new_client_token_each_attempt(ecs: Any) -> None:
    calls: list[dict[str, Any]] = []
    with Stubber(ecs) as stub:
        expect_lookup(stub)
        expect_run(stub, tasks=(), failures=({"arn": INSTANCE, "reason": "AGENT"},))
        expect_run(stub)
        expect_describe(stub, stopped())
        ecs.meta.events.register("provide-client-params.ecs.RunTask", lambda params, **_: calls.append(params))
        clock = FakeClock()
        handle(EcsTaskRunner(ecs, clock=clock, schedule=STEADY), create_event(PROPS), clock)
    assert calls[0]["startedBy"] == calls[1]["startedBy"]
    assert calls[0]["clientToken"] != calls[1]["clientToken"]


def test_capacity_never_available_times_out_naming_the_last_failure(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    for _ in range(4):  # at 0, 1, 3 and 7 s; the next try would be at 15 s, after the deadline
        expect_run(ecs_stub, tasks=(), failures=({"arn": INSTANCE, "reason": "RESOURCE:CPU"},))
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY)
    body = handle(runner, create_event({**PROPS, "Timeout": "10"}), clock).only
    assert body["Reason"] == (
        f"timed out after 10 s; no task was started (last RunTask failure: RESOURCE:CPU on {INSTANCE})"
    )
    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0]


def starting(**changes: Any) -> WaitState:
    wait = WaitState(
        phase=Phase.STARTING,
        cluster=CLUSTER,
        task_definition=TD_ARN,
        essential=("migrate",),
        logs={"migrate": LogConfig(GROUP, "us-east-1", "migrate")},
        params={"cluster": CLUSTER, "taskDefinition": "migrate", "count": 1},
    )
    return replace(wait, **changes)


def test_continued_capacity_wait_keeps_its_backoff(ecs: Any, ecs_stub: Stubber) -> None:
    clock = FakeClock()
    request = parse_request(create_event(PROPS))
    state = starting(retry_at=clock.now() + 6.0, attempt=3, last_failure="RESOURCE:CPU").to_state()
    outcome = EcsTaskRunner(ecs, clock=clock, schedule=STEADY).poll(request, state)
    kept = {k: v for k, v in outcome.state.items() if k != "deadline"}  # type: ignore[union-attr]
    assert kept == state
    assert outcome.interval == 6.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "wait",
    [
        starting(),
        starting(tasks=(TASK,), attempt=2, retry_at=5.0, last_failure="AGENT"),
        replace(starting(), phase=Phase.RUNNING, params={}, tasks=(TASK, TASK2), running_since=7.5, logs={}),
    ],
)
def test_the_wait_state_survives_the_trip_through_a_continuation(wait: WaitState) -> None:
    import json

    assert WaitState.from_state(json.loads(json.dumps(wait.to_state()))) == wait


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ({"phase": "stopping"}, "EcsTaskRunner cannot resume a wait in phase 'stopping'"),
        ({}, "EcsTaskRunner cannot resume a wait in phase None"),
        (
            {"phase": "running", "task_definition": TD_ARN},
            "EcsTaskRunner cannot resume a wait: its state has no 'cluster'",
        ),
        (
            {**starting().to_state(), "tasks": [1]},
            "EcsTaskRunner cannot resume a wait from a damaged state (expected a string, got int)",
        ),
        (
            {**starting().to_state(), "attempt": "2"},
            "EcsTaskRunner cannot resume a wait from a damaged state (expected an integer, got str)",
        ),
        (
            {**starting().to_state(), "retry_at": True},
            "EcsTaskRunner cannot resume a wait from a damaged state (expected a number, got bool)",
        ),
        (
            {**starting().to_state(), "params": []},
            "EcsTaskRunner cannot resume a wait from a damaged state (expected an object, got list)",
        ),
        (
            {**starting().to_state(), "logs": {"migrate": ["g", "r"]}},
            "EcsTaskRunner cannot resume a wait from a damaged state (a log configuration is [group, region, prefix])",
        ),
    ],
)
def test_a_damaged_wait_state_fails_clearly(state: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProviderError) as caught:
        WaitState.from_state(state)
    assert caught.value.reason() == reason


def test_run_task_rejection_is_failed_with_ecs_message(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    ecs_stub.add_client_error(
        "run_task", "InvalidParameterException", "No Container Instances were found in your cluster."
    )
    reason = reason_of(EcsTaskRunner(ecs), PROPS)
    assert reason == (
        "RunTask rejected the task: InvalidParameterException: No Container Instances were found in your cluster."
    )


# (Throttling: see test_throttling.py.)


# -- true outcome and Reasons -----------------------------------------------------------------


def test_essential_container_is_found_by_name_not_position(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped(migrate=1))
    reason = reason_of(EcsTaskRunner(ecs), {**PROPS, "LogTailLines": "0"})
    assert reason == f"Task {TASK}: essential container migrate exited with code 1 (SuccessExitCodes: 0)"


def test_running_task_is_polled_about_once_a_second(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, {"taskArn": TASK, "lastStatus": "PENDING", "containers": []})
    expect_describe(ecs_stub, {"taskArn": TASK, "lastStatus": "RUNNING", "containers": []})
    expect_describe(ecs_stub, stopped())
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY)
    body = handle(runner, create_event(PROPS), clock).only
    assert body["Status"] == "SUCCESS"
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_essential_container_missing_from_the_task_is_a_failure(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    task = stopped()
    task["containers"] = task["containers"][:1]
    task["stopCode"] = "TaskFailedToStart"
    expect_describe(ecs_stub, task)
    reason = reason_of(EcsTaskRunner(ecs), {**PROPS, "LogTailLines": "0"})
    assert reason == (
        f"Task {TASK}: essential container migrate was not reported by ECS (no exit code); "
        "stopCode TaskFailedToStart; stoppedReason: Essential container in task exited"
    )


def test_task_missing_past_the_grace_period_is_failed(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    for _ in range(30):  # described at 1..30 s after RunTask; MISSING is tolerated for 30 s
        ecs_stub.add_response("describe_tasks", {"tasks": [], "failures": [{"arn": TASK, "reason": "MISSING"}]})
    clock = FakeClock()
    reason = reason_of(EcsTaskRunner(ecs, clock=clock, schedule=STEADY), PROPS, clock)
    assert reason == f"DescribeTasks could not find the task: MISSING on {TASK}"


def test_task_not_yet_described_after_run_task_is_waited_for(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    ecs_stub.add_response("describe_tasks", {"tasks": [], "failures": [{"arn": TASK, "reason": "MISSING"}]})
    expect_describe(ecs_stub, stopped())
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY)
    body = handle(runner, create_event(PROPS), clock).only
    assert body["Status"] == "SUCCESS", body["Reason"]


def test_reason_keeps_the_newest_log_lines_and_fits_the_response(
    ecs: Any, ecs_stub: Stubber, logs: Any, logs_stub: Stubber
) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped(migrate=1))
    lines = [f"line {i:02d} " + "x" * 600 for i in range(20)]
    logs_stub.add_response(
        "get_log_events",
        {"events": [{"timestamp": i, "message": line} for i, line in enumerate(lines)]},
        {"logGroupName": GROUP, "logStreamName": STREAM, "startFromHead": False, "limit": 20},
    )
    body = handle(EcsTaskRunner(ecs, logs), create_event(PROPS), FakeClock()).only
    reason = body["Reason"]
    head = f"Task {TASK}: essential container migrate exited with code 1 (SuccessExitCodes: 0). Last "
    assert reason.startswith(head)
    assert reason.endswith("line 19 " + "x" * 386 + " [...]")  # each line is cut to 400 bytes
    assert "line 12" not in reason
    assert len(reason.encode()) <= REASON_BUDGET_BYTES  # it fitted the runner's budget: the core did not cut it
    assert len(str(body).encode()) < 4096


def test_log_tail_lines_zero_reads_no_logs(ecs: Any, ecs_stub: Stubber, logs: Any, logs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped(migrate=2))
    reason = reason_of(EcsTaskRunner(ecs, logs), {**PROPS, "LogTailLines": "0"})
    assert reason == f"Task {TASK}: essential container migrate exited with code 2 (SuccessExitCodes: 0)"


def test_unreadable_logs_are_one_clause_after_the_exit_code(
    ecs: Any, ecs_stub: Stubber, logs: Any, logs_stub: Stubber
) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped(migrate=1))
    logs_stub.add_client_error("get_log_events", "AccessDeniedException", "not authorized")
    reason = reason_of(EcsTaskRunner(ecs, logs), PROPS)
    assert reason == (
        f"Task {TASK}: essential container migrate exited with code 1 (SuccessExitCodes: 0). "
        f"Logs: could not read {GROUP} {STREAM} (AccessDeniedException)"
    )


def test_container_without_exit_code_names_stop_code_and_reasons(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    pull = "CannotPullContainerError: ref pull has been retried 5 time(s): not found"
    expect_describe(ecs_stub, stopped(migrate=None, reason=pull, stop_code="TaskFailedToStart"))
    reason = reason_of(EcsTaskRunner(ecs), {**PROPS, "LogTailLines": "0"})
    assert reason == (
        f"Task {TASK}: essential container migrate has no exit code; stopCode TaskFailedToStart; "
        f"stoppedReason: Essential container in task exited; container reason: {pull}"
    )


def test_several_failures_are_all_named(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub, tasks=(TASK, TASK2), count=2)
    expect_describe(ecs_stub, stopped(migrate=1), stopped(TASK2, migrate=None), arns=(TASK, TASK2))
    reason = reason_of(EcsTaskRunner(ecs), {**PROPS, "Count": 2, "LogTailLines": 0})
    assert reason == (
        f"Task {TASK} (1 of 2): essential container migrate exited with code 1 (SuccessExitCodes: 0). "
        "Also failed: task 1f7a1c2b3d4e5f60718293a4b5c6d7e9 container migrate has no exit code"
    )


# -- timeout -------------------------------------------------------------------------------------


def test_timeout_property_is_the_provider_timeout(ecs: Any) -> None:
    runner = EcsTaskRunner(ecs)
    request = parse_request(create_event(PROPS))
    assert runner.timeout(request) is None
    parsed = parse_request(create_event({**PROPS, "Timeout": "120"}))
    assert runner.timeout(replace(parsed, properties=SCHEMA.parse(parsed.properties))) == 120.0


def test_failed_stop_on_timeout_is_named(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    for _ in range(5):
        expect_describe(ecs_stub, {"taskArn": TASK, "lastStatus": "RUNNING", "containers": []})
    ecs_stub.add_client_error("stop_task", "AccessDeniedException", "not authorized to perform ecs:StopTask")
    clock = FakeClock()
    reason = reason_of(EcsTaskRunner(ecs, clock=clock, schedule=STEADY), {**PROPS, "Timeout": "5"}, clock)
    assert reason == f"timed out after 5 s; could not stop {TASK} (AccessDeniedException)"


# -- Delete and bad input ------------------------------------------------------------------------


def test_delete_not_in_run_on_makes_no_ecs_call(ecs: Any, ecs_stub: Stubber) -> None:
    # Nothing queued: any ECS call would raise, as it would for a cluster that is gone.
    event = delete_event({**PROPS, "Cluster": "deleted-cluster"}, "demo-stack-MigrateTask-0123456789ab")
    body = handle(EcsTaskRunner(ecs), event, FakeClock()).only
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "demo-stack-MigrateTask-0123456789ab"
    assert "Data" not in body


def test_delete_not_in_run_on_succeeds_even_with_invalid_properties(ecs: Any, ecs_stub: Stubber) -> None:
    body = handle(EcsTaskRunner(ecs), delete_event({"Count": "many"}, "pid-1"), FakeClock()).only
    assert (body["Status"], body["Reason"], body["PhysicalResourceId"]) == ("SUCCESS", "", "pid-1")


def test_awsvpc_task_without_network_configuration_is_rejected_before_run_task(ecs: Any, ecs_stub: Stubber) -> None:
    ecs_stub.add_response("describe_task_definition", definition(network_mode="awsvpc"), {"taskDefinition": "migrate"})
    reason = reason_of(EcsTaskRunner(ecs), PROPS)
    assert reason == (
        "NetworkConfiguration is required: task definition migrate uses networkMode awsvpc. "
        "Add NetworkConfiguration: {AwsvpcConfiguration: {Subnets: [...], SecurityGroups: [...]}}"
    )


def test_fargate_only_task_definition_without_launch_type_needs_network_configuration(
    ecs: Any, ecs_stub: Stubber
) -> None:
    ecs_stub.add_response("describe_task_definition", definition(compat=("FARGATE",)), {"taskDefinition": "migrate"})
    reason = reason_of(EcsTaskRunner(ecs), {"Cluster": CLUSTER, "TaskDefinition": "migrate"})
    assert reason.startswith("NetworkConfiguration is required: task definition migrate runs on Fargate. ")


def test_access_denied_on_run_task_says_which_permission(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    ecs_stub.add_client_error(
        "run_task", "AccessDeniedException", "User is not authorized to perform: iam:PassRole on resource: role/migrate"
    )
    reason = reason_of(EcsTaskRunner(ecs), PROPS)
    assert reason == (
        "RunTask was denied: User is not authorized to perform: iam:PassRole on resource: role/migrate "
        "(the function's role needs ecs:RunTask on the cluster and iam:PassRole for the task's roles)"
    )


def test_run_on_rejects_unknown_request_types() -> None:
    with pytest.raises(Exception, match=r"RunOn\[1\]: expected one of Create, Update, Delete"):
        SCHEMA.parse({**PROPS, "RunOn": ["Create", "Deleet"]})


def test_start_identifiers_fit_ecs_limits_and_survive_redelivery() -> None:
    request = parse_request(create_event(PROPS))
    again = parse_request(create_event(PROPS))
    runner = EcsTaskRunner(region="us-east-1")
    started_by = runner._started_by(request)
    assert started_by == runner._started_by(again)
    assert len(started_by) == STARTED_BY_LENGTH
    assert started_by.startswith("cfnkit-")
    token = request.token("clientToken", "0", length=CLIENT_TOKEN_LENGTH)
    assert len(token) == CLIENT_TOKEN_LENGTH


def test_redelivery_reuses_the_client_token_when_list_tasks_lags(ecs: Any) -> None:
    tokens: list[str] = []
    ecs.meta.events.register(
        "provide-client-params.ecs.RunTask", lambda params, **_: tokens.append(params["clientToken"])
    )
    event = create_event({**PROPS, "LogTailLines": 0})
    for _ in range(2):  # ListTasks does not show the first task yet; ECS's clientToken answers with it
        with Stubber(ecs) as stub:
            expect_lookup(stub)
            expect_run(stub)
            expect_describe(stub, stopped())
            assert handle(EcsTaskRunner(ecs), event, FakeClock()).only["Data"]["TaskArn"] == TASK
    assert len(tokens) == 2
    assert tokens[0] == tokens[1]


def test_rejected_list_tasks_falls_back_to_the_client_token(ecs: Any, ecs_stub: Stubber) -> None:
    ecs_stub.add_response("describe_task_definition", definition(), {"taskDefinition": "migrate"})
    ecs_stub.add_client_error("list_tasks", "InvalidParameterException", "startedBy must be the only filter")
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped())
    body = handle(EcsTaskRunner(ecs), create_event(PROPS), FakeClock()).only
    assert body["Status"] == "SUCCESS", body["Reason"]


def test_cluster_outside_the_roles_scope_is_named_with_the_parameter(ecs: Any, ecs_stub: Stubber) -> None:
    # tests/iam found it: IAM denies a cluster outside AllowedClusterArns before ECS looks for it.
    ecs_stub.add_response("describe_task_definition", definition(), {"taskDefinition": "migrate"})
    ecs_stub.add_client_error("list_tasks", "AccessDeniedException", "User is not authorized to perform: ecs:ListTasks")
    reason = reason_of(EcsTaskRunner(ecs), PROPS)
    assert reason == (
        "ListTasks on cluster todobackend was denied: User is not authorized to perform: ecs:ListTasks "
        "(the function's role may use only the clusters in the cfnkit stack's AllowedClusterArns "
        "parameter)"
    )


def test_redelivery_finds_the_running_task_with_started_by_alone(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub, found=(TASK,))  # no RunTask is queued: a call would fail the stub
    expect_describe(ecs_stub, stopped())
    body = handle(EcsTaskRunner(ecs), create_event({**PROPS, "LogTailLines": 0}), FakeClock()).only
    assert (body["Status"], body["Data"]["TaskArn"]) == ("SUCCESS", TASK)


# -- RunTask ConflictException and ClientException (rules moto does not model) ------------------
# botocore ecs/2014-11-13 service-2.json, RunTask: "If you get a ConflictException error, the
# RunTask request could not be processed due to conflicts. The provided clientToken is already
# in use with a different RunTask request. The resourceIds are the existing task ARNs which are
# already associated with the clientToken." and "If you get a ClientException error, the RunTask
# could not be processed because you use managed scaling and there is a capacity error because
# the quota of tasks in the PROVISIONING per cluster has been reached."


def conflict(stub: Stubber, *arns: str, token: Any = ANY, count: int = 1) -> None:
    stub.add_client_error(
        "run_task",
        "ConflictException",
        "The specified clientToken is already in use.",
        http_status_code=400,
        expected_params={
            "cluster": CLUSTER,
            "taskDefinition": "migrate",
            "launchType": "EC2",
            "count": count,
            "startedBy": ANY,
            "clientToken": token,
        },
        modeled_fields={"resourceIds": list(arns)},
    )


def test_conflict_adopts_the_tasks_its_client_token_started(ecs: Any, ecs_stub: Stubber) -> None:
    # Count 2: a redelivery finds TASK2 still running; TASK (started under token 0) has stopped.
    # Asking token 0 for the one missing task is a conflict naming both of token 0's tasks.
    request = parse_request(create_event({**PROPS, "Count": "2", "LogTailLines": 0}))
    token0 = request.token("clientToken", "0", length=CLIENT_TOKEN_LENGTH)
    expect_lookup(ecs_stub, found=(TASK2,))
    conflict(ecs_stub, TASK, TASK2, token=token0)
    expect_describe(ecs_stub, stopped(TASK2), stopped(), arns=(TASK2, TASK))
    body = handle(EcsTaskRunner(ecs), request.raw, FakeClock()).only
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["TaskArns"] == f"{TASK2},{TASK}"


def test_conflict_that_adopts_too_few_tasks_tries_the_next_client_token(ecs: Any, ecs_stub: Stubber) -> None:
    request = parse_request(create_event({**PROPS, "Count": "2", "LogTailLines": 0}))
    tokens = [request.token("clientToken", str(n), length=CLIENT_TOKEN_LENGTH) for n in range(2)]
    expect_lookup(ecs_stub)
    conflict(ecs_stub, TASK, token=tokens[0], count=2)  # token 0 placed one of two tasks
    expect_run(ecs_stub, tasks=(TASK2,), count=1, token=tokens[1])
    expect_describe(ecs_stub, stopped(), stopped(TASK2), arns=(TASK, TASK2))
    body = handle(EcsTaskRunner(ecs), request.raw, FakeClock()).only
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["TaskArns"] == f"{TASK},{TASK2}"


def test_conflict_without_resource_ids_is_failed_with_ecs_message(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    conflict(ecs_stub)
    reason = reason_of(EcsTaskRunner(ecs), PROPS)
    assert reason == (
        "RunTask answered ConflictException without the tasks it names: The specified clientToken is already in use."
    )


def test_client_exception_for_provisioning_capacity_is_retried(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    ecs_stub.add_client_error("run_task", "ClientException", "Tasks provisioning capacity limit exceeded.")
    expect_run(ecs_stub)
    expect_describe(ecs_stub, stopped())
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY)
    body = handle(runner, create_event({**PROPS, "LogTailLines": 0}), clock).only
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert clock.sleeps == [1.0, 1.0]


def test_client_exception_for_provisioning_capacity_times_out_naming_it(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    for _ in range(4):  # at 0, 1, 3 and 7 s
        ecs_stub.add_client_error("run_task", "ClientException", "Tasks provisioning capacity limit exceeded.")
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY)
    body = handle(runner, create_event({**PROPS, "Timeout": "10"}), clock).only
    assert body["Reason"] == (
        "timed out after 10 s; no task was started (last RunTask failure: "
        "ClientException: Tasks provisioning capacity limit exceeded.)"
    )


def test_other_client_exceptions_stay_fatal_with_their_message(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    ecs_stub.add_client_error("run_task", "ClientException", "TaskDefinition is inactive")
    reason = reason_of(EcsTaskRunner(ecs), PROPS)
    assert reason == "RunTask rejected the task: ClientException: TaskDefinition is inactive"


@pytest.mark.parametrize(
    ("message", "capacity"),
    [
        ("Tasks provisioning capacity limit exceeded.", True),
        ("Capacity is unavailable at this time. Please try again later", True),
        ("TaskDefinition is inactive", False),
        ("The referenced cluster was inactive.", False),
    ],
)
def test_capacity_client_exceptions_are_told_apart(message: str, capacity: bool) -> None:
    assert is_capacity_error_message(message) is capacity


def test_property_values_never_reach_the_logs(ecs: Any, ecs_stub: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "p4ss-w0rd-in-an-override"
    props = {
        **PROPS,
        "Overrides": {
            "ContainerOverrides": [{"Name": "migrate", "Environment": [{"Name": "MYSQL_PASSWORD", "Value": secret}]}]
        },
    }
    expect_lookup(ecs_stub)
    ecs_stub.add_response("run_task", {"tasks": [{"taskArn": TASK}], "failures": []})
    expect_describe(ecs_stub, stopped(migrate=1))
    handle(EcsTaskRunner(ecs, clock=FakeClock()), create_event({**props, "LogTailLines": 0}), FakeClock())
    out = capsys.readouterr().out
    assert "RunTask answered" in out
    assert secret not in out


def test_partial_placement_retries_only_the_missing_tasks(ecs: Any, ecs_stub: Stubber) -> None:
    expect_lookup(ecs_stub)
    expect_run(ecs_stub, tasks=(TASK,), failures=({"arn": INSTANCE, "reason": "RESOURCE:MEMORY"},), count=2)
    expect_run(ecs_stub, tasks=(TASK2,), count=1)
    expect_describe(ecs_stub, stopped(), stopped(TASK2), arns=(TASK, TASK2))
    clock = FakeClock()
    runner = EcsTaskRunner(ecs, clock=clock, schedule=STEADY)
    body = handle(runner, create_event({**PROPS, "Count": "2"}), clock).only
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["TaskArns"] == f"{TASK},{TASK2}"


def test_a_task_another_invocation_stopped_at_its_deadline_is_failed_whatever_its_exit_code(
    ecs: Any, ecs_stub: Stubber
) -> None:
    # Two live chains for one request (a duplicate delivery): the one that reached the deadline
    # stopped the task and answered FAILED; the other must not answer SUCCESS for exit code 0.
    expect_lookup(ecs_stub)
    expect_run(ecs_stub)
    task = stopped(migrate=0, stop_code="UserInitiated")
    task["stoppedReason"] = (
        "cfnkit: stack demo-stack resource Resource stopped the task (Create did not finish in time or failed)"
    )
    expect_describe(ecs_stub, task)
    reason = reason_of(EcsTaskRunner(ecs), {**PROPS, "LogTailLines": "0"})
    assert reason == (
        f"Task {TASK}: essential container migrate was stopped by cfnkit: another invocation of this "
        f"request reached its deadline (stoppedReason: {task['stoppedReason']})"
    )
