"""cfnkit invoke: a handler in Lambda-like child processes, its response as CloudFormation gets it."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cfnkit.testing import create_event
from cfnkit_tools.awsenv import MotoAws, RealAws
from cfnkit_tools.cli import run
from cfnkit_tools.invoke import activity_of
from cfnkit_tools.term import wants_colour

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "sample" / "template.yaml"
FIXTURE = REPO / "tools" / "cfnkit_tools" / "fixtures" / "todobackend.json"


@pytest.fixture
def event_file(tmp_path: Path) -> Callable[..., Path]:
    def make(**properties: str) -> Path:
        event = create_event(
            properties,
            logical_id="Thing",
            resource_type="Custom::Sample",
            response_url="https://example.invalid/never-used",
        )
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event))
        return path

    return make


def invoke(cfnkit: Callable[..., Any], function: str, event: Path, *extra: str | Path) -> Any:
    return cfnkit("invoke", function, "--event", event, "--template", SAMPLE, *extra)


def test_success_exits_0_with_the_templates_environment(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path]
) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(), "--logs")

    assert ran.code == 0, ran.out + ran.err
    assert "  Status              SUCCESS\n" in ran.out
    assert "    Greeting  hello\n" in ran.out  # Environment: !Ref Greeting (its default)
    assert "    Global    from-globals\n" in ran.out  # Globals.Function.Environment
    assert "    Memory    192\n" in ran.out  # Globals.Function.MemorySize
    assert "    Endpoint  set\n" in ran.out  # AWS_ENDPOINT_URL points at the embedded moto
    assert "invocation 1: answered" in ran.out
    assert '  | {"level": ' in ran.err  # --logs: the function's logs go to stderr, indented
    assert '"message": "request received"' in ran.err
    assert '"message"' not in ran.out


def test_the_functions_logs_are_shown_only_with_logs(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path]
) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file())

    assert ran.code == 0, ran.out + ran.err
    assert '"message"' not in ran.out + ran.err
    assert ran.err == ""
    assert "invocation 1: answered" in ran.out


def test_json_puts_exactly_one_document_on_stdout_and_the_rest_on_stderr(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path]
) -> None:
    event = event_file()

    ran = invoke(cfnkit, "SampleFunction", event, "--json", "--logs")

    assert ran.code == 0
    body = json.loads(ran.out)  # the whole of stdout, nothing before or after
    assert body["Status"] == "SUCCESS"
    assert ran.err.startswith("Create Thing -> SampleFunction (app.handler in src/, timeout 4 s, 192 MB) on moto at ")
    assert "invocation 1: answered" in ran.err
    assert '"message": "request received"' in ran.err


def test_failed_exits_1_with_the_exact_reason(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    event = event_file(Mode="fail")

    ran = invoke(cfnkit, "SampleFunction", event, "--json", "--quiet")

    assert ran.code == 1
    body = json.loads(ran.out)
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


def test_a_handler_that_cannot_load_exits_2_and_says_why(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path]
) -> None:
    ran = invoke(cfnkit, "BrokenFunction", event_file())

    assert ran.code == 2
    assert (
        "invocation 1: error: Runtime.ImportModuleError: cannot load missing.handler: "
        "ModuleNotFoundError: No module named 'missing'"
    ) in ran.out


def test_no_echo_values_are_masked(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(Mode="secret"))

    assert ran.code == 0
    assert "    Password  ****\n" in ran.out
    assert "NoEcho              true (values masked; --show-secrets shows them)" in ran.out
    assert "canary-s3cret" not in ran.out + ran.err


def test_no_echo_values_are_masked_in_json_too(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(Mode="secret"), "--json", "-q")

    body = json.loads(ran.out)
    assert body["Data"] == {"Password": "****"}
    assert body["NoEcho"] is True


def test_show_secrets_unmasks(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(Mode="secret"), "--show-secrets", "-q")

    assert ran.code == 0
    assert "    Password  canary-s3cret\n" in ran.out


def test_a_wait_past_the_timeout_is_followed_through_continuations(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path]
) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(Mode="wait", WaitSeconds="3"), "--timeout", "2")

    assert ran.code == 0, ran.out
    assert "invocation 1: handed the wait to invocation 2" in ran.out
    assert "    Waited  yes\n" in ran.out
    hops = [line for line in ran.out.splitlines() if "] invocation " in line]
    assert len(hops) >= 2
    assert hops[-1].endswith(": answered")
    assert all("handed the wait to invocation" in line for line in hops[:-1])


def test_the_secrets_resolver_against_a_seeded_moto(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit(
        "invoke",
        "SecretsResolverFunction",
        "--event",
        REPO / "events/secrets_resolver/create.json",
        "--template",
        REPO / "template.yaml",
        "--fixture",
        FIXTURE,
        "--logs",
    )

    assert ran.code == 0, ran.out + ran.err
    assert "    MYSQL_PASSWORD  ****\n" in ran.out
    assert "fixture-password-not-real" not in ran.out + ran.err
    # The fixture plays the ECS agent, but no task runs here: no notice about it.
    assert "ECS agent" not in ran.out + ran.err


def test_the_ecs_runner_reports_the_emulated_agents_exit_code_and_logs(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit(
        "invoke",
        "EcsTaskRunnerFunction",
        "--event",
        REPO / "events/ecs_task_runner/create.json",
        "--template",
        REPO / "template.yaml",
        "--fixture",
        FIXTURE,
        "--quiet",
    )

    assert ran.code == 1, ran.out
    assert "ECS agent (emulated): moto runs no containers" not in ran.out  # -q: only the response
    assert ran.out.startswith("CloudFormation received:\n")
    reason = next(line for line in ran.out.splitlines() if line.startswith("  Reason"))
    assert "essential container migrate exited with code 1 (SuccessExitCodes: 0)" in reason
    assert "Unknown MySQL server host 'db'" in reason


def test_an_unknown_function_is_an_input_error(cfnkit: Callable[..., Any], event_file: Callable[..., Path]) -> None:
    ran = invoke(cfnkit, "Nope", event_file())

    assert ran.code == 3
    assert ran.err.startswith("cfnkit: error: ")
    assert "its functions: BrokenFunction, SampleFunction, SilentFunction, SleepyFunction" in ran.err


def test_fixture_and_aws_together_is_an_input_error(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path]
) -> None:
    ran = invoke(cfnkit, "SampleFunction", event_file(), "--aws", "--fixture", FIXTURE)

    assert ran.code == 3
    assert ran.err == "cfnkit: error: --fixture seeds the embedded moto; it cannot be used with --aws\n"


def test_aws_flag_gives_the_child_this_environment_without_moto(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sample provider calls no AWS API: nothing leaves the machine.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_PROFILE", "cfnkit-test-profile")

    ran = invoke(cfnkit, "SampleFunction", event_file(), "--aws")

    assert ran.code == 0, ran.out
    assert "on the real AWS account of your credential chain" in ran.out
    assert "    Endpoint  unset\n" in ran.out
    assert "    Profile   cfnkit-test-profile\n" in ran.out


def test_moto_hides_the_profile_from_the_child(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
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


def test_a_handler_past_its_timeout_is_killed_like_lambda_does(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path]
) -> None:
    ran = invoke(cfnkit, "SleepyFunction", event_file())

    assert ran.code == 2
    assert "invocation 1: killed at the timeout (Task timed out after 1 seconds)" in ran.out


def test_a_usage_error_exits_3_not_2(cfnkit: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cfnkit("invoke", "SampleFunction")

    assert exit_info.value.code == 3
    assert "the following arguments are required: --event/-e" in capsys.readouterr().err


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a shell's stdout does."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_line_with_elapsed_time_invocation_and_task_status(
    monkeypatch: pytest.MonkeyPatch, aws_env: None
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    out, err = Terminal(), Terminal()

    code = run(
        [
            "invoke",
            "EcsTaskRunnerFunction",
            "--event",
            str(REPO / "events/ecs_task_runner/create.json"),
            "--template",
            str(REPO / "template.yaml"),
            "--fixture",
            str(FIXTURE),
        ],
        stdout=out,
        stderr=err,
    )

    assert code == 1
    text = out.getvalue()
    assert re.search(r"\d+\.\d s  invocation 1  task [0-9a-f]{8} started; waiting", text), text[-2000:]
    assert "\x1b[1;31mFAILED\x1b[0m" in text  # colour on a terminal


def test_no_color_and_a_pipe_get_no_escape_codes(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out, err = Terminal(), io.StringIO()

    code = run(
        ["invoke", "SampleFunction", "--event", str(event_file()), "--template", str(SAMPLE)], stdout=out, stderr=err
    )
    piped = cfnkit("invoke", "SampleFunction", "--event", event_file(), "--template", SAMPLE)

    assert code == 0
    assert "\x1b[1;32m" not in out.getvalue()  # NO_COLOR: no colour even on a terminal
    assert "Status              SUCCESS" in out.getvalue()
    assert "\x1b" not in piped.out + piped.err
    assert "\r" not in piped.out + piped.err


def test_no_color_and_term_dumb_turn_colour_off() -> None:
    assert wants_colour(Terminal(), {})
    assert not wants_colour(Terminal(), {"NO_COLOR": "1"})
    assert wants_colour(Terminal(), {"NO_COLOR": ""})  # no-color.org: set AND not empty
    assert not wants_colour(Terminal(), {"TERM": "dumb"})
    assert not wants_colour(io.StringIO(), {})


def test_the_agents_notice_comes_with_the_first_task(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit(
        "invoke",
        "EcsTaskRunnerFunction",
        "--event",
        REPO / "events/ecs_task_runner/create.json",
        "--template",
        REPO / "template.yaml",
        "--fixture",
        FIXTURE,
    )

    lines = ran.out.splitlines()
    notice = lines.index("  ECS agent (emulated): moto runs no containers; tasks stop as the fixture's ecs_agent says")
    assert re.fullmatch(
        r"  ECS agent \(emulated\): task [0-9a-f]{8} RUNNING; it will stop after 2 s "
        r"with exit codes migrate 1",
        lines[notice + 1],
    )
    assert ran.err == ""  # no moto warnings, no logs without --logs


def test_made_up_awsvpc_subnets_are_named_with_moto_s_own_up_front_and_after(
    cfnkit: Callable[..., Any], tmp_path: Path
) -> None:
    fixture = json.loads(FIXTURE.read_text())
    fixture["task_definitions"][0].update(
        networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512"
    )
    fixture_file = tmp_path / "fixture.json"
    fixture_file.write_text(json.dumps(fixture))

    ran = cfnkit(
        "invoke",
        "EcsTaskRunnerFunction",
        "--event",
        REPO / "events/ecs_task_runner/create.json",
        "--template",
        REPO / "template.yaml",
        "--fixture",
        fixture_file,
        "-q",
    )

    assert ran.code == 1
    advice = re.compile(
        r"moto has no subnet subnet-0a1b2c3d4e5f60718, subnet-0b2c3d4e5f6071829, so RunTask fails locally with "
        r"InvalidSubnetID\.NotFound; use moto's default subnets instead: cfnkit event \.\.\. "
        r"-p Subnets=subnet-[0-9a-f]+,subnet-[0-9a-f]+ \(or edit NetworkConfiguration\.AwsvpcConfiguration\.Subnets "
        r"in the event\)"
    )
    warning, *rest = ran.err.splitlines()
    assert warning.startswith("warning: ")
    assert advice.fullmatch(warning.removeprefix("warning: "))
    assert any(line.startswith("hint: ") and advice.fullmatch(line.removeprefix("hint: ")) for line in rest)
    assert "hint: locally that log group does not exist: the function's logs are what --logs shows" in rest
    assert "UserWarning" not in ran.err


def test_placeholders_left_in_the_event_are_warned_about_up_front(cfnkit: Callable[..., Any], tmp_path: Path) -> None:
    event = tmp_path / "create.json"
    made = cfnkit(
        "event",
        "create",
        "--template",
        REPO / "examples/todobackend/stack.yaml",
        "--resource",
        "MigrateTask",
        "-o",
        event,
    )
    assert made.code == 0

    ran = cfnkit("invoke", "EcsTaskRunnerFunction", "--event", event, "--template", REPO / "template.yaml")

    assert ran.err.splitlines()[0] == (
        "warning: the event still holds placeholders for values only a deploy knows: <MigrateTaskDefinition>, "
        "<Subnets>, <ApplicationSecurityGroup>; the provider sees them as they are. Set them when making the "
        "event (cfnkit event ... -p MigrateTaskDefinition=VALUE) or edit the event."
    )


def test_outside_the_project_the_error_suggests_template(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = event_file()
    monkeypatch.chdir(tmp_path)

    ran = cfnkit("invoke", "SampleFunction", "--event", event)

    assert ran.code == 3
    assert ran.err == (
        f"cfnkit: error: cannot read template template.yaml: no such file in {tmp_path}; run cfnkit in the "
        "folder holding your SAM template, or pass --template PATH (cfnkit's own is template.yaml at the "
        "repository's root)\n"
    )


def test_a_fixture_key_typo_gets_a_did_you_mean(
    cfnkit: Callable[..., Any], event_file: Callable[..., Path], tmp_path: Path
) -> None:
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps({"secret": [], "clusters": []}))

    ran = invoke(cfnkit, "SampleFunction", event_file(), "--fixture", fixture)

    assert ran.code == 3
    assert ran.err == (
        f"cfnkit: error: fixture {fixture}: unknown keys secret (did you mean secrets?) "
        "(known: region, clusters, task_definitions, secrets, log_groups, ecs_agent)\n"
    )


@pytest.mark.parametrize(
    ("line", "activity"),
    [
        (
            '{"message": "RunTask answered", "started": ["arn:aws:ecs:us-east-1:1:task/c/0123456789abcdef"]}',
            "task 01234567 started; waiting",
        ),
        (
            '{"message": "task stopped", "task": "arn:aws:ecs:us-east-1:1:task/c/89abcdef0123", '
            '"exit_codes": {"migrate": 1}}',
            "task 89abcdef STOPPED (exit codes migrate 1)",
        ),
        ('{"message": "sending response"}', "sending response"),
        ("Traceback (most recent call last):", None),
        ("[1, 2]", None),
    ],
)
def test_the_live_line_reads_what_the_function_does_from_its_logs(line: str, activity: str | None) -> None:
    assert activity_of(line) == activity
