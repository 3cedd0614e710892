"""Fixtures every test tier shares."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from cfnkit.logs import BODY_LOGGERS, LOGGER_NAME, redactor
from cfnkit.testing import ResponseServer


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """Each test starts with no registered secrets and leaves log levels as it found them."""
    names = [LOGGER_NAME, "", "botocore", "boto3", *BODY_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    redactor.clear()
    yield
    redactor.clear()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def server() -> Iterator[ResponseServer]:
    """A real HTTP server on 127.0.0.1 standing in for the presigned ResponseURL."""
    with ResponseServer() as running:
        yield running
