"""Shared fixtures of the core's unit tests: no process-wide state leaks between tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from cfnkit.logs import BODY_LOGGERS, LOGGER_NAME, redactor


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    names = {LOGGER_NAME, "", "botocore", "boto3", *BODY_LOGGERS, *logging.root.manager.loggerDict}
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    redactor.clear()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
