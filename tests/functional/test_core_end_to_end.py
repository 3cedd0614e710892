"""A sample provider end to end: real HttpSender, real local ResponseServer (127.0.0.1)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from cfnkit import (
    CustomResource,
    Field,
    InProgress,
    Integer,
    Provider,
    ProviderError,
    Request,
    Result,
    Schema,
    State,
    String,
)
from cfnkit.sender import HttpSender
from cfnkit.testing import FakeContext, ResponseServer, create_event, delete_event, update_event

pytestmark = pytest.mark.functional


class Buckets(Provider):
    """A toy provider: 'creates' a bucket named by the properties, waits for it, deletes it."""

    schema = Schema(
        BucketName=Field(String(min_length=3), required=True),
        Replicas=Field(Integer(minimum=1, maximum=3), default=1),
        Mode=Field(String(choices=("ok", "fail", "block")), default="ok"),
    )

    def __init__(self) -> None:
        self.buckets: dict[str, int] = {}
        self.release = threading.Event()

    def create(self, request: Request) -> InProgress | Result:
        props = request.properties
        if props["Mode"] == "fail":
            raise ProviderError(f"bucket {props['BucketName']} is taken")
        if props["Mode"] == "block":
            self.release.wait(10.0)
            return Result()
        self.buckets[props["BucketName"]] = props["Replicas"]
        return InProgress({"name": props["BucketName"], "checks": 0}, interval=0.01)

    def poll(self, request: Request, state: State) -> InProgress | Result:
        if state["checks"] < 2:
            return InProgress({**state, "checks": state["checks"] + 1}, interval=0.01)
        name = state["name"]
        return Result(physical_id=name, data={"Arn": f"arn:aws:s3:::{name}", "Replicas": self.buckets[name]})

    def update(self, request: Request) -> InProgress | Result:
        old = request.old_properties or {}
        if old.get("BucketName") == request.properties["BucketName"]:
            self.buckets[request.properties["BucketName"]] = request.properties["Replicas"]
            return Result(data={"Replicas": request.properties["Replicas"]})
        return self.create(request)  # a new name: replacement

    def delete(self, request: Request) -> Result:
        self.buckets.pop(request.physical_id or "", None)
        return Result()


def handler(provider: Buckets, **kwargs: Any) -> CustomResource:
    return CustomResource(provider, sender=HttpSender(backoff_base=0.01), **kwargs)


def test_create_update_replace_delete_lifecycle(server: ResponseServer) -> None:
    provider = Buckets()
    run = handler(provider)
    url = server.url
    run(create_event({"BucketName": "logs", "Replicas": "2"}, response_url=url), FakeContext())
    run(
        update_event(
            {"BucketName": "logs", "Replicas": "3"}, {"BucketName": "logs", "Replicas": "2"}, "logs", response_url=url
        ),
        FakeContext(),
    )
    run(
        update_event({"BucketName": "logs2"}, {"BucketName": "logs", "Replicas": "3"}, "logs", response_url=url),
        FakeContext(),
    )
    run(delete_event({"BucketName": "logs"}, "logs", response_url=url), FakeContext())
    bodies = [put.json() for put in server.wait_for(4)]
    assert [(b["Status"], b["PhysicalResourceId"], b.get("Data")) for b in bodies] == [
        ("SUCCESS", "logs", {"Arn": "arn:aws:s3:::logs", "Replicas": 2}),
        ("SUCCESS", "logs", {"Replicas": 3}),
        ("SUCCESS", "logs2", {"Arn": "arn:aws:s3:::logs2", "Replicas": 1}),
        ("SUCCESS", "logs", None),
    ]
    assert provider.buckets == {"logs2": 1}
    assert all(put.headers["Content-Type"] == "" for put in server.puts)


def test_failed_create_then_its_delete(server: ResponseServer) -> None:
    provider = Buckets()
    run = handler(provider)
    run(create_event({"BucketName": "taken", "Mode": "fail"}, response_url=server.url, request_id="r-1"), FakeContext())
    failed = server.wait_for(1)[0].json()
    assert (failed["Status"], failed["Reason"], failed["PhysicalResourceId"]) == (
        "FAILED",
        "bucket taken is taken",
        "cfnkit-failed-create-r-1",
    )
    run(delete_event({"BucketName": "taken"}, failed["PhysicalResourceId"], response_url=server.url), FakeContext())
    deleted = server.wait_for(2)[1].json()
    assert (deleted["Status"], deleted["PhysicalResourceId"]) == ("SUCCESS", "cfnkit-failed-create-r-1")


def test_invalid_properties_reach_cloudformation_as_one_failed(server: ResponseServer) -> None:
    handler(Buckets())(
        create_event({"BucketName": "ab", "Replicas": "9", "Colour": "red"}, response_url=server.url, request_id="r-2"),
        FakeContext(),
    )
    body = server.wait_for(1)[0].json()
    assert (body["Status"], body["Reason"], body["PhysicalResourceId"]) == (
        "FAILED",
        "Invalid properties: Colour: unknown property; BucketName: expected a non-empty string; "
        "Replicas: expected an integer from 1 to 3, got a number out of range",
        "cfnkit-failed-create-r-2",
    )


def test_server_errors_are_retried_until_delivered(server: ResponseServer) -> None:
    server.fail_next(2, 500)
    handler(Buckets())(create_event({"BucketName": "logs"}, response_url=server.url), FakeContext())
    assert server.wait_for(1)[0].json()["Status"] == "SUCCESS"
    assert server.attempts == 3


def test_a_malformed_event_is_answered_failed(server: ResponseServer) -> None:
    event = {**create_event({"BucketName": "logs"}, response_url=server.url, request_id="r-3"), "RequestType": "Upsert"}
    handler(Buckets())(event, FakeContext())
    body = server.wait_for(1)[0].json()
    assert (body["Status"], body["Reason"], body["PhysicalResourceId"]) == (
        "FAILED",
        "Malformed custom resource event: RequestType must be one of Create, Update, Delete",
        "cfnkit-failed-create-r-3",
    )


def test_a_blocking_provider_is_answered_once_before_the_lambda_deadline(server: ResponseServer) -> None:
    provider = Buckets()
    run = handler(provider, deadline_margin=0.5)

    def release_after_answer() -> None:
        server.wait_for(1)
        provider.release.set()

    releaser = threading.Thread(target=release_after_answer)
    releaser.start()
    run(
        create_event({"BucketName": "slow", "Mode": "block"}, response_url=server.url, request_id="r-4"),
        FakeContext(timeout=5.0),
    )
    releaser.join(10.0)
    assert len(server.puts) == 1
    body = server.puts[0].json()
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", "cfnkit-failed-create-r-4")
    assert body["Reason"].startswith("The function was still working 0.5 s before its Lambda timeout")
