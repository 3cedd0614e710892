"""Fixtures of the template tests: the templates parsed with their CloudFormation tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EXAMPLE = ROOT / "examples" / "todobackend" / "stack.yaml"
EVENTS = ROOT / "events"


def load_template(path: Path) -> dict[str, Any]:
    """The template as plain JSON data; short tags (!Ref, !Sub, ...) become their long forms."""
    doc: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(path))))
    return doc


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="session")
def example() -> dict[str, Any]:
    return load_template(EXAMPLE)


@pytest.fixture(scope="session")
def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's AWS::Serverless::Function resources by logical id."""
    found = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert found, "template.yaml defines no AWS::Serverless::Function"
    return found
