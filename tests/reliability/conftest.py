"""The fault matrix: shared fixtures, and the table printed at the end of the run.

Every case records one row (what was done, what must happen, what happened); the
terminal summary prints the rows with each test's outcome, so a CI log shows the
matrix without -v.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.iam.authz import ACCOUNT, authorized, deploy_parameters
from tests.support import REGION


@dataclass
class Row:
    case: str
    expected: str
    observed: str = "(not reached)"
    outcome: str = "?"


_ROWS: dict[str, Row] = {}
_ORDER: list[str] = []


@pytest.fixture
def matrix(request: pytest.FixtureRequest) -> Callable[..., None]:
    """matrix(case, expected) declares this test's row; matrix(observed=...) fills in what happened."""
    nodeid = request.node.nodeid

    def record(case: str | None = None, expected: str | None = None, observed: str | None = None) -> None:
        row = _ROWS.get(nodeid)
        if row is None:
            row = _ROWS[nodeid] = Row(case or nodeid, expected or "")
            _ORDER.append(nodeid)
        if case is not None:
            row.case = case
        if expected is not None:
            row.expected = expected
        if observed is not None:
            row.observed = observed

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    row = _ROWS.get(report.nodeid)
    if row is None:
        return
    if report.when == "call" or (report.failed and row.outcome == "?"):
        row.outcome = report.outcome.upper() if report.outcome != "passed" else "ok"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _ORDER:
        return
    rows = [_ROWS[n] for n in _ORDER]
    widths = [
        max(len(h), *(len(getattr(r, a)) for r in rows))
        for h, a in (("fault", "case"), ("must", "expected"), ("observed", "observed"), ("result", "outcome"))
    ]
    widths = [min(w, 70) for w in widths]

    def line(cells: list[str]) -> str:
        return " | ".join(c[:w].ljust(w) for c, w in zip(cells, widths, strict=True))

    terminalreporter.section("fault matrix (tests/reliability)")
    terminalreporter.write_line(line(["fault", "must", "observed", "result"]))
    terminalreporter.write_line("-+-".join("-" * w for w in widths))
    for row in rows:
        terminalreporter.write_line(line([row.case, row.expected, row.observed, row.outcome]))


# -- shared fixtures --------------------------------------------------------------------

ECS = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
#: The deploy docs' parameters for the fault tests' names (cluster faults, family migrate,
#: secrets under app/).
IAM_PARAMETERS = {
    **deploy_parameters("todobackend"),
    "AllowedSecretPrefix": "app/",
    "AllowedClusterArns": f"{ECS}:cluster/faults",
    "AllowedTaskDefinitionArns": f"{ECS}:task-definition/migrate:*",
}


@pytest.fixture(autouse=True)
def _providers_calls_are_authorized() -> Iterator[None]:
    """Every AWS call a provider makes under a fault must still be allowed by template.yaml."""
    with authorized(IAM_PARAMETERS):
        yield
