"""Fixtures every test tier shares (the helpers behind them are in tests/support.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from cfnkit.logs import BODY_LOGGERS, LOGGER_NAME, redactor
from cfnkit.testing import ResponseServer
from hypothesis import HealthCheck, settings

from tests.support import use_fake_credentials

# Property tests give the same result on every machine: "ci" (the default everywhere, and
# what CI=true selects) derandomizes the examples and reads no local example database, and
# no health check depends on the machine's speed. "explore" runs many random examples to
# find new failures: HYPOTHESIS_PROFILE=explore python -m pytest tests/unit/core --no-cov.
# Every failure it finds is pinned in its test with @example before the fix lands.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=5000, deadline=None, database=None, print_blob=True)
# tools/mutation.py: the same fixed examples, fewer of them, so each mutant's run takes seconds.
settings.register_profile("mutation", settings.get_profile("ci"), max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "ci")


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """Each test starts with no registered secrets and leaves every logger's level as it found it."""
    names = {LOGGER_NAME, "", "botocore", "boto3", *BODY_LOGGERS, *logging.root.manager.loggerDict}
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


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials and region (moto's); no profile."""
    use_fake_credentials(monkeypatch)
