"""The real-AWS smoke suite's plumbing: names, the deploy parameters, commands, clean-up, log scans.

Nothing here talks to AWS by itself: every AWS and SAM CLI command goes through a
`Runner` (production: `subprocess_runner`), so the ordering and error handling are unit
tested without an account (tests/aws/test_smoke_plumbing.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: Set to 1 to run tests/aws against the account and Region of the current AWS credentials.
ENABLE_ENV = "CFNKIT_AWS_TESTS"
#: Optional: a public or ECR image for the migrate task (default: busybox from ECR Public).
IMAGE_ENV = "CFNKIT_AWS_TESTS_IMAGE"
#: CloudFormation's limit for a stack name.
MAX_STACK_NAME = 128

Runner = Callable[[Sequence[str]], str]


def enabled(environ: dict[str, str] | None = None) -> bool:
    return (environ if environ is not None else dict(os.environ)).get(ENABLE_ENV, "") == "1"


def subprocess_runner(command: Sequence[str]) -> str:
    """Run one CLI command; its stdout, or CalledProcessError naming the command and stderr."""
    done = subprocess.run(
        list(command),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, list(command), done.stdout, done.stderr)
    return done.stdout


@dataclass(frozen=True)
class Names:
    """Every name one run creates, all under one run id so a run never touches another's resources."""

    run_id: str

    @classmethod
    def new(cls, now: float | None = None) -> Names:
        stamp = time.strftime("%m%d%H%M", time.gmtime(time.time() if now is None else now))
        return cls(f"{stamp}{secrets.token_hex(2)}")

    @property
    def prefix(self) -> str:
        return f"cfnkit-smoke-{self.run_id}"

    @property
    def cfnkit_stack(self) -> str:
        return self.prefix

    def consumer_stack(self, case: str) -> str:
        name = f"{self.prefix}-{case}"
        if len(name) > MAX_STACK_NAME:
            raise ValueError(f"stack name {name!r} is longer than {MAX_STACK_NAME} characters")
        return name

    @property
    def secret_name(self) -> str:
        return f"{self.prefix}/credentials"


def deploy_parameters(names: Names, region: str, account: str) -> list[str]:
    """template.yaml's parameters, scoped the way docs/deploy.md says, to this run's consumer stacks."""
    stacks = f"{names.prefix}-*"
    return [
        f"AllowedClusterArns=arn:aws:ecs:{region}:{account}:cluster/{stacks}",
        f"AllowedTaskDefinitionArns=arn:aws:ecs:{region}:{account}:task-definition/{stacks}-migrate:*",
        f"AllowedTaskRoleArns=arn:aws:iam::{account}:role/{stacks}",
        f"AllowedTaskLogStreamArns=arn:aws:logs:{region}:{account}:log-group:/{stacks}/ecs/*:log-stream:*",
        f"AllowedSecretPrefix={names.prefix}/",
        "LogLevel=DEBUG",  # the leak check is strongest at the most verbose level
    ]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def secret_leaks(messages: Iterable[str], values: Iterable[str]) -> list[str]:
    """Log lines that contain a secret value (the values themselves are never returned)."""
    wanted = [v for v in values if v]
    found = []
    for number, message in enumerate(messages, 1):
        hits = [i for i, value in enumerate(wanted) if value in message]
        if hits:
            found.append(f"log event {number} contains secret value #{hits[0] + 1}")
    return found


@dataclass
class Cleanup:
    """Deletions to run when the suite ends, however it ends: last registered first.

    Consumer stacks import the cfnkit stack's exports, and CloudFormation refuses to delete
    an export in use, so they are registered after it and deleted before it. A failing
    deletion is recorded and the others still run.
    """

    steps: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def add(self, what: str, action: Callable[[], None]) -> None:
        self.steps.append((what, action))

    def run(self) -> list[str]:
        problems = []
        while self.steps:
            what, action = self.steps.pop()
            try:
                action()
            except Exception as exc:
                problems.append(f"could not delete {what}: {type(exc).__name__}: {exc}")
        return problems


@dataclass
class Account:
    """The AWS and SAM CLI commands the suite uses, through a Runner."""

    run: Runner
    region: str

    def json(self, *command: str) -> Any:
        return json.loads(self.run([*command, "--region", self.region, "--output", "json"]) or "null")

    def account_id(self) -> str:
        return str(self.json("aws", "sts", "get-caller-identity")["Account"])

    def default_subnets(self) -> list[str]:
        reply = self.json("aws", "ec2", "describe-subnets", "--filters", "Name=default-for-az,Values=true")
        return [str(s["SubnetId"]) for s in reply["Subnets"]][:2]

    def create_secret(self, name: str, value: dict[str, str]) -> None:
        self.run(
            [
                "aws",
                "secretsmanager",
                "create-secret",
                "--region",
                self.region,
                "--name",
                name,
                "--secret-string",
                json.dumps(value),
            ]
        )

    def delete_secret(self, name: str) -> None:
        self.run(
            [
                "aws",
                "secretsmanager",
                "delete-secret",
                "--region",
                self.region,
                "--secret-id",
                name,
                "--force-delete-without-recovery",
            ]
        )

    def sam_build(self) -> None:
        self.run(["sam", "build", "--template-file", "template.yaml"])

    def sam_deploy(self, stack: str, template: str, parameters: Sequence[str], *, built: bool = False) -> None:
        command = [
            "sam",
            "deploy",
            "--stack-name",
            stack,
            "--region",
            self.region,
            "--resolve-s3",
            "--capabilities",
            "CAPABILITY_IAM",
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
            "--parameter-overrides",
            *parameters,
        ]
        if not built:
            command += ["--template-file", template]
        self.run(command)

    def delete_stack(self, stack: str) -> None:
        self.run(["sam", "delete", "--stack-name", stack, "--region", self.region, "--no-prompts"])

    def outputs(self, stack: str) -> dict[str, str]:
        reply = self.json("aws", "cloudformation", "describe-stacks", "--stack-name", stack)
        return {o["OutputKey"]: o["OutputValue"] for o in reply["Stacks"][0].get("Outputs", [])}

    def failure_reasons(self, stack: str) -> list[str]:
        reply = self.json("aws", "cloudformation", "describe-stack-events", "--stack-name", stack)
        return [
            str(e.get("ResourceStatusReason", ""))
            for e in reply["StackEvents"]
            if str(e.get("ResourceStatus", "")).endswith("_FAILED")
        ]

    def log_messages(self, group: str) -> list[str]:
        reply = self.json("aws", "logs", "filter-log-events", "--log-group-name", group)
        return [str(e.get("message", "")) for e in reply.get("events", [])]
