"""Fakes for testing providers, shipped with the package (ours and users').

- FakeClock: wall time that moves only when slept on or advanced; ScriptedClock also
  runs actions at chosen seconds of the wait.
- FakeContext: a Lambda context whose deadline is real (or follows a FakeClock).
- RecordingSender: records response bodies instead of sending them.
- ResponseServer: a real HTTP server on 127.0.0.1 standing in for the presigned
  S3 URL; it records PUTs and can fail the first N or stall.
- create_event / update_event / delete_event: protocol-complete events.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from .sender import Delivery

if TYPE_CHECKING:
    import ssl

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo-stack/11111111-2222-3333-4444-555555555555"
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:cfnkit-provider"  # noqa: S105 - an ARN
_NAMESPACE = uuid.UUID("6f1d7c2e-0000-4000-8000-00000000cf4e")


class FakeClock:
    """Epoch seconds that advance only through sleep() and advance()."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self._now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class ScriptedClock(FakeClock):
    """A FakeClock that runs actions once the waiting has slept past their second.

    clock.at(3.0, lambda: agent.stop(task_arn, [0])) makes "the task stops 3 s into the
    wait" happen deterministically, without real sleeping.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        super().__init__(start)
        self.start = start
        self.actions: list[tuple[float, Callable[[], None]]] = []

    def at(self, seconds: float, action: Callable[[], None]) -> None:
        self.actions.append((seconds, action))

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        due = [a for a in self.actions if self.now() - self.start >= a[0]]
        self.actions = [a for a in self.actions if a not in due]
        for _, action in due:
            action()


class FakeContext:
    """A Lambda context. Its deadline is real time unless a clock is given."""

    def __init__(
        self,
        timeout: float = 900.0,
        *,
        clock: FakeClock | None = None,
        function_name: str = "cfnkit-provider",
        region: str = "us-east-1",
        account: str = "123456789012",
        request_id: str = "00000000-0000-4000-8000-000000000001",
    ) -> None:
        self.clock = clock
        self._deadline = (clock.now() if clock else time.monotonic()) + timeout
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        now = self.clock.now() if self.clock else time.monotonic()
        return max(0, int((self._deadline - now) * 1000))


@dataclass
class RecordingSender:
    """Records what would be sent. `deliver=False` makes every delivery fail."""

    deliver: bool = True
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
        self.sent.append((url, json.loads(body)))
        return Delivery(self.deliver, 1, 200 if self.deliver else 500)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.sent]

    @property
    def only(self) -> dict[str, Any]:
        """The single response sent; fails unless exactly one was."""
        assert len(self.sent) == 1, f"expected exactly one response, got {len(self.sent)}"
        return self.sent[0][1]


@dataclass(frozen=True)
class ReceivedPut:
    path: str
    headers: Mapping[str, str]
    body: bytes
    at: float

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.body)
        return doc


class ResponseServer:
    """A real HTTP server on 127.0.0.1 that plays the presigned S3 ResponseURL.

    With `tls` (a server-side ssl.SSLContext holding a certificate for 127.0.0.1) it
    serves HTTPS, as every real ResponseURL does, and its URLs say https.

    with ResponseServer() as server:
        event = create_event({...}, response_url=server.url)
        ...
        body = server.wait_for(1)[0].json()
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.scheme = "https" if tls is not None else "http"
        self.puts: list[ReceivedPut] = []
        self.attempts = 0
        self._fail: list[int] = []
        self._stall = 0.0
        self._stall_count = 0
        self._cond = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with server._cond:
                    server.attempts += 1
                    stall = server._stall if server._stall_count > 0 else 0.0
                    if server._stall_count > 0:
                        server._stall_count -= 1
                    status = server._fail.pop(0) if server._fail else 200
                if stall:
                    time.sleep(stall)
                    return  # never answer this one
                if status < 300:
                    # Recorded before the answer is written: a sender that has its 200 has
                    # returned, and a test reading `puts` right after must find the PUT there.
                    with server._cond:
                        server.puts.append(ReceivedPut(self.path, dict(self.headers), body, time.time()))
                        server._cond.notify_all()
                self.send_response(status)
                payload = b"" if status < 400 else b"<Error><Code>AccessDenied</Code></Error>"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, fmt: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        # A short poll interval makes stop() quick (serve_forever checks for shutdown that often).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), daemon=True, name="response-server"
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url_for(self, name: str = "response") -> str:
        """A URL shaped like a presigned one (its query is a fake signature)."""
        return (
            f"{self.scheme}://127.0.0.1:{self.port}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Signature=0123456789abcdeffedcba9876543210"
        )

    @property
    def url(self) -> str:
        return self.url_for()

    def fail_next(self, count: int, status: int) -> None:
        """Answer the next `count` PUTs with `status` (they are not recorded)."""
        with self._cond:
            self._fail.extend([status] * count)

    def stall_next(self, count: int, seconds: float) -> None:
        """Hold the next `count` PUTs for `seconds` and never answer them."""
        with self._cond:
            self._stall, self._stall_count = seconds, count

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedPut]:
        """Block until `count` successful PUTs arrived; raise TimeoutError otherwise."""
        end = time.monotonic() + timeout
        with self._cond:
            while len(self.puts) < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} response(s), got {len(self.puts)}")
                self._cond.wait(left)
            return list(self.puts)

    def start(self) -> ResponseServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ResponseServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _request_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


