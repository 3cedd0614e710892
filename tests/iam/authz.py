"""IAM authorization of the providers' AWS calls against template.yaml, offline.

moto enforces no IAM. This module records every call the providers make (botocore's
`before-parameter-build` and `after-call` events), maps each call to what IAM authorizes
(action, resource ARN or "*", condition keys) with the source of each mapping, and
evaluates that against the role policies of template.yaml resolved with the parameters
the deploy docs tell an operator to set. A denied call names the statement that came
closest; a call the table does not know is an error too, so the table stays complete.

Attribution: a call belongs to a role when the innermost project frame that made it is a
provider module (functions/<name>/) or the core's handler running that provider; calls
made by tests and tools (setting up moto) are not recorded.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
#: Which role runs which code (template.yaml: a function's Role).
ROLE_OF_CODE = {
    ROOT / "functions" / "ecs_task_runner": "EcsTaskRunnerRole",
    ROOT / "functions" / "secrets_resolver": "SecretsResolverRole",
}
CORE = ROOT / "layers" / "core" / "cfnkit"
#: The running venv, wherever it is (CI's .venv-py313 is inside the repository): its packages
#: (botocore's own frames) are neither a test nor a tool.
VENV = Path(sys.prefix).resolve()
#: The deploy docs' parameters (docs/deploy.md, "Deploy"), for a stack named `stack` that
#: runs tasks on cluster `cluster` from task definition family `<stack>-migrate`.
DEPLOY_DOC_PARAMETERS = {
    "AllowedClusterArns": "arn:aws:ecs:{region}:{account}:cluster/{stack}",
    "AllowedTaskDefinitionArns": "arn:aws:ecs:{region}:{account}:task-definition/{stack}-migrate:*",
    "AllowedTaskRoleArns": "arn:aws:iam::{account}:role/{stack}-*",
    "AllowedTaskLogStreamArns": "arn:aws:logs:{region}:{account}:log-group:/{stack}/ecs/*:log-stream:*",
    "AllowedSecretPrefix": "{stack}/",
}


# -- recording ------------------------------------------------------------------------------


@dataclass
class Call:
    """One AWS API call a provider made: as sent, and (when it returned) what came back."""

    role: str
    service: str
    operation: str
    params: dict[str, Any]
    region: str
    response: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"


def _role_of_frames() -> str | None:
    """The role whose code made the call in progress, or None for tests' and tools' own calls."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        for code, role in ROLE_OF_CODE.items():
            if path.is_relative_to(code):
                return role
        if path.is_relative_to(CORE):
            provider = getattr(frame.f_locals.get("self"), "provider", None)
            module = sys.modules.get(type(provider).__module__)
            source = Path(getattr(module, "__file__", "") or "")
            for code, role in ROLE_OF_CODE.items():
                if source.is_relative_to(code):
                    return role
        elif path.is_relative_to(ROOT) and not path.is_relative_to(ROOT / ".venv") and not path.is_relative_to(VENV):
            return None  # a test or a tool set something up
        frame = frame.f_back
    return None


@dataclass
class Recorder:
    """Records the providers' calls on every client made while it is installed (and on given clients)."""

    calls: list[Call] = field(default_factory=list)
    active: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.active or "cfnkit_iam_call" in context:  # inert, or a second registration
            return
        role = _role_of_frames()
        if role is None:
            return
        call = Call(
            role,
            model.service_model.endpoint_prefix,
            model.name,
            _plain(params),
            str(context.get("client_region") or "us-east-1"),
        )
        with self._lock:
            self.calls.append(call)
        context["cfnkit_iam_call"] = call

    def after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call = context.get("cfnkit_iam_call")
        context.pop("cfnkit_iam_call", None)
        if isinstance(call, Call):
            call.response = _plain(parsed)

    def install(self, events: Any) -> None:
        events.register("before-parameter-build", self.before, unique_id="cfnkit-iam-before")
        events.register("after-call", self.after, unique_id="cfnkit-iam-after")

    def uninstall(self, events: Any) -> None:
        events.unregister("before-parameter-build", unique_id="cfnkit-iam-before")
        events.unregister("after-call", unique_id="cfnkit-iam-after")


@contextmanager
def recording(*clients: Any) -> Iterator[Recorder]:
    """Record on every botocore session made from now on, boto3's default one and these clients.

    moto replaces boto3's default session while it is active, so the handlers also go into
    botocore's BUILTIN_HANDLERS, which every new session registers (moto's own hook is
    installed the same way). Sessions outliving the block keep an inert handler.
    """
    import boto3
    from botocore import handlers

    recorder = Recorder()
    session = boto3._get_default_session()._session
    builtin = [("before-parameter-build", recorder.before), ("after-call", recorder.after)]
    handlers.BUILTIN_HANDLERS.extend(builtin)
    emitters = [session.get_component("event_emitter"), *(c.meta.events for c in clients)]
    for events in emitters:
        recorder.install(events)
    try:
        yield recorder
    finally:
        recorder.active = False
        for entry in builtin:
            handlers.BUILTIN_HANDLERS.remove(entry)
        for events in emitters:
            recorder.uninstall(events)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return "<bytes>"
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


