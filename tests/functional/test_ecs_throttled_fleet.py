"""Five runners wait at once on moto ECS whose read operations share one tiny token bucket.

ECS throttles per account and Region: DescribeTasks and ListTasks share one bucket
("Request throttling for the Amazon ECS API", ECS API Reference). The bucket here holds
4 tokens and refills 3 a second, so five concurrent runners are throttled at once; every
one must still answer exactly once, correctly, and no answer may blame throttling.
Real threads and the real clock (the runners are concurrent); tasks stop 1-3 s in.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from cfnkit import CustomResource
from cfnkit.testing import FakeContext, RecordingInvoker, ResponseServer, create_event
from cfnkit_tools.ecs_agent import EcsAgent, fargate_world
from ecs_runner import EcsTaskRunner
from moto import mock_aws
from moto.core.models import botocore_stubber

pytestmark = pytest.mark.functional

REGION = "us-east-1"
CLUSTER = "todobackend"
RUNNERS = 5
READS = ("DescribeTasks", "ListTasks")
#: moto's backend is not thread-safe: every ECS call and the agent's edits go through it one at a time.
MOTO = threading.Lock()


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


class ThrottledEcs:
    """One shared token bucket for the read operations, answered at the HTTP layer (before-send)."""

    def __init__(self, capacity: float = 4.0, refill: float = 3.0) -> None:
        self.capacity, self.refill, self.tokens = capacity, refill, capacity
        self.at = time.monotonic()
        self.lock = threading.Lock()
        self.calls = 0
        self.throttled = 0

    def client(self) -> Any:
        client = boto3.client("ecs", region_name=REGION)
        # botocore sends before-send to every handler: moto's own would run a throttled call too.
        client.meta.events.unregister("before-send", botocore_stubber)
        client.meta.events.register("before-send.ecs", self._send)
        return client

    def _send(self, request: Any, event_name: str, **_: Any) -> Any:
        if event_name.rsplit(".", 1)[-1] in READS:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.refill)
                self.at = now
                self.calls += 1
                allowed = self.tokens >= 1.0
                if allowed:
                    self.tokens -= 1.0
                else:
                    self.throttled += 1
            if not allowed:
                headers = HTTPHeaders()
                headers["Content-Type"] = "application/x-amz-json-1.1"
                return AWSResponse(
                    request.url, 400, headers, _Raw(b'{"__type":"ThrottlingException","message":"Rate exceeded"}')
                )
        with MOTO:
            return botocore_stubber(event_name, request)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        EcsAgent.hold()
        try:
            yield {**fargate_world(REGION, CLUSTER), "Timeout": "60"}
        finally:
            EcsAgent.release()


def test_throttled_fleet_answers_every_request_exactly_once_and_correctly(world: dict[str, Any]) -> None:
    throttle = ThrottledEcs()
    agent = EcsAgent(REGION)
    # Task k (in the order the tasks appear) stops 1 + 0.5 k seconds after it appears; the second exits 1.
    plans = [(1.0 + 0.5 * k, 1 if k == 1 else 0) for k in range(RUNNERS)]
    outcome: dict[str, int] = {}
    done = threading.Event()

    def play_agent() -> None:
        seen: dict[str, float] = {}
        while not done.wait(0.02):
            with MOTO:
                for arn in agent.task_arns(CLUSTER):
                    if arn not in seen and len(seen) < RUNNERS:
                        seen[arn] = time.monotonic()
                for index, (arn, since) in enumerate(seen.items()):
                    delay, code = plans[index]
                    if arn not in outcome and time.monotonic() >= since + delay:
                        agent.stop(arn, exit_codes={"migrate": code})
                        outcome[arn] = code

    with ResponseServer() as server:
        runners = []
        for i in range(RUNNERS):
            provider = EcsTaskRunner(throttle.client())
            event = create_event(
                world, response_url=server.url_for(f"R{i}"), logical_id=f"Migrate{i}", request_id=str(uuid.uuid4())
            )
            handler = CustomResource(provider, invoker=RecordingInvoker())
            runners.append(threading.Thread(target=handler, args=(event, FakeContext(60)), daemon=True))
        threading.Thread(target=play_agent, daemon=True).start()
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join(90)
        done.set()
        assert not any(runner.is_alive() for runner in runners)
        puts = list(server.puts)

    assert throttle.throttled > 0, "the bucket never ran dry: this test would prove nothing"
    assert len(puts) == RUNNERS
    assert sorted(p.path.split("?")[0] for p in puts) == [f"/R{i}" for i in range(RUNNERS)]  # exactly once each
    for put in puts:
        body = put.json()
        reason = str(body.get("Reason", ""))
        assert "hrottl" not in reason, reason
        if body["Status"] == "SUCCESS":
            assert outcome[body["Data"]["TaskArn"]] == 0, body
        else:
            [arn] = [task for task in outcome if reason.startswith(f"Task {task}: ")]
            assert outcome[arn] == 1, body
            assert "exited with code 1" in reason
    assert sorted(outcome.values()) == [0, 0, 0, 0, 1]
