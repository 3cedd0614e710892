"""tests/aws runs against a real AWS account only when CFNKIT_AWS_TESTS=1 (never in CI).

Tests marked `aws` are skipped otherwise, with the reason in the report; the plumbing's
unit tests (test_smoke_plumbing.py) always run.
"""

from __future__ import annotations

import pytest

from tests.aws.smoke import ENABLE_ENV, enabled


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if enabled():
        return
    why = f"real AWS: set {ENABLE_ENV}=1 to deploy to the current account (docs/contributing.md, tests/aws)"
    skip = pytest.mark.skip(reason=why)
    for item in items:
        if item.get_closest_marker("aws") is not None:
            item.add_marker(skip)
