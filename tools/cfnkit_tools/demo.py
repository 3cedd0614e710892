"""`cfnkit demo`: the todobackend example's two custom resources through a whole lifecycle, locally.

Everything runs through the path `cfnkit invoke` uses: events made by `cfnkit event`'s code
from examples/todobackend/stack.yaml, the real handlers of functions/ (app.handler) in child
processes with the layer's code, the real sender PUTting to a local response server, and the
core's continuation followed from one invocation to the next. AWS is an embedded moto
server. moto runs no containers, so the demo plays the ECS agent (cfnkit_tools.ecs_agent):
it stops each task after a delay with the exit code the step calls for and writes the
container's log lines to moto's CloudWatch Logs.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .agent_player import AgentPlayer, AgentScript
from .awsenv import MotoAws
from .cfn_yaml import TemplateError
from .events import ConsumerStack
from .functions import FunctionSpec, read_function
from .invoke import format_response
from .local import Invocation, LocalLambda, Progress
from .term import Term

STACK = Path("examples/todobackend/stack.yaml")
TEMPLATE = Path("template.yaml")
STACK_NAME = "todobackend"
#: Short enough that an 8-second migration outlives one invocation (the core then hands
#: off when less than 25% of the invocation's time is left).
DEFAULT_RUNNER_TIMEOUT_S = 6.0
#: Say something at least this often while a step runs.
HEARTBEAT_S = 2.0
SECRET_VALUE = {"MYSQL_PASSWORD": "demo-not-a-real-password-7Qx2", "SECRET_KEY": "demo-django-secret-key-4Hk9"}
#: GetAtt values a deploy would know; the demo states them.
DEPLOY_VALUES = {
    "TaskExecutionRole.Arn": "arn:aws:iam::123456789012:role/todobackend-TaskExecutionRole",
    "ApplicationTaskRole.Arn": "arn:aws:iam::123456789012:role/todobackend-ApplicationTaskRole",
    "ApplicationDatabase.Endpoint.Address": "todobackend-db.demo.us-east-1.rds.amazonaws.com",
}


def migration(seconds: float, exit_code: int, *lines: str) -> AgentScript:
    """What the emulated ECS agent does with the step's migrate task."""
    return AgentScript(seconds, {"migrate": exit_code}, {"migrate": lines})


@dataclass(frozen=True)
class Step:
    title: str
    logical_id: str
    request_type: str
    function: str
    expected: str
    image_tag: str = "v1"
    migration: AgentScript | None = None
    #: Every fragment must appear in the Reason (FAILED) or the step is unexpected.
    reason_has: tuple[str, ...] = ()
    min_invocations: int = 1


@dataclass
class Outcome:
    step: Step
    invocation: Invocation
    ok: bool
    problems: list[str] = field(default_factory=list)


STEPS = (
    Step(
        "Secrets Create: resolve the database password (NoEcho)",
        "Secrets",
        "Create",
        "SecretsResolverFunction",
        "SUCCESS",
    ),
    Step(
        "MigrateTask Create: the migration runs 6.5 s, longer than the runner's 6 s Lambda timeout allows",
        "MigrateTask",
        "Create",
        "EcsTaskRunnerFunction",
        "SUCCESS",
        migration=migration(
            6.5,
            0,
            "Operations to perform:",
            "  Apply all migrations: admin, auth, contenttypes, sessions, todo",
            "Running migrations:",
            "  Applying todo.0001_initial... OK",
        ),
        min_invocations=2,
    ),
    Step(
        "MigrateTask Update to v2: the migration fails",
        "MigrateTask",
        "Update",
        "EcsTaskRunnerFunction",
        "FAILED",
        image_tag="v2",
        migration=migration(
            2.0,
            1,
            "Running migrations:",
            "  Applying todo.0002_todoitem_due_date...",
            "django.db.utils.OperationalError: (1054, \"Unknown column 'due_date' in 'field list'\")",
        ),
        reason_has=("exited with code 1", "Unknown column 'due_date'"),
    ),
    Step(
        "MigrateTask Update to v3: the fixed migration succeeds",
        "MigrateTask",
        "Update",
        "EcsTaskRunnerFunction",
        "SUCCESS",
        image_tag="v3",
        migration=migration(
            2.0,
            0,
            "Running migrations:",
            "  Applying todo.0002_todoitem_due_date... OK",
        ),
    ),
    Step(
        "MigrateTask Delete: Delete is not in RunOn, so no task runs",
        "MigrateTask",
        "Delete",
        "EcsTaskRunnerFunction",
        "SUCCESS",
        image_tag="v3",
    ),
    Step("Secrets Delete: nothing to clean up", "Secrets", "Delete", "SecretsResolverFunction", "SUCCESS"),
)


