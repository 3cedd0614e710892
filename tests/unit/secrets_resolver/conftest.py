"""Fixtures of the resolver's unit tests: a stubbed client, and no process-wide state leaking."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cfnkit.logs import BODY_LOGGERS, LOGGER_NAME, redactor


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    names = [LOGGER_NAME, "", "botocore", "boto3", *BODY_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    redactor.clear()
    yield
    redactor.clear()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()

