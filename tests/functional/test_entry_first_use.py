"""A provider served by cfnkit.entry whose role lacks a permission: the first AWS call is one FAILED naming it.

The boto3 client is created on first use inside create (as the guide recommends); a
botocore Stubber stands in for AWS answering AuthorizationError, as SNS does for a role
without sns:CreateTopic (no network).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from cfnkit.entry import serve
from cfnkit.testing import FakeClock, FakeContext, RecordingSender, create_event

pytestmark = pytest.mark.functional

DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/topics-role/topics-Provider is not authorized to "
    "perform: SNS:CreateTopic on resource: arn:aws:sns:us-east-1:123456789012:orders because no "
    "identity-based policy allows the SNS:CreateTopic action"
)

PROVIDER = f"""
import boto3
from botocore.stub import Stubber
from cfnkit import Field, Provider, Result, Schema, String


class Topics(Provider):
    schema = Schema(Name=Field(String(min_length=1), required=True), ApiKey=Field(String(), secret=True))

    def __init__(self):
        self._sns = None

    @property
    def sns(self):
        if self._sns is None:  # created on first use
            self._sns = boto3.client("sns", region_name="us-east-1")
            stub = Stubber(self._sns)  # the test's AWS: this role may not CreateTopic
            stub.add_client_error("create_topic", "AuthorizationError", {DENIED!r}, 403)
            stub.activate()
        return self._sns

    def create(self, request):
        arn = self.sns.create_topic(Name=request.properties["Name"])["TopicArn"]
        return Result(physical_id=arn)
"""


def test_a_denied_first_call_is_one_failed_that_names_the_action(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "topics_first_use.py").write_text(textwrap.dedent(PROVIDER))
    monkeypatch.syspath_prepend(str(tmp_path))
    sender = RecordingSender()
    try:
        serve("topics_first_use:Topics", sender=sender, clock=FakeClock())(
            create_event({"Name": "orders", "ApiKey": "key-7f3e9b1c"}), FakeContext()
        )
    finally:
        sys.modules.pop("topics_first_use", None)

    body = sender.only
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", f"cfnkit-failed-create-{body['RequestId']}")
    assert body["Reason"] == (
        "AuthorizationErrorException: An error occurred (AuthorizationError) when calling the CreateTopic operation: "
        f"{DENIED} (see CloudWatch Logs group /aws/lambda/cfnkit-provider, stream "
        "2026/01/01/[$LATEST]0123456789abcdef, request 00000000-0000-4000-8000-000000000001)"
    )
    out = capfd.readouterr()
    assert "provider raised" in out.out  # the traceback is in the function's log ...
    assert "7f3e9b1c" not in out.out + out.err  # ... and the secret property is not
