"""cfnkit new: a freshly generated provider passes every check a provider of this repository passes.

One project is generated per module; each check then runs the real tool on it, as a user
would in the generated folder: ruff, mypy --strict, its own tests, and cfnkit invoke with
each generated event. (Its templates go through sam validate --lint and cfn-lint in
tests/template/test_scaffold_templates.py: the SAM CLI belongs to the template tier.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cfnkit_tools.cli import run

    target = tmp_path_factory.mktemp("scaffold") / "secure-parameter"
    assert run(["new", "secure-parameter", "--dir", str(target)]) == 0
    return target


def tool(project: Path, *command: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a tool in the generated folder with this checkout's cfnkit first on the paths."""
    env = dict(
        os.environ,
        SAM_CLI_TELEMETRY="0",
        PYTHONPATH=os.pathsep.join([str(REPO / "layers" / "core"), str(REPO / "tools")]),
        MYPYPATH=str(REPO / "layers" / "core"),
    )
    return subprocess.run(
        [str(c) for c in command], cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_it_writes_the_whole_project(project: Path) -> None:
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == [
        "events/create.json",
        "events/delete.json",
        "events/update.json",
        "pyproject.toml",
        "src/app.py",
        "src/requirements.txt",
        "src/secure_parameter.py",
        "stack.yaml",
        "template.yaml",
        "tests/test_secure_parameter.py",
    ]
    assert 'handler = serve("secure_parameter:SecureParameter")' in (project / "src" / "app.py").read_text()


def test_the_generated_code_passes_ruff_with_its_own_and_this_repositorys_rules(project: Path) -> None:
    own = tool(project, sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    ours = tool(project, sys.executable, "-m", "ruff", "check", "--no-cache", "--config", REPO / "pyproject.toml", ".")

    assert own.returncode == 0, own.stdout + own.stderr
    assert ours.returncode == 0, ours.stdout + ours.stderr


def test_the_generated_code_passes_mypy_strict(project: Path) -> None:
    ran = tool(
        project, sys.executable, "-m", "mypy", "--strict", "--cache-dir", project / ".mypy_cache", "src", "tests"
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Success: no issues found in 3 source files" in ran.stdout


def test_the_generated_tests_pass(project: Path) -> None:
    ran = tool(project, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "5 passed" in ran.stdout


@pytest.mark.parametrize(
    ("request_type", "data"),
    [
        ("create", {"Message": "hello, world"}),
        ("update", {"Message": "hello, world"}),
        ("delete", None),
    ],
)
def test_each_generated_event_answers_success_under_cfnkit_invoke(
    project: Path,
    cfnkit: Callable[..., Any],
    request_type: str,
    data: dict[str, str] | None,
) -> None:
    event = project / "events" / f"{request_type}.json"

    ran = cfnkit(
        "invoke",
        "SecureParameterFunction",
        "--event",
        event,
        "--template",
        project / "template.yaml",
        "--json",
        "--quiet",
    )

    assert ran.code == 0, ran.out + ran.err
    body = json.loads(ran.out[ran.out.index("{") :])
    assert (body["Status"], body["LogicalResourceId"], body.get("Data")) == ("SUCCESS", "SecureParameter", data)


def test_the_events_are_those_cloudformation_sends_for_the_consumer_stack(project: Path) -> None:
    create, update, delete = (
        json.loads((project / "events" / f"{t}.json").read_text()) for t in ("create", "update", "delete")
    )

    assert create["ResourceType"] == "Custom::SecureParameter"
    assert create["ResourceProperties"] == {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:secure-parameter-SecureParameter",
        "ServiceTimeout": "300",
        "Name": "world",
    }
    assert update["OldResourceProperties"]["Name"] == "cfnkit"
    assert update["PhysicalResourceId"] == delete["PhysicalResourceId"]


@pytest.mark.parametrize(
    ("name", "pascal", "module", "folder"),
    [
        ("secure-parameter", "SecureParameter", "secure_parameter", "secure-parameter"),
        ("secure_parameter", "SecureParameter", "secure_parameter", "secure-parameter"),
        ("SecureParameter", "SecureParameter", "secure_parameter", "secure-parameter"),
        ("dns2", "Dns2", "dns2", "dns2"),
    ],
)
def test_a_name_is_spelt_for_each_place(name: str, pascal: str, module: str, folder: str) -> None:
    from cfnkit_tools.scaffold import Names

    names = Names(name)

    assert (names.pascal, names.module, names.folder, names.resource_type, names.function) == (
        pascal,
        module,
        folder,
        f"Custom::{pascal}",
        f"{pascal}Function",
    )


@pytest.mark.parametrize("name", ["2fa", "secure parameter", "a--b", "x_", "x" * 41, "Custom::Thing"])
def test_a_bad_name_is_a_usage_error_that_says_what_a_name_is(
    name: str,
    cfnkit: Callable[..., Any],
    tmp_path: Path,
) -> None:
    ran = cfnkit("new", name, "--dir", tmp_path / "out")

    assert ran.code == 3
    assert ran.err == (
        f"cfnkit: error: {name!r} is not a resource name: use letters and digits, words separated "
        "by - or _, starting with a letter, at most 40 characters (for example secure-parameter)\n"
    )
    assert not (tmp_path / "out").exists()


def test_an_existing_folder_with_files_is_never_overwritten(cfnkit: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")

    ran = cfnkit("new", "thing", "--dir", tmp_path)

    assert ran.code == 3
    assert ran.err == f"cfnkit: error: {tmp_path} already exists and is not empty; choose another --dir\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
