"""Fixtures of the ECS runner's unit tests: stubbed ECS and Logs clients, no process-wide state leaking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber


@pytest.fixture(autouse=True)
def _credentials(aws_env: None) -> None:
    """Every test here builds boto3 clients: fake credentials for all of them (tests/conftest.py)."""


@pytest.fixture
def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


@pytest.fixture
def logs() -> Any:
    return boto3.client("logs", region_name="us-east-1")


@pytest.fixture
def ecs_stub(ecs: Any) -> Iterator[Stubber]:
    with Stubber(ecs) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def logs_stub(logs: Any) -> Iterator[Stubber]:
    with Stubber(logs) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
