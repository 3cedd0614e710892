"""Functional tests: every AWS call a provider makes in them must be allowed by template.yaml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.iam.authz import ACCOUNT, authorized, deploy_parameters
from tests.support import REGION

ECS = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
#: The deploy docs' parameters for these tests' names: cluster todobackend, their task
#: definition families, and secrets under todobackend/.
PARAMETERS = {
    **deploy_parameters("todobackend"),
    "AllowedTaskDefinitionArns": f"{ECS}:task-definition/migrate:*,{ECS}:task-definition/nologs:*",
    "AllowedTaskLogStreamArns": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/todobackend/ecs:log-stream:*",
}


@pytest.fixture(autouse=True)
def _providers_calls_are_authorized(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("iam_parameters")
    with authorized({**PARAMETERS, **(marker.kwargs if marker else {})}):
        yield


#: For tests of a cluster that does not exist: IAM allows the call (the operator allowed any
#: cluster of the account) and only then does ECS answer ClusterNotFoundException.
ANY_CLUSTER = pytest.mark.iam_parameters(AllowedClusterArns=f"{ECS}:cluster/*")