_TASK_ARN = re.compile(r"(?:[Tt]ask )?arn:aws:ecs:[^:\s]+:\d+:task/[^/\s]+/([0-9a-f]{8})[0-9a-f-]*")


def short_reason(reason: str, width: int = 100) -> str:
    """A Reason for the timeline: task ARNs shortened to their id's head, cut to width."""
    text = _TASK_ARN.sub(lambda m: f"task {m.group(1)}", reason)
    return text if len(text) <= width else text[: width - 3] + "..."


def find_root(start: Path | None = None) -> Path:
    """The repository: the nearest folder (from start, then this package's) holding both templates."""
    candidates = [start] if start else [Path.cwd(), Path(__file__).resolve().parents[2]]
    for candidate in candidates:
        for folder in (candidate, *candidate.parents):
            if (folder / TEMPLATE).is_file() and (folder / STACK).is_file():
                return folder
    raise TemplateError(f"cannot find {TEMPLATE} and {STACK}: run the demo inside the cfnkit repository or pass --root")


class Demo:
    def __init__(
        self,
        root: Path,
        out: TextIO,
        err: TextIO | None,
        runner_timeout: float,
        steps: Sequence[Step] = STEPS,
        show_secrets: bool = False,
    ) -> None:
        self.root = root
        self.steps = tuple(steps)
        self.out = out
        self.err = err
        self.runner_timeout = runner_timeout
        self.show_secrets = show_secrets
        self.started = time.monotonic()
        self.step_started = self.started
        self._lock = threading.Lock()
        self._last_said = self.started
        self._hops_started = 0
        self.values: dict[str, str] = {"AWS::StackName": STACK_NAME, **DEPLOY_VALUES}
        self.physical_ids: dict[str, str] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        self.task_definitions: dict[str, str] = {}

    def say(self, text: str) -> None:
        with self._lock:
            self._last_said = time.monotonic()
            print(f"  [{self._last_said - self.step_started:5.1f}s] {text}", file=self.out, flush=True)

    def _heartbeat(self, done: threading.Event) -> None:
        """Live progress: a line every HEARTBEAT_S while nothing else was said."""
        while not done.wait(0.25):
            if time.monotonic() - self._last_said >= HEARTBEAT_S:
                self.say(f"... waiting (invocation {self._hops_started} running)")

    # -- seeding ----------------------------------------------------------------

    def seed(self, aws: MotoAws) -> list[str]:
        stack = ConsumerStack.load(self.root / STACK, self.values)
        resolve = stack.resolver.resolve
        resources = stack.template["Resources"]
        cluster = resolve(resources["ApplicationCluster"]["Properties"]["ClusterName"])
        log_group = resolve(resources["ApplicationLogGroup"]["Properties"]["LogGroupName"])
        secret_id = stack.resolver.parameter("SecretId")
        ec2 = aws.client("ec2")
        subnets = [
            s["SubnetId"]
            for s in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
        ][:2]
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        group = ec2.create_security_group(
            GroupName=f"{STACK_NAME}-application", Description="todobackend tasks", VpcId=vpc
        )["GroupId"]
        aws.seed(
            {
                "clusters": [cluster],
                "secrets": [{"Name": secret_id, "SecretString": SECRET_VALUE}],
                "log_groups": [log_group],
            }
        )
        self.values.update({"Subnets": ",".join(subnets), "ApplicationSecurityGroup": group})
        for export in ("EcsTaskRunner", "SecretsResolver"):  # what the cfnkit stack exports
            name = f"{stack.resolver.parameter('CfnkitStackName')}-{export}"
            self.values[name] = f"arn:aws:lambda:{aws.region}:{aws.account}:function:{name}"
        for tag in ("v1", "v2", "v3"):
            self.task_definitions[tag] = self._register(aws, tag)
        return [
            f"cluster {cluster}",
            f"task definition {', '.join(a.rsplit('/', 1)[-1] for a in self.task_definitions.values())} "
            f"(images :v1, :v2, :v3; awslogs to {log_group}, prefix migrate)",
            f"secret {secret_id} ({', '.join(SECRET_VALUE)})",
            f"log group {log_group}",
            f"default VPC subnets {', '.join(subnets)} and security group {group}",
        ]

    def _register(self, aws: MotoAws, tag: str) -> str:
        from cfnkit.awsparams import api_params

        stack = ConsumerStack.load(self.root / STACK, {**self.values, "ApplicationImageTag": tag})
        props = stack.resolver.resolve(stack.template["Resources"]["MigrateTaskDefinition"]["Properties"])
        params = api_params("ecs", "RegisterTaskDefinition", props)
        for container in params["containerDefinitions"]:
            # moto's RunTask sums container memory and fails on a Fargate definition that
            # sets memory only at task level; ECS itself does not need this.
            if container.get("memory") is None and container.get("memoryReservation") is None:
                container["memory"] = int(params["memory"])
        arn: str = aws.client("ecs").register_task_definition(**params)["taskDefinition"]["taskDefinitionArn"]
        return arn

    # -- steps -----------------------------------------------------------------------

    def event(self, step: Step) -> dict[str, Any]:
        values = {
            **self.values,
            "ApplicationImageTag": step.image_tag,
            "MigrateTaskDefinition": self.task_definitions[step.image_tag],
        }
        stack = ConsumerStack.load(self.root / STACK, values)
        event = stack.event(
            step.request_type,
            step.logical_id,
            physical_id=self.physical_ids.get(step.logical_id),
            old_properties=self.properties.get(step.logical_id) if step.request_type == "Update" else None,
        )
        if stack.placeholders_in(event):
            raise TemplateError(f"the demo left placeholders in {step.logical_id}: {stack.placeholders_in(event)}")
        return event

    def run_step(
        self, number: int, step: Step, specs: Mapping[str, FunctionSpec], aws: MotoAws, agent: AgentPlayer
    ) -> Outcome:
        spec = specs[step.function]
        timeout = self.runner_timeout if step.function == "EcsTaskRunnerFunction" else None
        runner = LocalLambda(spec, aws, timeout=timeout, on_progress=self._progress)
        print(f"\n[{number}/{len(self.steps)}] {step.title}", file=self.out)
        print(
            f"  {step.request_type} {step.logical_id} -> {spec.logical_id} ({spec.handler}, "
            f"Lambda timeout {runner.timeout:g} s)",
            file=self.out,
            flush=True,
        )
        event = self.event(step)
        agent.script = step.migration
        self.step_started = self._last_said = time.monotonic()
        self._hops_started = 0
        done = threading.Event()
        ticker = threading.Thread(target=self._heartbeat, args=(done,), daemon=True, name="demo-heartbeat")
        ticker.start()
        try:
            invocation = runner.invoke(event)
        finally:
            done.set()
            ticker.join()
        agent.script = None
        body = invocation.response or {}
        if invocation.status == "SUCCESS" and step.request_type != "Delete":
            self.physical_ids[step.logical_id] = str(body.get("PhysicalResourceId"))
        if step.request_type != "Delete" and invocation.status == "SUCCESS":
            self.properties[step.logical_id] = dict(event["ResourceProperties"])
        problems = []
        if invocation.status != step.expected:
            problems.append(f"expected {step.expected}, got {invocation.status or 'no response'}")
        reason = str(body.get("Reason") or "")
        problems.extend(f"Reason lacks {fragment!r}" for fragment in step.reason_has if fragment not in reason)
        if len(invocation.hops) < step.min_invocations:
            problems.append(f"expected at least {step.min_invocations} invocations, got {len(invocation.hops)}")
        for line in format_response(invocation.response, self.show_secrets):
            print(f"  {line}", file=self.out)
        verdict = "as expected" if not problems else "NOT as expected: " + "; ".join(problems)
        print(
            f"  => {invocation.status or 'no response'} after {invocation.seconds:.1f} s in "
            f"{len(invocation.hops)} invocation(s): {verdict}",
            file=self.out,
            flush=True,
        )
        return Outcome(step, invocation, not problems, problems)

    def _progress(self, progress: Progress) -> None:
        if progress.kind == "log":
            if self.err is not None:
                print(progress.detail, file=self.err, flush=True)
            return
        if progress.kind == "hop-start":
            self._hops_started = progress.hop + 1
            self.say(f"invocation {progress.hop + 1} started (child process)")
        else:
            self.say(f"invocation {progress.hop + 1}: {progress.detail}")

    # -- the whole run ------------------------------------------------------------------

    def run(self) -> int:
        specs = {
            name: read_function(self.root / TEMPLATE, name)
            for name in ("SecretsResolverFunction", "EcsTaskRunnerFunction")
        }
        print(
            "cfnkit demo: the todobackend example's custom resources (examples/todobackend/stack.yaml) "
            "through Create, a failing Update, a good Update and Delete.",
            file=self.out,
        )
        outcomes: list[Outcome] = []
        with MotoAws() as aws, aws.in_this_process():
            seeded = self.seed(aws)
            print(f"  AWS: an embedded moto server at {aws.endpoint}; no real AWS account is used.", file=self.out)
            print(
                "  ECS: moto runs no containers. This demo plays the ECS agent: it stops each task after a delay "
                "with the exit code the step calls for, and writes the container's log lines to moto's "
                "CloudWatch Logs.",
                file=self.out,
            )
            print(
                "  Lambda: each invocation is a child process running the real app.handler from functions/ "
                "with the core layer; responses are PUT by cfnkit's sender to a local server on 127.0.0.1; "
                f"the runner's timeout is {self.runner_timeout:g} s so a long task continues in a new invocation.",
                file=self.out,
            )
            print(
                "  Events: made from the stack by `cfnkit event`'s code (stack name todobackend); "
                "seeded in moto from the same stack:",
                file=self.out,
            )
            for line in seeded:
                print(f"    - {line}", file=self.out)
            self.out.flush()
            with AgentPlayer(self.say, STACK_NAME) as agent:
                for number, step in enumerate(self.steps, 1):
                    outcomes.append(self.run_step(number, step, specs, aws, agent))
                if agent.errors:
                    print(f"ECS agent errors: {'; '.join(agent.errors)}", file=self.out)
        return self.summary(outcomes)

    def summary(self, outcomes: list[Outcome]) -> int:
        total = time.monotonic() - self.started
        print("\nTimeline", file=self.out)
        rows = [("step", "request", "expected", "got", "time", "calls", "reason")]
        for number, outcome in enumerate(outcomes, 1):
            body = outcome.invocation.response or {}
            reason = str(body.get("Reason") or "-")
            rows.append(
                (
                    str(number),
                    f"{outcome.step.logical_id} {outcome.step.request_type}",
                    outcome.step.expected,
                    (outcome.invocation.status or "none") + ("" if outcome.ok else " (!)"),
                    f"{outcome.invocation.seconds:.1f}s",
                    str(len(outcome.invocation.hops)),
                    short_reason(reason),
                )
            )
        # Aligned; on a terminal the header is bold and the outcome column green or red.
        Term(self.out).table(rows, header=True, styles={3: "status"})
        failed = [o for o in outcomes if not o.ok]
        if failed:
            print(f"\n{len(failed)} of {len(outcomes)} steps did NOT end as expected ({total:.1f} s).", file=self.out)
            return 1
        print(f"\nAll {len(outcomes)} steps ended as expected in {total:.1f} s.", file=self.out)
        return 0


def run_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    root = find_root(Path(args.root).resolve() if args.root else None)
    timeout = args.timeout if args.timeout is not None else DEFAULT_RUNNER_TIMEOUT_S
    if timeout <= 0:
        raise TemplateError("--timeout must be a positive number of seconds")
    try:
        return Demo(root, out, err if args.logs else None, timeout, show_secrets=args.show_secrets).run()
    except TemplateError:
        raise
    except Exception as exc:  # moto, the example stack or a provider changed under the demo
        print(f"\ncfnkit demo could not run to its end: {type(exc).__name__}: {exc}", file=out)
        return 1
