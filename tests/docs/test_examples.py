"""No example can rot: every code example of the docs is a file under examples/ that runs here.

The pages include these files (pymdownx.snippets; `mkdocs build --strict` fails on a missing
one); these tests run them: the provider under `cfnkit invoke`, its tests under pytest,
ruff and mypy --strict over its code, its templates through sam validate --lint and
cfn-lint, its events against the commands that make them, the CDK app through a real synth.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
EXAMPLE = REPO / "examples" / "secure_parameter"
BIN = Path(sys.executable).parent
#: Fenced blocks of these languages are code examples: a page may only include them from a file.
CODE = {"python", "py", "yaml", "yml", "dockerfile", "toml"}


def environment(**extra: str) -> dict[str, str]:
    """This checkout's cfnkit first on the paths, the venv's tools on PATH, no telemetry, no warnings."""
    env = dict(
        os.environ,
        PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join([str(REPO / "layers" / "core"), str(REPO / "tools")]),
        MYPYPATH=str(REPO / "layers" / "core"),
        SAM_CLI_TELEMETRY="0",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="1",
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
    )
    env.update(extra)
    return env


def run(*command: str | Path, cwd: Path = EXAMPLE, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=environment(**extra),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_no_page_pastes_code_it_could_include() -> None:
    pasted = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        for _indent, language, body in re.findall(r"^( *)```(\w+)[^\n]*\n(.*?)^\1```", text, flags=re.M | re.S):
            lines = [line.strip() for line in body.splitlines()]
            if language.lower() in CODE and not all(re.fullmatch(r'--8<-- "[^"]+"', line) for line in lines):
                pasted.append(f"{page.relative_to(REPO)}: {body.splitlines()[0] if body else ''}")

    assert pasted == []


def test_the_example_providers_tests_pass() -> None:
    ran = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "10 passed" in ran.stdout


def test_the_example_passes_mypy_strict(tmp_path: Path) -> None:
    ran = run(sys.executable, "-m", "mypy", "--strict", "--cache-dir", tmp_path, "src", "tests")

    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_example_passes_ruff_with_its_own_rules() -> None:
    ran = run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")

    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_example_templates_pass_sam_validate_lint_and_cfn_lint() -> None:
    sam = run(BIN / "sam", "validate", "--lint", "--template-file", "template.yaml")
    lint = run(BIN / "cfn-lint", "template.yaml", "stack.yaml")

    assert sam.returncode == 0, sam.stdout + sam.stderr
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_events_are_what_the_documented_cfnkit_event_commands_make(tmp_path: Path) -> None:
    copy = tmp_path / EXAMPLE.name  # the stack's default name comes from its folder
    (copy / "events").mkdir(parents=True)
    shutil.copy(EXAMPLE / "stack.yaml", copy)
    shutil.copy(EXAMPLE / "events" / "make.sh", copy / "events")

    ran = run("sh", "events/make.sh", cwd=copy)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    for name in ("create.json", "update.json", "delete.json"):
        assert (copy / "events" / name).read_text() == (EXAMPLE / "events" / name).read_text(), name


@pytest.mark.parametrize("request_type", ["create", "update", "delete"])
def test_each_event_answers_success_under_cfnkit_invoke(request_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from cfnkit_tools.cli import run as cfnkit

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()

    code = cfnkit(
        [
            "invoke",
            "SecureParameterFunction",
            "--template",
            str(EXAMPLE / "template.yaml"),
            "--event",
            str(EXAMPLE / "events" / f"{request_type}.json"),
            "--json",
            "--quiet",
        ],
        out,
        err,
    )

    assert code == 0, out.getvalue() + err.getvalue()
    text = out.getvalue()
    body: dict[str, Any] = json.loads(text[text.index("{") :])
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "/myapp/db-password")
    assert body.get("Data") == (
        None
        if request_type == "delete"
        else {
            "Name": "/myapp/db-password",
            "Arn": "arn:aws:ssm:us-east-1:123456789012:parameter/myapp/db-password",
            "Version": "1",
        }
    )


@pytest.mark.slow
def test_the_cdk_app_synthesizes_a_stack_that_passes_cfn_lint(tmp_path: Path) -> None:
    ran = run(sys.executable, "cdk/app.py", CDK_OUTDIR=str(tmp_path))

    assert ran.returncode == 0, ran.stdout + ran.stderr
    template = json.loads((tmp_path / "myapp.template.json").read_text())
    assert template["Resources"]["DatabasePasswordParameter"] == {
        "Type": "Custom::SecureParameter",
        "Properties": {
            "ServiceToken": {"Fn::ImportValue": "secure-parameter-SecureParameter"},
            "ServiceTimeout": "120",
            "Name": "/myapp/db-password",
            "Value": {"Ref": "DatabasePassword"},
            "Description": "The application's database password",
        },
        "UpdateReplacePolicy": "Delete",
        "DeletionPolicy": "Delete",
    }
    assert template["Parameters"]["DatabasePassword"]["NoEcho"] is True
    lint = run(BIN / "cfn-lint", tmp_path / "myapp.template.json")
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_stdlib_only_hello_example_runs() -> None:
    ran = run(sys.executable, REPO / "examples" / "hello" / "run.py", cwd=REPO)

    assert ran.returncode == 0, ran.stdout + ran.stderr


def dockerfile(name: str) -> dict[str, list[str]]:
    """The instructions of examples/secrets_exec/<name>, by keyword (comments dropped)."""
    found: dict[str, list[str]] = {}
    for line in (REPO / "examples" / "secrets_exec" / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.setdefault(keyword, []).append(rest)
    return found


def test_the_source_dockerfiles_entrypoint_execs_the_command(tmp_path: Path) -> None:
    """Its COPY and ENV as the image has them, then its ENTRYPOINT with a CMD, SECRETS empty."""
    steps = dockerfile("Dockerfile.source")
    source, target = steps["COPY"][0].split()
    shutil.copytree(REPO / source, tmp_path / target.lstrip("/"))
    variable, _, path = steps["ENV"][0].partition("=")
    entrypoint = json.loads(steps["ENTRYPOINT"][0])
    assert entrypoint[0] == "python3"
    assert json.loads(steps["CMD"][0])[0] == "uwsgi"

    ran = run(
        sys.executable,
        *entrypoint[1:],
        sys.executable,
        "-c",
        "import os; print('ran', os.getpid())",
        cwd=tmp_path,
        **{variable: str(tmp_path / path.lstrip("/")), "SECRETS": ""},
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.startswith("ran ")


def test_the_wheel_dockerfile_names_this_distributions_wheel_and_entrypoint() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    steps = dockerfile("Dockerfile")
    wheel = f"{project['name']}-{project['version']}-py3-none-any.whl"

    assert steps["COPY"] == [f"dist/{wheel} /tmp/"]
    assert f"'/tmp/{wheel}[aws]'" in steps["RUN"][0]
    assert "aws" in project["optional-dependencies"]
    assert project["scripts"][json.loads(steps["ENTRYPOINT"][0])[0]] == "cfnkit.secrets_exec:main"