class EventOptions(TypedDict, total=False):
    """What every event builder lets a test choose; the rest is fixed, deterministic data."""

    response_url: str  # default http://127.0.0.1:9/response (nothing listens there)
    logical_id: str  # default "Resource"
    resource_type: str  # default "Custom::Resource"
    stack_id: str  # default STACK_ID
    service_token: str  # default SERVICE_TOKEN
    service_timeout: int | None  # the ServiceTimeout property; default: not set
    request_id: str | None  # default: derived from the type, logical id and properties


def _event(request_type: str, properties: Mapping[str, Any], options: EventOptions) -> dict[str, Any]:
    service_token = options.get("service_token", SERVICE_TOKEN)
    logical_id = options.get("logical_id", "Resource")
    props: dict[str, Any] = {"ServiceToken": service_token, **properties}
    service_timeout = options.get("service_timeout")
    if service_timeout is not None:
        props["ServiceTimeout"] = str(service_timeout)
    return {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": options.get("response_url", "http://127.0.0.1:9/response"),
        "StackId": options.get("stack_id", STACK_ID),
        "RequestId": options.get("request_id")
        or _request_id(request_type, logical_id, json.dumps(properties, sort_keys=True, default=str)),
        "LogicalResourceId": logical_id,
        "ResourceType": options.get("resource_type", "Custom::Resource"),
        "ResourceProperties": props,
    }


def create_event(properties: Mapping[str, Any], **options: Unpack[EventOptions]) -> dict[str, Any]:
    """A Create event, as CloudFormation sends it (deterministic RequestId)."""
    return _event("Create", properties, options)


def update_event(
    properties: Mapping[str, Any], old_properties: Mapping[str, Any], physical_id: str, **options: Unpack[EventOptions]
) -> dict[str, Any]:
    """An Update event from old_properties to properties of the resource physical_id."""
    event = _event("Update", properties, options)
    event["PhysicalResourceId"] = physical_id
    event["OldResourceProperties"] = {"ServiceToken": event["ServiceToken"], **old_properties}
    return event


def delete_event(properties: Mapping[str, Any], physical_id: str, **options: Unpack[EventOptions]) -> dict[str, Any]:
    """A Delete event for the resource physical_id."""
    event = _event("Delete", properties, options)
    event["PhysicalResourceId"] = physical_id
    return event


class RecordingInvoker:
    """Records continuation invocations instead of calling Lambda; can fail."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    def invoke_async(self, function_arn: str, event: Mapping[str, Any]) -> None:
        if self.error is not None:
            raise self.error
        self.calls.append((function_arn, json.loads(json.dumps(event))))
