"""cfnkit.awserrors: the one reader of botocore's ClientError."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from cfnkit.awserrors import AwsError, aws_error, error_code


def client_error(error: Any) -> ClientError:
    return ClientError({"Error": error} if error is not None else {}, "RunTask")  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    ("error", "read"),
    [
        (
            {"Code": "ClusterNotFoundException", "Message": "Cluster not found."},
            AwsError("ClusterNotFoundException", "Cluster not found."),
        ),
        ({"Code": "AccessDeniedException"}, AwsError("AccessDeniedException", "")),
        ({"Message": "no code"}, AwsError("Unknown", "no code")),
        ({"Code": "", "Message": 3}, AwsError("Unknown", "")),
        (None, AwsError("Unknown", "")),
    ],
)
def test_a_client_error_gives_its_code_and_message(error: Any, read: AwsError) -> None:
    assert aws_error(client_error(error)) == read
    assert error_code(client_error(error)) == read.code


def test_other_exceptions_are_not_client_errors() -> None:
    exc = EndpointConnectionError(endpoint_url="https://ecs.us-east-1.amazonaws.com")
    assert aws_error(exc) is None
    assert aws_error(ValueError("x")) is None
    assert error_code(exc) == "EndpointConnectionError"
