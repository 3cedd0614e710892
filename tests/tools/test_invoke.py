"""cfnkit invoke: a handler in Lambda-like child processes, its response as CloudFormation gets it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cfnkit.testing import create_event
from cfnkit_tools.awsenv import MotoAws, RealAws

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "sample" / "template.yaml"
FIXTURE = REPO / "tools" / "cfnkit_tools" / "fixtures" / "todobackend.json"


@pytest.fixture
def event_file(tmp_path: Path) -> Callable[..., Path]:
    def make(**properties: str) -> Path:
        event = create_event(properties, logical_id="Thing", resource_type="Custom::Sample",
                             response_url="https://example.invalid/never-used")
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event))
        return path

    return make


def invoke(cfnkit: Callable[..., Any], function: str, event: Path, *extra: str | Path) -> Any:
    return cfnkit("invoke", function, "--event", event, "--template", SAMPLE, *extra)


def test_success_exits_0_with_the_templates_environment(cfnkit: Callable[..., Any],
                                                         event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file())

    assert ran.code == 0, ran.out + ran.err
    assert "  Status              SUCCESS\n" in ran.out
    assert "    Greeting  hello\n" in ran.out  # Environment: !Ref Greeting (its default)
    assert "    Global    from-globals\n" in ran.out  # Globals.Function.Environment
    assert "    Memory    192\n" in ran.out  # Globals.Function.MemorySize
    assert "    Endpoint  set\n" in ran.out  # AWS_ENDPOINT_URL points at the embedded moto
    assert "invocation 1: answered" in ran.out
    assert '"message": "request received"' in ran.err  # the function's logs go to stderr


def test_failed_exits_1_with_the_exact_reason(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    event = event_file(Mode="fail")

    ran = invoke(cfnkit, "SampleFunction", event, "--json", "--quiet")

    assert ran.code == 1
    body = json.loads(ran.out[ran.out.index("{"):])
    request_id = json.loads(event.read_text())["RequestId"]
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "the sample was asked to fail"
    assert body["PhysicalResourceId"] == f"cfnkit-failed-create-{request_id}"
    assert ran.err == ""


def test_no_response_exits_2(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SilentFunction", event_file())

    assert ran.code == 2
    assert "invocation 1: returned without answering" in ran.out
    assert "CloudFormation received no response" in ran.out


def test_a_handler_that_cannot_load_exits_2_and_says_why(cfnkit: Callable[..., Any],
                                                          event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "BrokenFunction", event_file())

    assert ran.code == 2
    assert ("invocation 1: error: Runtime.ImportModuleError: cannot load missing.handler: "
            "ModuleNotFoundError: No module named 'missing'") in ran.out


def test_no_echo_values_are_masked(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(Mode="secret"))

    assert ran.code == 0
    assert "    Password  ****\n" in ran.out
    assert "NoEcho              true (values masked; --show-secrets shows them)" in ran.out
    assert "canary-s3cret" not in ran.out + ran.err


def test_no_echo_values_are_masked_in_json_too(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(Mode="secret"), "--json", "-q")

    body = json.loads(ran.out[ran.out.index("{"):])
    assert body["Data"] == {"Password": "****"}
    assert body["NoEcho"] is True


def test_show_secrets_unmasks(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(Mode="secret"), "--show-secrets", "-q")

    assert ran.code == 0
    assert "    Password  canary-s3cret\n" in ran.out


def test_a_wait_past_the_timeout_is_followed_through_continuations(cfnkit: Callable[..., Any],
                                                                   event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(Mode="wait", WaitSeconds="3"), "--timeout", "2", "-q")

    assert ran.code == 0, ran.out
    assert "invocation 1: handed the wait to invocation 2" in ran.out
    assert "    Waited  yes\n" in ran.out
    hops = [line for line in ran.out.splitlines() if "] invocation " in line]
    assert len(hops) >= 2
    assert hops[-1].endswith(": answered")
    assert all("handed the wait to invocation" in line for line in hops[:-1])


def test_the_secrets_resolver_against_a_seeded_moto(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("invoke", "SecretsResolverFunction", "--event", REPO / "events/secrets_resolver/create.json",
                 "--template", REPO / "template.yaml", "--fixture", FIXTURE)

    assert ran.code == 0, ran.out + ran.err
    assert "    MYSQL_PASSWORD  ****\n" in ran.out
    assert "fixture-password-not-real" not in ran.out + ran.err


def test_the_ecs_runner_reports_the_emulated_agents_exit_code_and_logs(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("invoke", "EcsTaskRunnerFunction", "--event", REPO / "events/ecs_task_runner/create.json",
                 "--template", REPO / "template.yaml", "--fixture", FIXTURE, "--quiet")

    assert ran.code == 1, ran.out
    assert "ECS agent (emulated): moto runs no containers" in ran.out
    reason = next(line for line in ran.out.splitlines() if line.startswith("  Reason"))
    assert "essential container migrate exited with code 1 (SuccessExitCodes: 0)" in reason
    assert "Unknown MySQL server host 'db'" in reason


def test_an_unknown_function_is_an_input_error(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "Nope", event_file())

    assert ran.code == 3
    assert ran.err.startswith("cfnkit: error: ")
    assert "its functions: BrokenFunction, SampleFunction, SilentFunction, SleepyFunction" in ran.err


def test_fixture_and_aws_together_is_an_input_error(cfnkit: Callable[..., Any],
                                                    event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(), "--aws", "--fixture", FIXTURE)

    assert ran.code == 3
    assert ran.err == "cfnkit: error: --fixture seeds the embedded moto; it cannot be used with --aws\n"


def test_aws_flag_gives_the_child_this_environment_without_moto(cfnkit: Callable[..., Any],
                                                                 event_file: Callable[..., Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The sample provider calls no AWS API: nothing leaves the machine.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_PROFILE", "cfnkit-test-profile")

    ran = invoke(cfnkit, "SampleFunction", event_file(), "--aws", "-q")

    assert ran.code == 0, ran.out
    assert "on the real AWS account of your credential chain" in ran.out
    assert "    Endpoint  unset\n" in ran.out
    assert "    Profile   cfnkit-test-profile\n" in ran.out


def test_moto_hides_the_profile_from_the_child(cfnkit: Callable[..., Any], event_file: Callable[..., Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "cfnkit-test-profile")

    ran = invoke(cfnkit, "SampleFunction", event_file(), "-q")

    assert ran.code == 0, ran.out
    assert "    Profile   -\n" in ran.out


def test_aws_passes_the_environment_through_untouched() -> None:
    env = {"AWS_PROFILE": "prod", "AWS_REGION": "eu-west-1", "HOME": "/home/x"}

    assert RealAws().child_environment(env) == env


def test_moto_replaces_real_credentials_and_points_at_the_server() -> None:
    aws = MotoAws({"region": "eu-west-1"})
    aws.endpoint = "http://127.0.0.1:1"

    env = aws.child_environment({"AWS_PROFILE": "prod", "AWS_ENDPOINT_URL_ECS": "https://x", "HOME": "/home/x"})

    assert env == {
        "HOME": "/home/x",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def test_a_handler_past_its_timeout_is_killed_like_lambda_does(cfnkit: Callable[..., Any],
                                                               event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SleepyFunction", event_file())

    assert ran.code == 2
    assert "invocation 1: killed at the timeout (Task timed out after 1 seconds)" in ran.out


def test_a_usage_error_exits_3_not_2(cfnkit: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cfnkit("invoke", "SampleFunction")

    assert exit_info.value.code == 3
    assert "the following arguments are required: --event/-e" in capsys.readouterr().err
