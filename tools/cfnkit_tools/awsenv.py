"""The AWS a local invocation talks to: an embedded moto server (default) or the real account (--aws).

Fixture file (JSON), every key optional:

    {
      "region": "us-east-1",
      "clusters": ["todobackend"],
      "task_definitions": [{"family": "todobackend-migrate", "containerDefinitions": [...]}],
      "secrets": [{"Name": "todobackend/credentials", "SecretString": {"MYSQL_PASSWORD": "..."}}],
      "log_groups": ["/todobackend/ecs/todobackend"],
      "ecs_agent": {"seconds": 2, "exit_codes": {"migrate": 1}, "logs": {"migrate": ["boom"]}}
    }

task_definitions entries are RegisterTaskDefinition input (as `aws ecs register-task-definition
--cli-input-json` takes it); a SecretString that is an object is stored JSON-encoded. ecs_agent
(used by `cfnkit invoke`): moto runs no containers, so every task started is stopped after
`seconds` with these exit codes (containers not named exit 0; null means no exit code) and
these log lines written to its awslogs stream.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import os
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .cfn_yaml import TemplateError

MOTO_ACCOUNT = "123456789012"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
#: Variables that would point a child at a real account or a profile; removed for moto.
_REAL_AWS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)
FIXTURE_KEYS = ("region", "clusters", "task_definitions", "secrets", "log_groups", "ecs_agent")


def load_fixture(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TemplateError(f"cannot read fixture {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise TemplateError(f"fixture {path} must be a JSON object")
    unknown = sorted(set(doc) - set(FIXTURE_KEYS))
    if unknown:
        guesses = [
            f"{key} (did you mean {close[0]}?)" if (close := difflib.get_close_matches(key, FIXTURE_KEYS, 1)) else key
            for key in unknown
        ]
        raise TemplateError(f"fixture {path}: unknown keys {', '.join(guesses)} (known: {', '.join(FIXTURE_KEYS)})")
    return doc


class RealAws:
    """--aws: the environment passes through untouched (the usual credential chain)."""

    account = "000000000000"
    description = "the real AWS account of your credential chain"

    def __init__(self) -> None:
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

    def child_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        return dict(base)

    def __enter__(self) -> RealAws:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class MotoAws:
    """An embedded moto server on 127.0.0.1 (a free port), reset on start and stop."""

    account = MOTO_ACCOUNT

    def __init__(self, fixture: Mapping[str, Any] | None = None) -> None:
        self.fixture = dict(fixture or {})
        self.region = str(self.fixture.get("region") or "us-east-1")
        self.endpoint = ""
        self._server: Any = None
        self._warnings: warnings.catch_warnings[None] | None = None

    @property
    def description(self) -> str:
        return f"moto at {self.endpoint} (no real AWS)"

    def __enter__(self) -> MotoAws:
        from moto.server import ThreadedMotoServer

        # The embedded server's request lines and tracebacks are noise next to the function's
        # logs; what a failed call means reaches the function as an error response anyway.
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        # moto warns (UserWarning) when an error it raises has no shape in the service model, e.g.
        # InvalidSubnetID.NotFound from ECS RunTask; the caller gets the error itself anyway.
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.filterwarnings("ignore", category=UserWarning, module=r"moto(\.|$)")
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.reset()
        self.seed(self.fixture)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self.reset()
            self._server.stop()
            self._server = None
        if self._warnings is not None:
            self._warnings.__exit__(None, None, None)
            self._warnings = None

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 - 127.0.0.1
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            reply.read()

    def child_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in base.items() if k not in _REAL_AWS and not k.startswith("AWS_ENDPOINT_URL")}
        env.update(FAKE_CREDENTIALS)
        env["AWS_ENDPOINT_URL"] = self.endpoint
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = self.region
        return env

    @contextlib.contextmanager
    def in_this_process(self) -> Iterator[None]:
        """Point this process's own boto3 clients at the moto server too (restored afterwards)."""
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.child_environment(saved))
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def subnets(self) -> list[str]:
        """moto's subnets, those of its default VPC first (what an awsvpc task can use locally)."""
        found = self.client("ec2").describe_subnets()["Subnets"]
        return [s["SubnetId"] for s in sorted(found, key=lambda s: (not s.get("DefaultForAz"), s["SubnetId"]))]

    def network_mode(self, task_definition: str) -> str | None:
        """The networkMode of a task definition moto holds (None when it has no such definition)."""
        if not task_definition:
            return None
        try:
            reply = self.client("ecs").describe_task_definition(taskDefinition=task_definition)
        except Exception:  # botocore's ClientError: not registered, so RunTask says so itself
            return None
        mode = reply["taskDefinition"].get("networkMode")
        return str(mode) if mode else None

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def seed(self, fixture: Mapping[str, Any]) -> dict[str, list[str]]:
        """Create what the fixture names; returns the ARNs/names created, by kind."""
        made: dict[str, list[str]] = {"clusters": [], "task_definitions": [], "secrets": [], "log_groups": []}
        if fixture.get("clusters"):
            ecs = self.client("ecs")
            for cluster in fixture["clusters"]:
                spec = {"clusterName": cluster} if isinstance(cluster, str) else dict(cluster)
                made["clusters"].append(ecs.create_cluster(**spec)["cluster"]["clusterArn"])
        if fixture.get("task_definitions"):
            ecs = self.client("ecs")
            for definition in fixture["task_definitions"]:
                reply = ecs.register_task_definition(**definition)
                made["task_definitions"].append(reply["taskDefinition"]["taskDefinitionArn"])
        if fixture.get("secrets"):
            secrets = self.client("secretsmanager")
            for secret in fixture["secrets"]:
                spec = dict(secret)
                if not isinstance(spec.get("SecretString", ""), str):
                    spec["SecretString"] = json.dumps(spec["SecretString"])
                made["secrets"].append(secrets.create_secret(**spec)["ARN"])
        if fixture.get("log_groups"):
            logs = self.client("logs")
            for group in fixture["log_groups"]:
                logs.create_log_group(logGroupName=group)
                made["log_groups"].append(group)
        return made
