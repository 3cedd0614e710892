"""The smoke suite's plumbing without AWS: names, parameters, clean-up order, the leak scan, commands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.aws.smoke import MAX_STACK_NAME, Account, Cleanup, Names, deploy_parameters, enabled, secret_leaks

ROOT = Path(__file__).resolve().parents[2]


def test_the_suite_is_enabled_only_by_the_flag() -> None:
    assert enabled({"CFNKIT_AWS_TESTS": "1"})
    assert not enabled({})
    assert not enabled({"CFNKIT_AWS_TESTS": "true"})


def test_real_aws_tests_are_skipped_without_the_flag(pytestconfig: pytest.Config) -> None:
    if enabled():
        pytest.skip("the flag is set: the real tests run")
    import tests.aws.test_smoke as smoke

    assert [m.name for m in smoke.pytestmark] == ["aws"]


def test_every_run_has_its_own_names_within_limits() -> None:
    names = Names.new(now=1_767_225_600.0)
    assert names.run_id.startswith("01010000")
    assert names.cfnkit_stack == f"cfnkit-smoke-{names.run_id}"
    assert names.consumer_stack("fail") == f"cfnkit-smoke-{names.run_id}-fail"
    assert names.secret_name == f"cfnkit-smoke-{names.run_id}/credentials"
    assert Names.new().run_id != Names.new().run_id
    with pytest.raises(ValueError, match="longer than 128"):
        names.consumer_stack("x" * MAX_STACK_NAME)


def test_deploy_parameters_scope_the_roles_to_this_runs_stacks() -> None:
    parameters = dict(p.split("=", 1) for p in deploy_parameters(Names("r1"), "eu-west-1", "210987654321"))
    assert parameters == {
        "AllowedClusterArns": "arn:aws:ecs:eu-west-1:210987654321:cluster/cfnkit-smoke-r1-*",
        "AllowedTaskDefinitionArns": "arn:aws:ecs:eu-west-1:210987654321:task-definition/cfnkit-smoke-r1-*-migrate:*",
        "AllowedTaskRoleArns": "arn:aws:iam::210987654321:role/cfnkit-smoke-r1-*",
        "AllowedTaskLogStreamArns": (
            "arn:aws:logs:eu-west-1:210987654321:log-group:/cfnkit-smoke-r1-*/ecs/*:log-stream:*"
        ),
        "AllowedSecretPrefix": "cfnkit-smoke-r1/",
        "LogLevel": "DEBUG",
    }
    # Every parameter the template requires is given.
    from cfnkit_tools.cfn_yaml import load_template

    required = {k for k, v in load_template(ROOT / "template.yaml")["Parameters"].items() if "Default" not in v}
    assert required <= set(parameters)


def test_clean_up_deletes_in_reverse_order_and_survives_a_failed_deletion() -> None:
    done: list[str] = []
    cleanup = Cleanup()
    cleanup.add("secret", lambda: done.append("secret"))
    cleanup.add("stack cfnkit", lambda: done.append("cfnkit"))

    def fails() -> None:
        raise RuntimeError("DELETE_FAILED")

    cleanup.add("stack consumer-a", fails)
    cleanup.add("stack consumer-b", lambda: done.append("consumer-b"))
    assert cleanup.run() == ["could not delete stack consumer-a: RuntimeError: DELETE_FAILED"]
    assert done == ["consumer-b", "cfnkit", "secret"]
    assert cleanup.run() == []  # each step runs once


def test_the_leak_scan_names_lines_never_values() -> None:
    found = secret_leaks(["ok", "password is s3cr3t-value!", "also s3cr3t-value!"], ["s3cr3t-value!", ""])
    assert found == ["log event 2 contains secret value #1", "log event 3 contains secret value #1"]
    assert not any("s3cr3t" in line for line in found)
    assert secret_leaks(["nothing here"], [""]) == []


class Recorder:
    def __init__(self, replies: dict[str, object]) -> None:
        self.commands: list[list[str]] = []
        self.replies = replies

    def __call__(self, command: Sequence[str]) -> str:
        self.commands.append(list(command))
        key = " ".join(command[:3])
        return json.dumps(self.replies.get(key, {}))


def test_commands_name_the_region_and_never_prompt() -> None:
    run = Recorder(
        {"aws ec2 describe-subnets": {"Subnets": [{"SubnetId": "s-1"}, {"SubnetId": "s-2"}, {"SubnetId": "s-3"}]}}
    )
    account = Account(run, "eu-west-1")
    assert account.default_subnets() == ["s-1", "s-2"]
    account.sam_deploy("st", "tests/aws/consumer.yaml", ["A=1"])
    account.delete_stack("st")
    account.delete_secret("sec")
    deploy, delete, secret = run.commands[1:]
    assert deploy[:4] == ["sam", "deploy", "--stack-name", "st"]
    assert {"--no-confirm-changeset", "--resolve-s3", "CAPABILITY_IAM"} <= set(deploy)
    assert deploy[-2:] == ["--template-file", "tests/aws/consumer.yaml"]
    assert delete == ["sam", "delete", "--stack-name", "st", "--region", "eu-west-1", "--no-prompts"]
    assert secret[-1] == "--force-delete-without-recovery"
    assert all("eu-west-1" in command for command in run.commands)
