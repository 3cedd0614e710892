"""cfnkit new: the templates it generates pass sam validate --lint and cfn-lint.

(The rest of the generated project is checked in tests/tools/test_scaffold.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cfnkit_tools.cli import run

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("scaffold") / "secure-parameter"
    assert run(["new", "secure-parameter", "--dir", str(target)]) == 0
    return target


@pytest.mark.parametrize(
    "command",
    [
        ["sam", "validate", "--lint", "--template-file", "template.yaml"],
        ["cfn-lint", "template.yaml", "stack.yaml"],
    ],
    ids=["sam validate --lint", "cfn-lint"],
)
def test_the_generated_templates_pass(project: Path, command: list[str]) -> None:
    ran = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=project,
        capture_output=True,
        text=True,
        env=dict(os.environ, SAM_CLI_TELEMETRY="0"),
        timeout=300,
        check=False,
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