# -- what IAM authorizes for each call --------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One authorization IAM makes for a call."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]]


@dataclass
class World:
    """What a mapping may need beyond the call: earlier answers, and facts a test states."""

    calls: Sequence[Call]
    #: secret ARN (or name) -> the customer managed KMS key that encrypts it (absent: aws/secretsmanager).
    secret_keys: Mapping[str, str] = field(default_factory=dict)

    def task_definition(self, name: str) -> dict[str, Any] | None:
        for call in reversed(self.calls):
            if call.name == "ecs:DescribeTaskDefinition" and call.params.get("taskDefinition") == name:
                found = (call.response or {}).get("taskDefinition")
                if isinstance(found, dict):
                    return found
        return None


def _arn(call: Call, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{call.region}:{ACCOUNT}:{resource}"


def _cluster_arn(call: Call) -> str:
    cluster = str(call.params.get("cluster") or "default")
    return cluster if cluster.startswith("arn:") else _arn(call, "ecs", f"cluster/{cluster}")


def _task_arn(call: Call, task: str) -> str:
    if task.startswith("arn:"):
        return task
    return _arn(call, "ecs", f"task/{_cluster_arn(call).rsplit('/', 1)[-1]}/{task}")


def _on_cluster(call: Call) -> dict[str, tuple[str, ...]]:
    return {"ecs:cluster": (_cluster_arn(call),)}


def _list_tasks(call: Call, world: World) -> list[Check]:
    # ListTasks without containerInstance: Resource "*" with ecs:cluster in the context
    # (cdklabs/construct-hub PR #1207, awsdocs/amazon-ecs-developer-guide issue #211,
    # widdix/complete-aws-iam-reference issue #74). With containerInstance: that instance.
    instance = call.params.get("containerInstance")
    resource = (
        "*"
        if not instance
        else (
            str(instance)
            if str(instance).startswith("arn:")
            else _arn(call, "ecs", f"container-instance/{_cluster_arn(call).rsplit('/', 1)[-1]}/{instance}")
        )
    )
    return [Check("ecs:ListTasks", resource, _on_cluster(call))]


def _run_task(call: Call, world: World) -> list[Check]:
    # Service Authorization Reference, Amazon ECS: RunTask on task-definition (the revision is
    # resolved before authorization since March 2024: botocore ecs model, RunTask), with
    # ecs:cluster; tags on create need ecs:TagResource with ecs:CreateAction (ECS developer
    # guide, "Grant permission to tag resources on creation"); each role the task uses needs
    # iam:PassRole with iam:PassedToService (IAM user guide, "Grant a user permissions to pass
    # a role"; ECS developer guide, "Task IAM role").
    name = str(call.params["taskDefinition"])
    definition = world.task_definition(name) or {}
    arn = str(definition.get("taskDefinitionArn") or "")
    if not arn:
        started = (call.response or {}).get("tasks") or [{}]
        arn = str(started[0].get("taskDefinitionArn") or "")
    if not arn:
        arn = name if name.startswith("arn:") else _arn(call, "ecs", f"task-definition/{name}")
    checks = [Check("ecs:RunTask", arn, _on_cluster(call))]
    if call.params.get("tags") or call.params.get("propagateTags"):
        cluster = _cluster_arn(call).rsplit("/", 1)[-1]
        checks.append(
            Check(
                "ecs:TagResource",
                _arn(call, "ecs", f"task/{cluster}/new-task-id"),
                {"ecs:CreateAction": ("RunTask",), **_on_cluster(call)},
            )
        )
    overrides = call.params.get("overrides") or {}
    roles = {
        definition.get("taskRoleArn"),
        definition.get("executionRoleArn"),
        overrides.get("taskRoleArn"),
        overrides.get("executionRoleArn"),
    }
    for role in sorted(str(r) for r in roles if r):
        checks.append(Check("iam:PassRole", role, {"iam:PassedToService": ("ecs-tasks.amazonaws.com",)}))
    return checks


def _describe_tasks(call: Call, world: World) -> list[Check]:
    # Service Authorization Reference, Amazon ECS: DescribeTasks on task, with ecs:cluster.
    return [Check("ecs:DescribeTasks", _task_arn(call, str(t)), _on_cluster(call)) for t in call.params["tasks"]]


def _stop_task(call: Call, world: World) -> list[Check]:
    # Service Authorization Reference, Amazon ECS: StopTask on task, with ecs:cluster.
    return [Check("ecs:StopTask", _task_arn(call, str(call.params["task"])), _on_cluster(call))]


def _describe_task_definition(call: Call, world: World) -> list[Check]:
    # Service Authorization Reference, Amazon ECS: DescribeTaskDefinition has no resource
    # types (Resource "*"); aws:RequestedRegion is a global condition key of every request.
    return [Check("ecs:DescribeTaskDefinition", "*", {"aws:RequestedRegion": (call.region,)})]


def _get_log_events(call: Call, world: World) -> list[Check]:
    # Service Authorization Reference, CloudWatch Logs: GetLogEvents on log-stream
    # (arn:...:log-group:<group>:log-stream:<stream>); cfn-lint's Policies.json agrees.
    group, stream = call.params.get("logGroupName"), call.params.get("logStreamName")
    return [Check("logs:GetLogEvents", _arn(call, "logs", f"log-group:{group}:log-stream:{stream}"), {})]


def _secret_arn(call: Call) -> str:
    answer = call.response or {}
    if isinstance(answer.get("ARN"), str):
        return str(answer["ARN"])
    secret = str(call.params["SecretId"])
    # A name: the ARN adds "-" and 6 random characters (Secrets Manager user guide, "ARN").
    return secret if secret.startswith("arn:") else _arn(call, "secretsmanager", f"secret:{secret}-AbCdEf")


def _get_secret_value(call: Call, world: World) -> list[Check]:
    # Service Authorization Reference, Secrets Manager: GetSecretValue on Secret. A secret
    # encrypted with a customer managed key also needs kms:Decrypt on that key, which
    # Secrets Manager calls on the caller's behalf (kms:ViaService) with the secret's ARN in
    # the encryption context (Secrets Manager user guide, "Secret encryption and decryption").
    arn = _secret_arn(call)
    checks = [Check("secretsmanager:GetSecretValue", arn, {})]
    key = world.secret_keys.get(arn) or world.secret_keys.get(str(call.params["SecretId"]))
    if key:
        checks.append(
            Check(
                "kms:Decrypt",
                key,
                {
                    "kms:ViaService": (f"secretsmanager.{call.region}.amazonaws.com",),
                    "kms:EncryptionContext:SecretARN": (arn,),
                },
            )
        )
    return checks


def _describe_secret(call: Call, world: World) -> list[Check]:
    # Service Authorization Reference, Secrets Manager: DescribeSecret on Secret.
    return [Check("secretsmanager:DescribeSecret", _secret_arn(call), {})]


def _invoke(call: Call, world: World) -> list[Check]:
    # Service Authorization Reference, Lambda: Invoke is authorized as lambda:InvokeFunction
    # on the function (a qualified ARN matches the function's ARN followed by ":*").
    function = str(call.params["FunctionName"])
    arn = function if function.startswith("arn:") else _arn(call, "lambda", f"function:{function}")
    return [Check("lambda:InvokeFunction", arn, {})]


#: (service endpoint prefix, operation) -> what IAM authorizes. Every mapping cites its source.
AUTHORIZATION: dict[tuple[str, str], Callable[[Call, World], list[Check]]] = {
    ("ecs", "ListTasks"): _list_tasks,
    ("ecs", "RunTask"): _run_task,
    ("ecs", "DescribeTasks"): _describe_tasks,
    ("ecs", "StopTask"): _stop_task,
    ("ecs", "DescribeTaskDefinition"): _describe_task_definition,
    ("logs", "GetLogEvents"): _get_log_events,
    ("secretsmanager", "GetSecretValue"): _get_secret_value,
    ("secretsmanager", "DescribeSecret"): _describe_secret,
    ("lambda", "Invoke"): _invoke,
}


# -- the policies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    sid: str
    policy: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]]


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def role_policies(template: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, list[Statement]]:
    """Each role's Allow statements, the template resolved with these parameters and GetAtt values."""
    from cfnkit_tools.intrinsics import Resolver

    resolved = Resolver(template, dict(parameters)).resolve(template["Resources"])
    found: dict[str, list[Statement]] = {}

    def add(role: str, policy: str, document: Mapping[str, Any]) -> None:
        for raw in document["Statement"]:
            raw_conditions = raw.get("Condition") or {}
            conditions = {op: {k: _tuple(v) for k, v in keys.items()} for op, keys in raw_conditions.items()}
            found.setdefault(role, []).append(
                Statement(str(raw.get("Sid", "?")), policy, _tuple(raw["Action"]), _tuple(raw["Resource"]), conditions)
            )

    for logical_id, resource in resolved.items():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies") or []:
                add(logical_id, str(policy["PolicyName"]), policy["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::RolePolicy":
            role = template["Resources"][logical_id]["Properties"]["RoleName"]["Ref"]
            add(str(role), str(props["PolicyName"]), props["PolicyDocument"])
    return found


def deploy_parameters(stack: str, region: str = "us-east-1") -> dict[str, str]:
    """The parameters as docs/deploy.md tells an operator to set them, plus the deploy's GetAtt values."""
    values = {k: v.format(region=region, account=ACCOUNT, stack=stack) for k, v in DEPLOY_DOC_PARAMETERS.items()}
    logs = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/lambda"
    values.update(
        {
            "AWS::StackName": "cfnkit",
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT,
            "EcsTaskRunnerFunction.Arn": (
                f"arn:aws:lambda:{region}:{ACCOUNT}:function:cfnkit-EcsTaskRunnerFunction-AbC123"
            ),
            "EcsTaskRunnerLogGroup.Arn": f"{logs}/cfnkit-EcsTaskRunner:*",
            "SecretsResolverLogGroup.Arn": f"{logs}/cfnkit-SecretsResolver:*",
        }
    )
    return values


# -- evaluation ---------------------------------------------------------------------------------


def _like(pattern: str, value: str) -> bool:
    """IAM's wildcard match: * any run of characters, ? one character, case-sensitive, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringLike": _like,
    "ArnEquals": lambda pattern, value: pattern == value,
    "ArnLike": _like,
}


def _condition_problems(statement: Statement, context: Mapping[str, tuple[str, ...]]) -> list[str]:
    problems = []
    for operator, keys in statement.conditions.items():
        test = _OPERATORS.get(operator)
        for key, patterns in keys.items():
            values = context.get(key)
            if test is None:
                problems.append(f"condition operator {operator} is not modelled")
            elif not values:
                problems.append(f"{operator} {key} needs a value the request does not carry")
            elif not any(test(p, v) for p in patterns for v in values):
                problems.append(f"{operator} {key}: {', '.join(values)} matches none of {', '.join(patterns)}")
    return problems


def _evaluate(statement: Statement, check: Check) -> list[str]:
    """Why this statement does not allow the check (empty: it allows it)."""
    problems = []
    if not any(_like(a.lower(), check.action.lower()) for a in statement.actions):
        problems.append(f"action {check.action} is not among {', '.join(statement.actions)}")
    if not any(_like(r, check.resource) for r in statement.resources):
        problems.append(f"resource {check.resource} matches none of {', '.join(statement.resources)}")
    return problems + _condition_problems(statement, check.context)


def denials(
    calls: Sequence[Call], policies: Mapping[str, Sequence[Statement]], secret_keys: Mapping[str, str] | None = None
) -> list[str]:
    """A readable line for every call the role policies would deny or the table does not know."""
    world = World(calls, secret_keys or {})
    found: list[str] = []
    for call in calls:
        mapping = AUTHORIZATION.get((call.service, call.operation))
        if mapping is None:
            found.append(
                f"{call.role} made {call.name}, which tests/iam/authz.py AUTHORIZATION does not map: "
                "add what IAM authorizes for it, with its source"
            )
            continue
        statements = policies.get(call.role, [])
        for check in mapping(call, world):
            results = [(s, _evaluate(s, check)) for s in statements]
            if any(not problems for _, problems in results):
                continue
            where = f"{check.action} on {check.resource}"
            if check.context:
                where += " with " + ", ".join(f"{k}={'|'.join(v)}" for k, v in sorted(check.context.items()))
            if not results:
                found.append(f"{call.role} has no policy statements: {call.name} needs {where}")
                continue
            # The closest statement: the action matching first, then the fewest problems.
            closest, problems = min(
                results, key=lambda r: (not r[0].actions or any(p.startswith("action") for p in r[1]), len(r[1]))
            )
            found.append(
                f"{call.role} denies {call.name} ({where}); closest statement {closest.sid} "
                f"(policy {closest.policy}): {'; '.join(problems)}"
            )
    return found


def assert_authorized(
    calls: Sequence[Call], policies: Mapping[str, Sequence[Statement]], secret_keys: Mapping[str, str] | None = None
) -> None:
    problems = denials(calls, policies, secret_keys)
    assert not problems, "template.yaml would deny these calls in AWS:\n" + "\n".join(problems)


@contextmanager
def authorized(parameters: Mapping[str, str]) -> Iterator[Recorder]:
    """Record the providers' calls in the block; afterwards every one must be allowed."""
    from cfnkit_tools.cfn_yaml import load_template

    policies = role_policies(load_template(ROOT / "template.yaml"), parameters)
    with recording() as recorder:
        yield recorder
    assert_authorized(recorder.calls, policies)
