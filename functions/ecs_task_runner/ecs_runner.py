"""Custom::EcsTask: run a one-off ECS task during a deploy and report its true outcome.

    MigrateTask:
      Type: Custom::EcsTask
      Properties:
        ServiceToken: !ImportValue cfnkit-EcsTaskRunner
        Cluster: !Ref Cluster
        TaskDefinition: !Ref MigrateTaskDefinition
        LaunchType: FARGATE
        NetworkConfiguration:
          AwsvpcConfiguration: {Subnets: [!Ref SubnetA], SecurityGroups: [!Ref TaskSG]}

Contracts:
- One request starts its tasks at most once: RunTask's startedBy and clientToken are
  derived from the request, and a repeated delivery adopts the tasks it finds.
- RunTask `failures` are never ignored: capacity failures are retried with backoff
  until the deadline, any other failure is FAILED naming its reason and arn.
- SUCCESS only when every task STOPPED and every essential container of every task
  exited with a code in SuccessExitCodes. Non-essential containers are only logged.
- A FAILED Reason names the task, the container, the exit code or stop reason and
  the tail of that container's awslogs stream.
- On the overall deadline the tasks are stopped (StopOnTimeout) with a reason that
  names the stack and logical id.
- Throttling (and other retryable errors) never fails a request while time is left:
  start-up calls, StopTask and GetLogEvents retry in place with jittered backoff for a
  few seconds (never past the wait's deadline), then the wait goes on as InProgress
  (RunTask resumes with the same attempt, so the same clientToken: it stays idempotent);
  a throttled DescribeTasks is a skipped poll that slows this runner's pace
  (cfnkit.schedule). The streak is kept in the wait state, and a deadline Reason says
  which call was throttled and for how long.
- The PhysicalResourceId never depends on a task: updates never replace the resource.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cfnkit import (
    Boolean,
    Clock,
    Field,
    InProgress,
    Integer,
    Json,
    List,
    Outcome,
    Provider,
    ProviderError,
    Request,
    RequestType,
    Result,
    Schema,
    State,
    String,
    SystemClock,
    api_params,
    get_logger,
)
from cfnkit.awserrors import aws_error, error_code
from cfnkit.budget import Budget
from cfnkit.protocol import cut_utf8
from cfnkit.retry import Backoff, Throttled, ThrottleRecord, call_with_retry
from cfnkit.schedule import PollSchedule

if TYPE_CHECKING:
    from mypy_boto3_ecs.client import ECSClient
    from mypy_boto3_logs.client import CloudWatchLogsClient

log = get_logger("ecs")

#: The RunTask parameters a template may pass through (CloudFormation spelling).
RUN_TASK_PROPERTIES = (
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
)
MAX_TIMEOUT_S = 3600
#: ECS limits: startedBy up to 36 characters, clientToken up to 64.
STARTED_BY_PREFIX = "cfnkit-"
STARTED_BY_LENGTH = 36
CLIENT_TOKEN_LENGTH = 64
#: Capacity failures are retried after 1, 2, 4, ... seconds, at most this long apart.
MAX_BACKOFF_S = 30.0
POLL_INTERVAL_S = 1.0
#: How long one invocation retries a throttled start-up call in place before handing the
#: retry to the wait (well inside the core's 20 s hand-off margin).
IN_PLACE_RETRY_S = 8.0
#: StopTask at the deadline and GetLogEvents for a Reason are best effort: the core's
#: watchdog answers 5 s after the overall deadline, so their retries stop well before.
BEST_EFFORT_RETRY_S = 3.0
#: Backoff of a throttled step outside the polling phase (full jitter, 1 s doubling to 30 s).
THROTTLE_BACKOFF = Backoff(base=1.0, cap=30.0)
#: In-place retries: full jitter from 2 s (an empty ECS bucket refills 20 tokens a second for
#: the whole account; retrying sooner mostly meets the same empty bucket).
IN_PLACE_BACKOFF = Backoff(base=2.0, cap=8.0)
#: botocore attempts per ECS call: one. A throttled read is retried by the wait itself,
#: paced and jittered, bounded by the deadline and kept across continuations; botocore's
#: own immediate retry would land in the same empty account-wide bucket.
ECS_MAX_ATTEMPTS = 1
#: Consecutive clientTokens answered ConflictException before giving up (each names tasks adopted).
MAX_CONFLICTS = 20
#: How long after RunTask a task DescribeTasks reports MISSING is still waited for.
MISSING_GRACE_S = 30.0
#: The part of the 4096-byte response a failure Reason may use (ids and keys need the rest).
REASON_BUDGET_BYTES = 3300
MAX_LOG_LINE_BYTES = 400
STOP_REASON_MAX = 255
EMPTY_ATTRIBUTES: Mapping[str, str] = {
    "TaskArn": "",
    "TaskArns": "",
    "ExitCode": "",
    "StoppedReason": "",
    "LogStreamName": "",
}

SCHEMA = Schema(
    Cluster=Field(Json(), required=True, description="an ECS cluster name or ARN"),
    TaskDefinition=Field(Json(), required=True, description="a task definition family, family:revision or ARN"),
    Overrides=Field(Json()),
    LaunchType=Field(Json()),
    CapacityProviderStrategy=Field(Json()),
    NetworkConfiguration=Field(Json()),
    PlatformVersion=Field(Json()),
    Count=Field(Integer(minimum=1, maximum=10), default=1),
    Group=Field(Json()),
    PlacementConstraints=Field(Json()),
    PlacementStrategy=Field(Json()),
    Tags=Field(Json()),
    PropagateTags=Field(Json()),
    EnableExecuteCommand=Field(Json()),
    RunOn=Field(List(String(choices=tuple(RequestType)), max_items=3), default=["Create", "Update"]),
    Timeout=Field(Integer(minimum=1, maximum=MAX_TIMEOUT_S)),
    SuccessExitCodes=Field(List(Integer(minimum=0, maximum=255), min_items=1), default=[0]),
    LogTailLines=Field(Integer(minimum=0, maximum=200), default=20),
    StopOnTimeout=Field(Boolean(), default=True),
)


def is_capacity_failure(reason: str) -> bool:
    """Failures that more capacity later may cure (retried until the deadline)."""
    return reason.startswith("RESOURCE:") or reason == "AGENT" or "capacity is unavailable" in reason.lower()


def is_capacity_error_message(message: str) -> bool:
    """A RunTask ClientException that is about capacity, not about the request.

    The RunTask documentation (botocore's ECS model) says ClientException is also returned
    when managed scaling has reached the quota of tasks in PROVISIONING per cluster; ECS
    words it "Tasks provisioning capacity limit exceeded."
    """
    text = message.lower()
    return "capacity" in text and ("provisioning" in text or "limit" in text or "unavailable" in text)


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class LogConfig:
    """Where a container's awslogs stream lives (stream `prefix/container/task-id`)."""

    group: str
    region: str
    prefix: str

    def stream(self, container: str, task_arn: str) -> str:
        return f"{self.prefix}/{container}/{task_id(task_arn)}"

    def to_json(self) -> list[str]:
        return [self.group, self.region, self.prefix]

    @classmethod
    def from_json(cls, raw: Any) -> LogConfig:
        if not (isinstance(raw, list) and len(raw) == 3 and all(isinstance(part, str) for part in raw)):
            raise ValueError("a log configuration is [group, region, prefix]")
        return cls(group=raw[0], region=raw[1], prefix=raw[2])


class Phase(enum.StrEnum):
    #: A start-up call (DescribeTaskDefinition, ListTasks) stayed throttled: create runs again.
    CREATING = "creating"
    #: RunTask has not placed every task yet (capacity retries back off until retry_at).
    STARTING = "starting"
    #: Every task was started; DescribeTasks is polled until all have STOPPED.
    RUNNING = "running"


@dataclass(frozen=True)
class WaitState:
    """What the runner keeps between polls; it travels in a continued invocation's event.

    to_state() gives the JSON the core carries, from_state() reads it back and rejects
    anything else with a clear error (a continuation is data from outside this process).
    """

    phase: Phase
    cluster: str
    task_definition: str
    essential: tuple[str, ...]
    logs: Mapping[str, LogConfig]
    tasks: tuple[str, ...] = ()
    #: RunTask attempts so far (the clientToken and the backoff follow it).
    attempt: int = 0
    #: The RunTask parameters; only while starting.
    params: Mapping[str, Any] = field(default_factory=dict)
    #: Epoch seconds before which RunTask is not retried (starting).
    retry_at: float = 0.0
    last_failure: str = ""
    #: Epoch seconds when the last task was started (running).
    running_since: float = 0.0
    #: The polling pace (cfnkit.schedule; 0 until set), the streak of throttled calls
    #: and the wait's overall deadline (epoch seconds; 0 until known).
    pace: float = 0.0
    throttle: ThrottleRecord | None = None
    deadline: float = 0.0

    @property
    def count(self) -> int:
        return int(self.params.get("count", 1))

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "phase": self.phase.value,
            "cluster": self.cluster,
            "task_definition": self.task_definition,
            "essential": list(self.essential),
            "logs": {name: config.to_json() for name, config in self.logs.items()},
            "tasks": list(self.tasks),
            "attempt": self.attempt,
        }
        if self.phase is Phase.STARTING:
            state.update(params=dict(self.params), retry_at=self.retry_at)
        elif self.phase is Phase.RUNNING:
            state["running_since"] = self.running_since
        if self.last_failure:
            state["last_failure"] = self.last_failure
        if self.pace:
            state["pace"] = self.pace
        if self.throttle is not None:
            state["throttle"] = self.throttle.to_state()
        if self.deadline:
            state["deadline"] = self.deadline
        return state

    @classmethod
    def from_state(cls, state: State) -> WaitState:
        try:
            phase = Phase(str(state.get("phase")))
        except ValueError:
            raise ProviderError(f"EcsTaskRunner cannot resume a wait in phase {state.get('phase')!r}") from None
        try:
            return cls(
                phase=phase,
                cluster=_text(state["cluster"]),
                task_definition=_text(state["task_definition"]),
                essential=tuple(_text(name) for name in state.get("essential", [])),
                logs={str(name): LogConfig.from_json(raw) for name, raw in _object(state.get("logs", {})).items()},
                tasks=tuple(_text(arn) for arn in state.get("tasks", [])),
                attempt=_int(state.get("attempt", 0)),
                params=dict(_object(state.get("params", {}))),
                retry_at=_float(state.get("retry_at", 0.0)),
                last_failure=_text(state.get("last_failure", "")),
                running_since=_float(state.get("running_since", 0.0)),
                pace=_float(state.get("pace", 0.0)),
                throttle=ThrottleRecord.from_state(state.get("throttle")),
                deadline=_float(state.get("deadline", 0.0)),
            )
        except KeyError as exc:
            raise ProviderError(f"EcsTaskRunner cannot resume a wait: its state has no {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ProviderError(f"EcsTaskRunner cannot resume a wait from a damaged state ({exc})") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


class _ThrottledAt(Exception):
    """A step was throttled past its in-place retries; the wait resumes from `wait`."""

    def __init__(self, throttled: Throttled, wait: WaitState) -> None:
        super().__init__(str(throttled))
        self.throttled = throttled
        self.wait = wait


def client_config(service: str = "ecs") -> Any:
    """botocore config: standard retry mode, deliberately not adaptive.

    Adaptive mode's rate limiter lives in one client's memory: a runner makes about one
    call a second and its Lambda environment ends with the wait, so it learns nothing of
    the account-wide bucket, and it sleeps inside the call where no deadline is counted.
    ECS calls get one attempt (the runner retries them, see ECS_MAX_ATTEMPTS); CloudWatch
    Logs keeps standard mode's 3.
    """
    from botocore.config import Config

    attempts = ECS_MAX_ATTEMPTS if service == "ecs" else 3
    return Config(retries={"mode": "standard", "total_max_attempts": attempts}, connect_timeout=5, read_timeout=20)


class EcsTaskRunner(Provider):
    """Custom::EcsTask. Clients are created on first use unless given (tests give stubbed or moto ones).

    clock: wall time for capacity-retry backoff and in-place retries (the core sleeps between polls);
    logs_client: used for log tails in its own region; other regions get their own client;
    rng: jitter of polls and retries; schedule: how often a running task is described.
    """

    schema = SCHEMA

    def __init__(
        self,
        ecs_client: ECSClient | None = None,
        logs_client: CloudWatchLogsClient | None = None,
        clock: Clock | None = None,
        *,
        region: str | None = None,
        client_factory: Callable[[str, str | None], Any] | None = None,
        rng: random.Random | None = None,
        schedule: PollSchedule | None = None,
    ) -> None:
        self._ecs = ecs_client
        self._logs: dict[str, Any] = {}
        self._default_logs = logs_client
        self._clock: Clock = clock or SystemClock()
        self._region = region
        self._client_factory = client_factory or self._boto3_client
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.schedule = schedule or PollSchedule()
        #: The wait's overall deadline while a step runs: in-place retries never pass it.
        self._until = float("inf")
        #: Whether ECS throttled any call of the current step (also one a retry recovered from).
        self._congested = False

    # -- clients ------------------------------------------------------------------

    @staticmethod
    def _boto3_client(service: str, region: str | None) -> Any:
        import boto3

        return boto3.client(service, region_name=region, config=client_config(service))  # type: ignore[call-overload]

    @property
    def ecs(self) -> Any:
        if self._ecs is None:
            self._ecs = self._client_factory("ecs", self._region)
        return self._ecs

    def _aws(self, operation: str, call: Callable[[], Any], budget: float = IN_PLACE_RETRY_S) -> Any:
        """call() with in-place retries of throttled/transient errors for up to `budget` seconds."""
        clock = self._clock
        return call_with_retry(
            call,
            operation=operation,
            clock=clock,
            rng=self._rng,
            backoff=IN_PLACE_BACKOFF,
            deadline=min(clock.now() + budget, self._until),
            service="ECS",
            on_failure=self._note_congestion,
        )

    def _note_congestion(self, record: ThrottleRecord) -> None:
        if record.kind == "throttled":
            self._congested = True

    def _pace(self, wait: WaitState) -> float:
        return wait.pace or self.schedule.start_pace

    def _region_name(self) -> str:
        return str(self.ecs.meta.region_name)

    def _logs_client(self, region: str) -> Any:
        if region not in self._logs:
            default = self._default_logs
            if default is not None and default.meta.region_name == region:
                self._logs[region] = default
            else:
                self._logs[region] = self._client_factory("logs", region)
        return self._logs[region]

    # -- the provider contract --------------------------------------------------------

    def create(self, request: Request) -> Outcome:
        return self._resumable(request, None, lambda wait: self._run(request))

    def update(self, request: Request) -> Outcome:
        return self._resumable(request, None, lambda wait: self._run(request))

    def delete(self, request: Request) -> Outcome:
        # Without Delete in RunOn no ECS call is made: the cluster may already be gone.
        return self._resumable(request, None, lambda wait: self._run(request))

    def timeout(self, request: Request) -> float | None:
        value = request.properties.get("Timeout")
        return float(value) if isinstance(value, int) else None

    def poll(self, request: Request, state: State) -> Outcome:
        return self._resumable(request, WaitState.from_state(state), lambda wait: self._poll(request, wait))

    def _resumable(self, request: Request, wait: WaitState | None, step: Callable[[WaitState], Outcome]) -> Outcome:
        """Run one step; a call still throttled after its in-place retries makes the wait go on.

        The step is resumed from its wait state (or, before one exists, from phase
        CREATING, which re-runs the idempotent start-up) after a jittered backoff; the
        streak of throttled calls and the slower pace are kept in the state.
        """
        if wait is None:
            wait = WaitState(phase=Phase.CREATING, cluster="", task_definition="", essential=(), logs={})
        if not wait.deadline:
            budget = Budget.start(self._clock.now(), 0.0, service_timeout=request.service_timeout)
            wait = replace(wait, deadline=budget.wait_deadline(self.timeout(request)))
        self._until, self._congested = wait.deadline, False
        try:
            outcome = step(wait)
        except (Throttled, _ThrottledAt) as exc:
            throttled, base = (exc, wait) if isinstance(exc, Throttled) else (exc.throttled, exc.wait)
            record = base.throttle.merged(throttled.record) if base.throttle else throttled.record
            pace = self.schedule.after_throttle(self._pace(base))
            if base.phase is Phase.RUNNING:
                interval = self.schedule.interval(max(0.0, self._clock.now() - base.running_since), pace, self._rng)
            else:
                interval = max(0.2, THROTTLE_BACKOFF.delay(record.count, self._rng))
                base = replace(base, retry_at=self._clock.now() + interval)
            log.warning(
                "ECS throttled this step; the wait goes on",
                extra={
                    "fields": {
                        "operation": record.operation,
                        "code": record.code,
                        "streak": record.count,
                        "throttled_for_s": round(self._clock.now() - record.since, 1),
                        "pace": pace,
                        "retry_in_s": round(interval, 2),
                    }
                },
            )
            return InProgress(replace(base, throttle=record, pace=pace).to_state(), interval=interval)
        if not isinstance(outcome, InProgress):
            return outcome
        after = WaitState.from_state(outcome.state)
        after = replace(after, deadline=after.deadline or wait.deadline, pace=after.pace or wait.pace)
        interval = outcome.interval
        if self._congested and wait.phase is not Phase.RUNNING:
            # A start-up call was throttled and recovered: the account's bucket is short, so
            # the wait polls at a slower pace from the start.
            after = replace(after, pace=self.schedule.after_throttle(self._pace(wait)))
            if after.phase is Phase.RUNNING:
                interval = self.schedule.first(after.pace, self._rng)
        return InProgress(after.to_state(), interval=interval)

    def _poll(self, request: Request, wait: WaitState) -> Outcome:
        if wait.phase is Phase.CREATING:
            return self._run(request)
        if wait.phase is Phase.RUNNING:
            return self._check(request, wait)
        backoff = wait.retry_at - self._clock.now()
        if backoff > 0:  # a continued invocation polls at once; keep the backoff
            return InProgress(wait.to_state(), interval=min(backoff, MAX_BACKOFF_S))
        return self._start(request, wait)

    def on_timeout(self, request: Request, state: State) -> str:
        # The cleanup runs after the deadline, in the core's margin: only its own short budget applies.
        self._until = float("inf")
        wait = WaitState.from_state(state)
        detail = self._on_timeout(request, wait)
        if wait.throttle is None:
            return detail
        return f"{wait.throttle.describe(self._clock.now(), 'ECS')}; {detail}"

    def _on_timeout(self, request: Request, wait: WaitState) -> str:
        if not wait.tasks:
            last = wait.last_failure
            return "no task was started" + (f" (last RunTask failure: {last})" if last else "")
        if not request.properties.get("StopOnTimeout", True):
            return f"task left running (StopOnTimeout is false): {', '.join(wait.tasks)}"
        return self._stop_tasks(request, wait.cluster, wait.tasks)

    # -- starting ------------------------------------------------------------------

    def _run(self, request: Request) -> Outcome:
        run_on = request.properties.get("RunOn") or ["Create", "Update"]
        if request.request_type.value not in run_on:
            log.info("request type not in RunOn: no task is run")
            return Result(data=dict(EMPTY_ATTRIBUTES) if request.request_type is not RequestType.DELETE else {})
        passthrough = {k: v for k, v in request.properties.items() if k in RUN_TASK_PROPERTIES and v is not None}
        params = api_params("ecs", "RunTask", passthrough, allowed=RUN_TASK_PROPERTIES)
        definition = self._describe_task_definition(str(params["taskDefinition"]))
        self._check_network(params, definition)
        containers = definition.get("containerDefinitions", [])
        essential = [str(c["name"]) for c in containers if c.get("essential", True)]
        logs = {}
        for container in containers:
            config = self._log_config(container)
            if config is not None:
                logs[str(container["name"])] = config
        wait = WaitState(
            phase=Phase.STARTING,
            cluster=str(params["cluster"]),
            params=params,
            task_definition=str(definition.get("taskDefinitionArn", params["taskDefinition"])),
            essential=tuple(essential),
            logs=logs,
        )
        found = self._find_started(request, wait.cluster)
        if found:
            log.info("adopting tasks a previous delivery of this request started", extra={"fields": {"tasks": found}})
            wait = replace(wait, tasks=tuple(found[: wait.count]))
        return self._start(request, wait)

    def _describe_task_definition(self, name: str) -> dict[str, Any]:
        try:
            reply = self._aws("DescribeTaskDefinition", lambda: self.ecs.describe_task_definition(taskDefinition=name))
        except Exception as exc:
            error = aws_error(exc)
            if error is None:
                raise
            if error.code in ("ClientException", "TaskDefinitionNotFoundException", "InvalidParameterException"):
                raise ProviderError(
                    f"TaskDefinition {name} was not found in {self._region_name()} ({error.code}: "
                    f"{error.message or exc}); "
                    "set TaskDefinition to an existing family, family:revision or task definition ARN"
                ) from exc
            raise
        definition: dict[str, Any] = reply["taskDefinition"]
        return definition

    def _check_network(self, params: Mapping[str, Any], definition: Mapping[str, Any]) -> None:
        if params.get("networkConfiguration", {}).get("awsvpcConfiguration"):
            return
        launch = params.get("launchType")
        providers = [s.get("capacityProvider") for s in params.get("capacityProviderStrategy") or []]
        compat = list(definition.get("requiresCompatibilities") or [])
        fargate = (
            launch == "FARGATE"
            or any(p in ("FARGATE", "FARGATE_SPOT") for p in providers)
            or (not launch and not providers and compat == ["FARGATE"])
        )
        awsvpc = definition.get("networkMode") == "awsvpc"
        if fargate or awsvpc:
            why = "runs on Fargate" if fargate else "uses networkMode awsvpc"
            raise ProviderError(
                f"NetworkConfiguration is required: task definition {definition.get('family', '?')} {why}. "
                "Add NetworkConfiguration: {AwsvpcConfiguration: {Subnets: [...], SecurityGroups: [...]}}"
            )

    def _log_config(self, container: Mapping[str, Any]) -> LogConfig | None:
        config = container.get("logConfiguration") or {}
        if config.get("logDriver") != "awslogs":
            return None
        options = config.get("options") or {}
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        if not group or not prefix:
            return None
        return LogConfig(str(group), str(options.get("awslogs-region") or self._region_name()), str(prefix))

    def _started_by(self, request: Request) -> str:
        return STARTED_BY_PREFIX + request.token("startedBy", length=STARTED_BY_LENGTH - len(STARTED_BY_PREFIX))

    def _find_started(self, request: Request, cluster: str) -> list[str]:
        """Tasks an earlier delivery of this request started that are still RUNNING (desired status).

        startedBy must be ListTasks' only filter (botocore's ECS model, ListTasksRequest), so
        this lists only tasks whose desired status is RUNNING, the default. A task that has
        already stopped is found by RunTask's clientToken instead (see _start).
        """
        found: list[str] = []

        def listed() -> list[str]:
            pages = self.ecs.get_paginator("list_tasks").paginate(cluster=cluster, startedBy=self._started_by(request))
            return [str(arn) for page in pages for arn in page.get("taskArns", [])]

        try:
            found.extend(arn for arn in self._aws("ListTasks", listed) if arn not in found)
        except Exception as exc:
            self._raise_cluster_problem(exc, cluster)
            error = aws_error(exc)
            if error is not None and error.code == "AccessDeniedException":
                # IAM checks the cluster (ecs:cluster) before ECS looks for it.
                raise ProviderError(
                    f"ListTasks on cluster {cluster} was denied: {error.message or exc} (the function's role "
                    "may use only the clusters in the cfnkit stack's AllowedClusterArns parameter)"
                ) from exc
            if error is not None and error.code == "InvalidParameterException":
                # The clientToken still makes RunTask idempotent; this look-up is the first guard.
                log.warning(
                    "ListTasks by startedBy was rejected; relying on RunTask's clientToken",
                    extra={"fields": {"error": error.message or str(exc)}},
                )
                return []
            raise
        return sorted(found)

    def _raise_cluster_problem(self, exc: Exception, cluster: str) -> None:
        if error_code(exc) == "ClusterNotFoundException":
            raise ProviderError(
                f"Cluster {cluster} was not found in {self._region_name()}; "
                "set Cluster to the name or ARN of an existing ECS cluster"
            ) from exc

    def _start(self, request: Request, wait: WaitState) -> Outcome:
        """RunTask for the tasks still missing, one clientToken per attempt.

        A token is never reused with other parameters on purpose, but a redelivery that
        adopted some tasks asks for fewer than the first delivery did under the same token:
        ECS then answers ConflictException naming the tasks that token started, which are
        this request's tasks, so they are adopted and the next attempt's token is tried.
        """
        tasks = list(wait.tasks)
        attempt = wait.attempt
        count = wait.count
        reply: Mapping[str, Any] = {}
        conflicts = 0
        while count - len(tasks) > 0:
            params = {
                **wait.params,
                "count": count - len(tasks),
                "startedBy": self._started_by(request),
                "clientToken": request.token("clientToken", str(attempt), length=CLIENT_TOKEN_LENGTH),
            }
            try:
                reply = self._aws("RunTask", lambda params=params: self.ecs.run_task(**params))  # type: ignore[misc]
            except Throttled as exc:  # resumed with the same attempt, so the same clientToken
                raise _ThrottledAt(
                    exc, replace(wait, phase=Phase.STARTING, tasks=tuple(tasks), attempt=attempt)
                ) from exc
            except Exception as exc:
                adopted = self._run_task_error(exc, replace(wait, tasks=tuple(tasks)), attempt)
                if isinstance(adopted, InProgress):
                    return adopted
                tasks.extend(arn for arn in adopted if arn not in tasks)
                attempt, conflicts = attempt + 1, conflicts + 1
                if conflicts > MAX_CONFLICTS:
                    raise ProviderError(
                        f"RunTask answered ConflictException for {conflicts} clientTokens in a "
                        f"row; adopted tasks: {', '.join(tasks) or 'none'}"
                    ) from exc
                continue
            break
        if reply:
            wait = replace(wait, throttle=None)  # RunTask answered: the streak ended
            started = [str(t["taskArn"]) for t in reply.get("tasks", [])]
            tasks.extend(arn for arn in started if arn not in tasks)
            log.info("RunTask answered", extra={"fields": {"started": started, "failures": reply.get("failures", [])}})
            failures = list(reply.get("failures", []))
            fatal = [f for f in failures if not is_capacity_failure(str(f.get("reason", "")))]
            if fatal:
                raise ProviderError(self._run_task_failed(request, wait.cluster, fatal, tasks))
            if failures or len(tasks) < count:
                first = failures[0] if failures else {"reason": "fewer tasks than Count were started"}
                return self._retry_later(replace(wait, tasks=tuple(tasks)), attempt, self._describe_failure(first))
        running = replace(
            wait,
            phase=Phase.RUNNING,
            tasks=tuple(tasks),
            running_since=self._clock.now(),
            params={},
            retry_at=0.0,
            pace=self._pace(wait),
        )
        return InProgress(running.to_state(), interval=self.schedule.first(running.pace, self._rng))

    def _retry_later(self, wait: WaitState, attempt: int, last: str) -> InProgress:
        delay = min(MAX_BACKOFF_S, 2.0**attempt)
        log.warning(
            "no capacity to place the task yet; retrying",
            extra={"fields": {"failure": last, "retry_in_s": delay, "attempt": attempt + 1}},
        )
        retry = replace(wait, attempt=attempt + 1, retry_at=self._clock.now() + delay, last_failure=last)
        return InProgress(retry.to_state(), interval=delay)

    def _run_task_error(self, exc: Exception, wait: WaitState, attempt: int) -> list[str] | InProgress:
        """A RunTask error: the tasks a conflicting token started, a capacity retry, or ProviderError."""
        self._raise_cluster_problem(exc, wait.cluster)
        error = aws_error(exc)
        if error is None:
            raise exc
        code, message = error.code, error.message or str(exc)
        if code == "AccessDeniedException":
            raise ProviderError(
                f"RunTask was denied: {message} (the function's role needs ecs:RunTask on the "
                "cluster and iam:PassRole for the task's roles)"
            ) from exc
        if code == "ConflictException":
            # botocore's ECS model: "The resourceIds are the existing task ARNs which are already
            # associated with the clientToken" (RunTask, ConflictException).
            response: Mapping[str, Any] = getattr(exc, "response", {})
            arns = [str(arn) for arn in response.get("resourceIds") or [] if isinstance(arn, str) and arn]
            if not arns:
                raise ProviderError(
                    f"RunTask answered ConflictException without the tasks it names: {message}"
                ) from exc
            log.info(
                "adopting the tasks this request's clientToken already started",
                extra={"fields": {"tasks": arns, "attempt": attempt}},
            )
            return arns
        if code == "ClientException" and is_capacity_error_message(message):
            # RunTask documentation: with managed scaling, a full quota of PROVISIONING tasks
            # per cluster is a ClientException; more capacity later cures it.
            return self._retry_later(wait, attempt, f"{code}: {message}")
        if code in ("ClientException", "InvalidParameterException"):
            raise ProviderError(f"RunTask rejected the task: {code}: {message}") from exc
        raise exc

    @staticmethod
    def _describe_failure(failure: Mapping[str, Any]) -> str:
        text = str(failure.get("reason", "unknown reason"))
        if failure.get("detail"):
            text += f" ({failure['detail']})"
        if failure.get("arn"):
            text += f" on {failure['arn']}"
        return text

    def _run_task_failed(
        self, request: Request, cluster: str, failures: Sequence[Mapping[str, Any]], started: Sequence[str]
    ) -> str:
        described = "; ".join(self._describe_failure(f) for f in failures)
        reason = f"RunTask failed: {described}"
        if started:
            reason += "; " + self._stop_tasks(request, cluster, list(started))
        return reason

    @staticmethod
    def _stopped_by_us(request: Request) -> str:
        """How the stop reason of a task this request stopped begins."""
        return f"cfnkit: stack {request.stack_name} resource {request.logical_id} stopped the task"

    def _stop_tasks(self, request: Request, cluster: str, tasks: Sequence[str]) -> str:
        why = cut_utf8(
            f"{self._stopped_by_us(request)} ({request.request_type.value} did not finish in time or failed)",
            STOP_REASON_MAX,
        )
        problems = []
        for arn in tasks:
            try:
                self._stop_task(cluster, arn, why)
            except Throttled as exc:
                log.warning("StopTask stayed throttled", extra={"fields": {"task": arn, "error": str(exc)}})
                problems.append(f"could not stop {arn} ({exc.record.code} for {exc.now - exc.record.since:.0f} s)")
            except Exception as exc:
                log.exception("StopTask failed", extra={"fields": {"task": arn}})
                problems.append(f"could not stop {arn} ({error_code(exc)})")
        if problems:
            return "; ".join(problems)
        return "task stopped" if len(tasks) == 1 else f"{len(tasks)} tasks stopped"

    def _stop_task(self, cluster: str, arn: str, why: str) -> None:
        self._aws(
            "StopTask", lambda: self.ecs.stop_task(cluster=cluster, task=arn, reason=why), budget=BEST_EFFORT_RETRY_S
        )

    # -- waiting and judging ---------------------------------------------------------------

    def _check(self, request: Request, wait: WaitState) -> Outcome:
        arns = list(wait.tasks)
        try:
            # No in-place retry: a throttled poll is skipped and the pace slows (see _resumable).
            reply = self._aws(
                "DescribeTasks", lambda: self.ecs.describe_tasks(cluster=wait.cluster, tasks=arns), budget=0.0
            )
        except Exception as exc:
            self._raise_cluster_problem(exc, wait.cluster)
            raise
        wait = replace(wait, pace=self.schedule.after_success(self._pace(wait)), throttle=None)
        interval = self.schedule.interval(max(0.0, self._clock.now() - wait.running_since), wait.pace, self._rng)
        if reply.get("failures"):
            if self._clock.now() - wait.running_since < MISSING_GRACE_S:
                # ECS is eventually consistent: a task just started may not be described yet.
                log.info("DescribeTasks does not know the task yet", extra={"fields": {"failures": reply["failures"]}})
                return InProgress(wait.to_state(), interval=interval)
            described = "; ".join(self._describe_failure(f) for f in reply["failures"])
            raise ProviderError(f"DescribeTasks could not find the task: {described}")
        by_arn = {t["taskArn"]: t for t in reply.get("tasks", [])}
        tasks = [by_arn[a] for a in arns if a in by_arn]
        if len(tasks) < len(arns) or any(t.get("lastStatus") != "STOPPED" for t in tasks):
            return InProgress(wait.to_state(), interval=interval)
        return self._judge(request, wait, tasks)

    def _judge(self, request: Request, wait: WaitState, tasks: Sequence[Mapping[str, Any]]) -> Result:
        essential = set(wait.essential)
        success_codes = set(request.properties.get("SuccessExitCodes") or [0])
        failures: list[tuple[Mapping[str, Any], str, str]] = []  # (task, container, what happened)
        for task in tasks:
            reported = {str(c.get("name")): c for c in task.get("containers", [])}
            log.info(
                "task stopped",
                extra={
                    "fields": {
                        "task": task["taskArn"],
                        "stop_code": task.get("stopCode"),
                        "stopped_reason": task.get("stoppedReason"),
                        "exit_codes": {name: c.get("exitCode") for name, c in reported.items()},
                    }
                },
            )
            for name, container in reported.items():
                if name not in essential:
                    log.info(
                        "non-essential container stopped",
                        extra={
                            "fields": {
                                "task": task["taskArn"],
                                "container": name,
                                "exit_code": container.get("exitCode"),
                                "reason": container.get("reason"),
                            }
                        },
                    )
            if str(task.get("stoppedReason") or "").startswith(self._stopped_by_us(request)[:STOP_REASON_MAX]):
                # Another invocation of this request (a duplicate delivery) reached the deadline,
                # stopped the task and answered FAILED: whatever the exit code, answer the same.
                failures.append(
                    (
                        task,
                        wait.essential[0] if wait.essential else "-",
                        "was stopped by cfnkit: another invocation of this request reached its deadline "
                        f"(stoppedReason: {task.get('stoppedReason')})",
                    )
                )
                continue
            for name in wait.essential:
                container = reported.get(name)
                if container is None:
                    failures.append((task, name, self._no_exit(task, None)))
                    continue
                code = container.get("exitCode")
                if code is None:
                    failures.append((task, name, self._no_exit(task, container)))
                elif code not in success_codes:
                    codes = ", ".join(str(c) for c in sorted(success_codes))
                    failures.append((task, name, f"exited with code {code} (SuccessExitCodes: {codes})"))
        if failures:
            raise ProviderError(self._failure_reason(request, wait, tasks, failures))
        return Result(data=self._attributes(wait, tasks))

    @staticmethod
    def _no_exit(task: Mapping[str, Any], container: Mapping[str, Any] | None) -> str:
        parts = [f"stopCode {task.get('stopCode') or 'none'}", f"stoppedReason: {task.get('stoppedReason') or 'none'}"]
        if container is None:
            return "was not reported by ECS (no exit code); " + "; ".join(parts)
        if container.get("reason"):
            parts.append(f"container reason: {container['reason']}")
        return "has no exit code; " + "; ".join(parts)

    def _attributes(self, wait: WaitState, tasks: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        first = tasks[0]
        essential = wait.essential
        exit_code, stream = "", ""
        if essential:
            name = essential[0]
            for container in first.get("containers", []):
                if container.get("name") == name and container.get("exitCode") is not None:
                    exit_code = str(container["exitCode"])
            config = wait.logs.get(name)
            if config is not None:
                stream = config.stream(name, first["taskArn"])
        return {
            "TaskArn": str(first["taskArn"]),
            "TaskArns": ",".join(str(t["taskArn"]) for t in tasks),
            "ExitCode": exit_code,
            "StoppedReason": str(first.get("stoppedReason") or ""),
            "LogStreamName": stream,
        }

    def _failure_reason(
        self,
        request: Request,
        wait: WaitState,
        tasks: Sequence[Mapping[str, Any]],
        failures: Sequence[tuple[Mapping[str, Any], str, str]],
    ) -> str:
        task, container, what = failures[0]
        position = [t["taskArn"] for t in tasks].index(task["taskArn"]) + 1
        count = f" ({position} of {len(tasks)})" if len(tasks) > 1 else ""
        head = f"Task {task['taskArn']}{count}: essential container {container} {what}"
        others = [f"task {task_id(str(t['taskArn']))} container {c} {w.split(';')[0]}" for t, c, w in failures[1:]]
        if others:
            head += f". Also failed: {'; '.join(others)}"
        head = cut_utf8(head, REASON_BUDGET_BYTES // 2)
        budget = REASON_BUDGET_BYTES - len(head.encode()) - 2
        tail = self._log_tail(request, wait.logs.get(container), task, container, budget)
        return f"{head}. {tail}" if tail else head

    def _log_tail(
        self, request: Request, where: LogConfig | None, task: Mapping[str, Any], container: str, budget: int
    ) -> str:
        lines = int(request.properties.get("LogTailLines", 20))
        if lines <= 0:
            return ""
        if where is None:
            return (
                "Logs: unavailable (the container has no awslogs log driver with awslogs-group and "
                "awslogs-stream-prefix)"
            )
        stream = where.stream(container, str(task["taskArn"]))
        try:
            reply = self._aws(
                "GetLogEvents",
                lambda: self._logs_client(where.region).get_log_events(
                    logGroupName=where.group, logStreamName=stream, startFromHead=False, limit=lines
                ),
                budget=BEST_EFFORT_RETRY_S,
            )
        except Throttled as exc:
            log.warning(
                "the container's log stayed throttled",
                extra={"fields": {"group": where.group, "stream": stream, "error": str(exc)}},
            )
            return (
                f"Logs: could not read {where.group} {stream} ({exc.record.code} for "
                f"{exc.now - exc.record.since:.0f} s)"
            )
        except Exception as exc:
            log.warning(
                "could not read the container's log",
                extra={"fields": {"group": where.group, "stream": stream, "error": error_code(exc)}},
            )
            return f"Logs: could not read {where.group} {stream} ({error_code(exc)})"
        events = reply.get("events", [])
        messages = [cut_utf8(str(e.get("message", "")).rstrip("\n"), MAX_LOG_LINE_BYTES) for e in events]
        if not messages:
            return f"Logs: {where.group} {stream} has no events"
        label = f"Last {{n}} log lines ({where.group} {stream}): "
        kept: list[str] = []
        for message in reversed(messages):  # keep the newest lines that fit
            candidate = [message, *kept]
            text = label.format(n=len(candidate)) + " | ".join(candidate)
            if len(text.encode()) > budget:
                break
            kept = candidate
        if not kept:
            return f"Logs: {where.group} {stream} (lines too long to include)"
        return label.format(n=len(kept)) + " | ".join(kept)
