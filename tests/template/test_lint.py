"""cfn-lint finds nothing in either template, informational checks included."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file


@pytest.mark.parametrize(
    "relative",
    [
        "template.yaml",
        "examples/todobackend/stack.yaml",
        "examples/nested/stack.yaml",
        "examples/own-provider/template.yaml",
        "tests/aws/consumer.yaml",
    ],
)
def test_cfn_lint_has_no_findings(root: Path, relative: str) -> None:
    matches = lint_file(root / relative, ManualArgs(include_checks=["I"], regions=["us-east-1"]))
    assert [str(m) for m in matches] == []
