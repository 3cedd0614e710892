"""Long waits: the overall deadline and continuation past the Lambda limit.

A wait ends at request start + min(ServiceTimeout or 3600 s minus a margin, the
provider's own timeout). When the Lambda's remaining time runs low first, the core
invokes its own function asynchronously with the original event plus the wait
state; the continued invocation resumes polling and never re-runs create/update.
No EventBridge rules, no Step Functions, no extra resources.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import ContinuationFailed, MalformedEvent
from .protocol import CONTINUATION_KEY, MAX_SERVICE_TIMEOUT, Request
from .provider import MAX_STATE_BYTES, State

#: Lambda's limit for an asynchronous invocation's payload.
MAX_ASYNC_PAYLOAD_BYTES = 256 * 1024
#: A runaway guard: 3600 s of waiting is 5 hops of a 900 s Lambda, or a few hundred of a very short one.
MAX_HOPS = 1000
#: Local emulation (`cfnkit invoke`, `cfnkit demo`): when this names a directory,
#: LambdaInvoker writes the continued event there as a JSON file instead of calling
#: Lambda, and the emulator starts the next invocation from it.
LOCAL_CONTINUATION_ENV = "CFNKIT_LOCAL_CONTINUATION_DIR"


@dataclass(frozen=True)
class Continuation:
    state: State
    started_at: float
    hop: int

    def to_json(self) -> dict[str, Any]:
        return {"state": dict(self.state), "started_at": self.started_at, "hop": self.hop}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Continuation | None:
        raw = event.get(CONTINUATION_KEY)
        if raw is None:
            return None
        if (
            not isinstance(raw, Mapping)
            or not isinstance(raw.get("state"), Mapping)
            or not isinstance(raw.get("started_at"), int | float)
            or not isinstance(raw.get("hop"), int)
        ):
            raise MalformedEvent([f"{CONTINUATION_KEY} must hold state, started_at and hop"])
        return cls(state=raw["state"], started_at=float(raw["started_at"]), hop=raw["hop"])


def check_state(state: State) -> None:
    try:
        size = len(json.dumps(state, separators=(",", ":")).encode())
    except (TypeError, ValueError) as exc:
        raise ContinuationFailed(f"the provider's wait state is not JSON-safe ({exc})") from exc
    if size > MAX_STATE_BYTES:
        raise ContinuationFailed(f"the provider's wait state is {size} bytes; the limit is {MAX_STATE_BYTES}")


def overall_limit(request: Request, provider_timeout: float | None) -> float:
    """Seconds from the request's start until the wait must have answered.

    CloudFormation stops waiting at ServiceTimeout (default 3600 s), so we answer a
    margin before it: 10 s, or 10% for short timeouts. A provider's own shorter
    timeout is used as given.
    """
    service = float(request.service_timeout or MAX_SERVICE_TIMEOUT)
    limit = service - min(10.0, service * 0.1)
    if provider_timeout is not None and provider_timeout > 0:
        limit = min(limit, float(provider_timeout))
    return limit


def continuation_event(request: Request, continuation: Continuation) -> dict[str, Any]:
    event = {k: v for k, v in request.raw.items() if k != CONTINUATION_KEY}
    event[CONTINUATION_KEY] = continuation.to_json()
    return event


class Invoker(Protocol):
    """Start the function again, asynchronously, with this event."""

    def invoke_async(self, function_arn: str, event: Mapping[str, Any]) -> None: ...


class LambdaInvoker:
    """Lambda Invoke with InvocationType Event (boto3 is imported only when used).

    Without a client, and with CFNKIT_LOCAL_CONTINUATION_DIR set, the event is written
    to that directory (`<ns>-<pid>.json`, atomically) instead: the local emulator's seam.
    """

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def invoke_async(self, function_arn: str, event: Mapping[str, Any]) -> None:
        payload = json.dumps(event, separators=(",", ":")).encode()
        if len(payload) > MAX_ASYNC_PAYLOAD_BYTES:
            raise ContinuationFailed(
                f"continuation payload is {len(payload)} bytes; Lambda's limit is {MAX_ASYNC_PAYLOAD_BYTES}"
            )
        local_dir = os.environ.get(LOCAL_CONTINUATION_ENV)
        if self._client is None and local_dir:
            _write_local(local_dir, payload)
            return
        if self._client is None:
            import boto3
            from botocore.config import Config

            # The hand-off happens handoff_margin (20 s) before the Lambda deadline and the
            # watchdog cannot answer while it runs: botocore's defaults (60 s read timeout,
            # retries) could outlast the invocation, so bound it well inside that window.
            self._client = boto3.client("lambda", config=Config(
                connect_timeout=2, read_timeout=4, retries={"mode": "standard", "total_max_attempts": 2},
            ))
        reply = self._client.invoke(FunctionName=function_arn, InvocationType="Event", Payload=payload)
        status = reply.get("StatusCode")
        if status != 202:
            raise ContinuationFailed(f"Lambda Invoke answered status {status}, expected 202")


def _write_local(directory: str, payload: bytes) -> None:
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".continuation-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, os.path.join(directory, f"{time.time_ns()}-{os.getpid()}.json"))
    except OSError as exc:
        raise ContinuationFailed(f"could not write the continuation to {LOCAL_CONTINUATION_ENV}: {exc}") from exc
