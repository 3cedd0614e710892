"""50 secrets resolved at once by one warm function (threads): each answered once, right values, no leak."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from cfnkit.testing import FakeContext, ResponseServer, create_event
from moto import mock_aws

from tests.reliability.faults import CANARY, assert_no_canary
from tests.support import load_app

pytestmark = pytest.mark.functional

COUNT = 50


@pytest.fixture
def world(aws_env: None) -> Iterator[ResponseServer]:
    with mock_aws(), ResponseServer() as server:
        client = boto3.client("secretsmanager")
        for i in range(COUNT):
            client.create_secret(
                Name=f"app/{i}", SecretString=json.dumps({"Password": f"{CANARY}-{i}", "User": f"user{i}"})
            )
        yield server


def test_fifty_secrets_resolved_concurrently_are_each_answered_once(
    world: ResponseServer, capfd: pytest.CaptureFixture[str], matrix: Callable[..., None]
) -> None:
    matrix(f"{COUNT} secrets resolved concurrently (threads, one warm app.py)", f"{COUNT} SUCCESS, 1 each, no leak")
    app = load_app("secrets_resolver", "reliability_secrets_app")
    errors: list[BaseException] = []

    def resolve(i: int) -> None:
        event = create_event(
            {"SecretId": f"app/{i}"},
            response_url=world.url_for(f"r{i}"),
            logical_id=f"Secret{i}",
            resource_type="Custom::SecretsResolver",
        )
        try:
            app.handler(event, FakeContext(300))
        except BaseException as exc:  # the handler must not raise; recorded and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=resolve, args=(i,)) for i in range(COUNT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    puts = world.wait_for(COUNT, timeout=240)
    by_path: dict[str, list[dict[str, Any]]] = {}
    for put in puts:
        by_path.setdefault(put.path.split("?")[0], []).append(put.json())
    statuses = sorted({b["Status"] for bodies in by_path.values() for b in bodies})
    matrix(observed=f"{len(puts)} responses for {len(by_path)} requests, statuses {statuses}, {len(errors)} raised")
    assert errors == []
    assert sorted(by_path) == sorted(f"/r{i}" for i in range(COUNT))
    for i in range(COUNT):
        (body,) = by_path[f"/r{i}"]
        assert (body["Status"], body["NoEcho"]) == ("SUCCESS", True)
        assert body["Data"] == {"Password": f"{CANARY}-{i}", "User": f"user{i}"}
    assert_no_canary(capfd)
