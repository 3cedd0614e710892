"""A handler given a ready event whose ResponseURL cannot be reached finishes, logs, never hangs.

The real app.handler runs (real HttpSender, moto behind boto3), with the event's
ResponseURL pointed at 127.0.0.1: a closed port (refused at once, retried until the
deadline) or a listener that never answers (the read timeout is cut to the deadline).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnkit.testing import FakeContext
from moto import mock_aws

from tests.support import load_app

#: A short Lambda timeout keeps the suite quick; the bound is what matters, not its size.
LAMBDA_TIMEOUT_S = 3.0
#: How long past the Lambda timeout we wait before calling it a hang.
GRACE_S = 5.0
SIGNATURE = "5ee0c0ffee5ee0c0ffee5ee0c0ffee5ee0c0ffee5ee0c0ffee5ee0c0ffee5ee0"

EVENT_FILES = [
    f"{function}/{kind}.json"
    for function in ("ecs_task_runner", "secrets_resolver")
    for kind in ("create", "update", "delete")
]


@pytest.fixture(autouse=True)
def _aws(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 that nobody listens on: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener that never accepts: connect succeeds, no reply ever comes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def load_handler(root: Path, function: str) -> Callable[[dict[str, Any], Any], Any]:
    handler: Callable[[dict[str, Any], Any], Any] = load_app(function, f"cfnkit_delivery_test_{function}_app").handler
    return handler


def unreachable(event: dict[str, Any], port: int) -> dict[str, Any]:
    path = event["ResponseURL"].split("/", 3)[3].split("?")[0]
    event = dict(event)
    event["ResponseURL"] = (
        f"http://127.0.0.1:{port}/{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Expires=7200&X-Amz-Signature={SIGNATURE}"
    )
    return event


def run_bounded(handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]) -> bool:
    """Run the handler in a thread; True when it returned before timeout + grace."""
    done = threading.Event()

    def target() -> None:
        try:
            handler(event, FakeContext(timeout=LAMBDA_TIMEOUT_S, function_name="cfnkit-test"))
        finally:
            done.set()

    threading.Thread(target=target, daemon=True, name="handler-under-test").start()
    return done.wait(LAMBDA_TIMEOUT_S + GRACE_S)


def log_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def assert_delivery_failure_logged(output: str, request_id: str) -> None:
    lines = [line for line in log_lines(output) if line.get("cfn_request_id") == request_id]
    messages = [line["message"] for line in lines]
    assert "sending response" in messages
    assert "response NOT delivered" in messages
    assert "CloudFormation was not told the outcome" in messages
    assert SIGNATURE not in output  # the presigned URL's query is never logged


@pytest.mark.slow
@pytest.mark.parametrize("relative", EVENT_FILES)
def test_handler_finishes_with_logged_failure_when_response_url_refuses(
    root: Path, closed_port: int, capsys: pytest.CaptureFixture[str], relative: str
) -> None:
    event = unreachable(json.loads((root / "events" / relative).read_text()), closed_port)
    handler = load_handler(root, relative.split("/", maxsplit=1)[0])
    assert run_bounded(handler, event), "the handler did not return within its Lambda timeout"
    assert_delivery_failure_logged(capsys.readouterr().out, event["RequestId"])


@pytest.mark.slow
@pytest.mark.parametrize("function", ["ecs_task_runner", "secrets_resolver"])
def test_handler_finishes_with_logged_failure_when_response_url_never_answers(
    root: Path, silent_port: int, capsys: pytest.CaptureFixture[str], function: str
) -> None:
    event = unreachable(json.loads((root / "events" / function / "create.json").read_text()), silent_port)
    handler = load_handler(root, function)
    assert run_bounded(handler, event), "the handler did not return within its Lambda timeout"
    assert_delivery_failure_logged(capsys.readouterr().out, event["RequestId"])
