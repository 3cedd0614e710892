"""Real AWS: deploy template.yaml and a consumer stack with the SAM CLI, check the outcomes, delete everything.

Opt-in (CFNKIT_AWS_TESTS=1), never in CI; docs/contributing.md ("The real-AWS smoke suite")
gives its cost and the permissions it needs. It has not yet run against a real account.
One module-scoped deployment: a secret with a random value, the cfnkit stack (built with
`sam build`, deployed with the deploy docs' parameters scoped to this run), then consumer
stacks (tests/aws/consumer.yaml). Everything created is deleted at the end, consumer
stacks first, even when a step fails.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.aws.smoke import (
    IMAGE_ENV,
    Account,
    Cleanup,
    Names,
    deploy_parameters,
    secret_leaks,
    sha256,
    subprocess_runner,
)

pytestmark = [pytest.mark.aws]


@dataclass
class Deployment:
    account: Account
    names: Names
    password: str
    parameters: list[str]


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    account = Account(subprocess_runner, region)
    names = Names.new()
    password = secrets.token_urlsafe(24)
    cleanup = Cleanup()
    try:
        account_id = account.account_id()
        subnets = ",".join(account.default_subnets())
        account.create_secret(names.secret_name, {"MYSQL_PASSWORD": password, "SECRET_KEY": secrets.token_hex(16)})
        cleanup.add(f"secret {names.secret_name}", lambda: account.delete_secret(names.secret_name))
        account.sam_build()
        cleanup.add(f"stack {names.cfnkit_stack}", lambda: account.delete_stack(names.cfnkit_stack))
        account.sam_deploy(
            names.cfnkit_stack, "template.yaml", deploy_parameters(names, region, account_id), built=True
        )
        consumer = [
            f"CfnkitStackName={names.cfnkit_stack}",
            f"SecretId={names.secret_name}",
            f"SecretSha256={sha256(password)}",
            f"Subnets={subnets}",
        ]
        if os.environ.get(IMAGE_ENV):
            consumer.append(f"Image={os.environ[IMAGE_ENV]}")
        yield Deployment(account, names, password, consumer)
    finally:
        problems = cleanup.run()
        assert not problems, "clean-up left resources behind:\n" + "\n".join(problems)


def deploy_consumer(deployment: Deployment, case: str, exit_code: int, cleanup: Cleanup) -> str:
    stack = deployment.names.consumer_stack(case)
    cleanup.add(f"stack {stack}", lambda: deployment.account.delete_stack(stack))
    deployment.account.sam_deploy(stack, "tests/aws/consumer.yaml", [*deployment.parameters, f"ExitCode={exit_code}"])
    return stack


@pytest.fixture
def consumers() -> Iterator[Cleanup]:
    """Consumer stacks of one test, deleted before the module's cfnkit stack."""
    cleanup = Cleanup()
    try:
        yield cleanup
    finally:
        problems = cleanup.run()
        assert not problems, "\n".join(problems)


def test_migration_succeeds_with_the_secret_attribute_and_noecho(deployment: Deployment, consumers: Cleanup) -> None:
    stack = deploy_consumer(deployment, "ok", 0, consumers)
    outputs = deployment.account.outputs(stack)
    # The task exits 0 only when MYSQL_PASSWORD (from !GetAtt Secrets.MYSQL_PASSWORD) has the right SHA-256.
    assert outputs["ExitCode"] == "0"
    assert outputs["TaskArn"].startswith("arn:aws:ecs:")
    assert outputs["MaskedSecret"] == "****"  # NoEcho masks the attribute outside the stack


def test_failed_migration_rolls_back_with_exit_code_and_log_tail(deployment: Deployment, consumers: Cleanup) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        deploy_consumer(deployment, "fail", 1, consumers)
    reasons = deployment.account.failure_reasons(deployment.names.consumer_stack("fail"))
    [reason] = [r for r in reasons if "essential container migrate exited with code 1" in r]
    assert "migration step done, exiting 1" in reason  # the container's log tail


def test_no_secret_value_reaches_the_functions_logs(deployment: Deployment) -> None:
    account, stack = deployment.account, deployment.names.cfnkit_stack
    messages = []
    for output in ("EcsTaskRunnerLogGroupName", "SecretsResolverLogGroupName"):
        messages += account.log_messages(account.outputs(stack)[output])
    assert messages, "the functions wrote no logs: the leak check would prove nothing"
    assert secret_leaks(messages, [deployment.password]) == []
