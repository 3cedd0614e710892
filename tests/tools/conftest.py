"""Shared helpers of the cfnkit CLI tests: run the command in-process, capture its streams."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cfnkit_tools.cli import run


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def cfnkit(aws_env: None) -> Callable[..., Ran]:
    """cfnkit(*args) -> Ran(code, out, err), with moto-style fake credentials in the environment."""

    def call(*args: str) -> Ran:
        out, err = io.StringIO(), io.StringIO()
        code = run([str(a) for a in args], stdout=out, stderr=err)
        return Ran(code, out.getvalue(), err.getvalue())

    return call
