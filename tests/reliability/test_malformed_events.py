"""Malformed events through the secrets resolver: never a crash, one answer when answerable, no leak."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from cfnkit import CustomResource
from cfnkit.protocol import MAX_BODY_BYTES
from cfnkit.testing import FakeContext, RecordingSender, create_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from secret_resolver import SecretCache, SecretsResolver

from tests.reliability.faults import CANARY, assert_no_canary

SECRET_ID = "app/db"
URL = "http://127.0.0.1:9/response?X-Amz-Signature=0123"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "ResourceType",
    "ResourceProperties",
    "OldResourceProperties",
    "PhysicalResourceId",
    "ServiceToken",
    "CfnkitContinuation",
]
field_values = st.one_of(
    json_values,
    st.sampled_from(["Create", "Update", "Delete", "create", ""]),
    st.sampled_from([URL, "https://bucket.s3.amazonaws.com/r?X-Amz-Signature=1", "ftp://h/r", "http://", "/r"]),
    st.fixed_dictionaries({"SecretId": st.sampled_from([SECRET_ID, "", "app/missing"]), "Keys": json_values}),
    st.fixed_dictionaries({"state": json_values, "started_at": st.integers(), "hop": st.integers()}),
)


@st.composite
def events(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    event: dict[str, Any] = create_event(
        {"SecretId": SECRET_ID}, response_url=URL, logical_id="Secrets", resource_type="Custom::SecretsResolver"
    )
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4)):
        if draw(st.booleans()):
            event.pop(name, None)
        else:
            event[name] = draw(field_values)
    return event


def answerable(event: Any) -> bool:
    url = event.get("ResponseURL") if isinstance(event, dict) else None
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


@pytest.fixture
def secrets(aws_env: None) -> Iterator[None]:
    with mock_aws():
        boto3.client("secretsmanager").create_secret(Name=SECRET_ID, SecretString=json.dumps({"Password": CANARY}))
        yield


@pytest.mark.functional
def test_malformed_events_never_crash_answer_once_and_leak_nothing(
    secrets: None, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix("Malformed events (hypothesis, 150 examples)", "no raise; 1 answer if the URL is usable, else 0")
    seen: Counter[str] = Counter()

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(event=events())
    def check(event: Any) -> None:
        sender = RecordingSender()
        handler = CustomResource(SecretsResolver(cache=SecretCache(max_age=0)), sender=sender)
        handler(event, FakeContext(30))
        bodies = sender.bodies
        assert len(bodies) == (1 if answerable(event) else 0)
        for body in bodies:
            encoded = json.dumps(body)
            assert len(encoded.encode()) <= MAX_BODY_BYTES
            assert body["Status"] in ("SUCCESS", "FAILED")
            if body["Status"] == "FAILED":
                assert body["Reason"]
            if CANARY in encoded:  # only a SUCCESS with the secret's value, and then NoEcho
                assert (body["Status"], body["NoEcho"]) == ("SUCCESS", True)
            assert CANARY not in body.get("Reason", "")
            seen[body["Status"]] += 1
        if not bodies:
            seen["unanswerable"] += 1
        assert_no_canary(capfd)

    check()
    matrix(
        observed=f"{sum(seen.values())} events: {seen['FAILED']} FAILED, {seen['SUCCESS']} SUCCESS, "
        f"{seen['unanswerable']} unanswerable; 0 raised, 0 leaks"
    )
    assert seen["FAILED"] > 0
    assert seen["unanswerable"] > 0
