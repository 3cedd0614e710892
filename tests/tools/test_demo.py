"""cfnkit demo: the example stack's custom resources through a whole lifecycle, end to end."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from cfnkit_tools import demo
from cfnkit_tools.cli import build_parser

pytestmark = [pytest.mark.functional, pytest.mark.slow]


def test_the_demo_runs_every_step_as_expected(cfnkit: Callable[..., Any]) -> None:
    ran = cfnkit("demo", "--logs")

    assert ran.code == 0, ran.out
    assert '"message": "request received"' in ran.err  # --logs streams the functions' logs
    out = ran.out
    assert "This demo plays the ECS agent" in out
    assert "no real AWS account is used" in out
    # Create: the secret's value is NoEcho and masked.
    assert "      MYSQL_PASSWORD  ****\n" in out
    assert "demo-not-a-real-password" not in out + ran.err
    # Create: the migration outlives one invocation and continues in the next.
    assert "invocation 1: handed the wait to invocation 2" in out
    # The failing Update: exit code 1 and the container's last log lines in the Reason.
    assert "essential container migrate exited with code 1 (SuccessExitCodes: 0)" in out
    assert "Unknown column 'due_date' in 'field list'" in out
    assert "ECS agent (emulated): task " in out
    timeline = out[out.index("\nTimeline\n") :]
    for row in (
        "Secrets Create      SUCCESS   SUCCESS",
        "MigrateTask Create  SUCCESS   SUCCESS",
        "MigrateTask Update  FAILED    FAILED",
        "MigrateTask Update  SUCCESS   SUCCESS",
        "MigrateTask Delete  SUCCESS   SUCCESS",
        "Secrets Delete      SUCCESS   SUCCESS",
    ):
        assert row in timeline
    assert "All 6 steps ended as expected in " in out


def test_a_step_that_does_not_end_as_expected_fails_the_demo(cfnkit: Callable[..., Any]) -> None:
    wrong = demo.Step(
        "Secrets Create expecting the wrong outcome",
        "Secrets",
        "Create",
        "SecretsResolverFunction",
        "FAILED",
        reason_has=("never said",),
    )
    out = io.StringIO()

    code = demo.Demo(demo.find_root(), out, None, 6.0, steps=(wrong,)).run()

    assert code == 1
    text = out.getvalue()
    assert "=> SUCCESS after " in text
    assert "NOT as expected: expected FAILED, got SUCCESS; Reason lacks 'never said'" in text
    assert "1 of 1 steps did NOT end as expected" in text


def test_show_secrets_is_an_option_of_the_demo_and_shows_the_values() -> None:
    args = build_parser().parse_args(["demo", "--show-secrets"])
    create = demo.STEPS[0]
    out = io.StringIO()

    code = demo.Demo(demo.find_root(), out, None, 6.0, steps=(create,), show_secrets=args.show_secrets).run()

    assert code == 0, out.getvalue()
    assert f"      MYSQL_PASSWORD  {demo.SECRET_VALUE['MYSQL_PASSWORD']}\n" in out.getvalue()
    assert "values masked" not in out.getvalue()
