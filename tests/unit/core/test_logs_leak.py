"""Issue 2 #10: with every logger at DEBUG, no path prints a secret.

Every handler path runs with a canary secret property and a canary in NoEcho Data
(also fetched through botocore, whose DEBUG loggers print bodies), and the test
asserts neither canary reaches stdout or stderr, raw or JSON-escaped.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from cfnkit import (
    CustomResource,
    Field,
    InProgress,
    Provider,
    ProviderError,
    Request,
    Result,
    Schema,
    State,
    String,
    logs,
)
from cfnkit.sender import Delivery, HttpSender
from cfnkit.testing import (
    FakeClock,
    FakeContext,
    RecordingInvoker,
    RecordingSender,
    ResponseServer,
    create_event,
    delete_event,
    update_event,
)
from moto import mock_aws

SECRET = 'Pw"SecretCanary4417\\ñ-x'
NO_ECHO = "NoEchoCanary9902-ñ'value"
#: Each whole canary in the forms a log could show it in, and the plain core of each
#: (which survives any escaping, e.g. a JSON body inside a JSON string).
FORMS = {
    form
    for value in (SECRET, NO_ECHO)
    for form in (
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        repr(value.encode())[2:-1],
    )
} | {"SecretCanary4417", "NoEchoCanary9902"}


class Canary(Provider):
    """Behaves as `mode` says; every behaviour touches the canaries."""

    schema = Schema(Mode=Field(String(), required=True), Password=Field(String(), secret=True))

    def __init__(self, release: threading.Event | None = None) -> None:
        self.release = release

    def create(self, request: Request) -> Result | InProgress:
        mode = request.properties["Mode"]
        logs.get_logger("canary").debug("mode %s", mode)
        password = request.properties.get("Password", "")
        if mode == "ok":
            return Result(data={"Value": NO_ECHO}, no_echo=True)
        if mode == "provider-error":
            raise ProviderError(f"login with {password} refused")
        if mode == "crash":
            raise ValueError(f"crashed holding {password}")
        if mode == "oversize":
            return Result(data={"Value": NO_ECHO * 300}, no_echo=True)
        if mode == "botocore":
            return self._via_botocore(password)
        if mode == "block":
            assert self.release is not None
            self.release.wait(10.0)
            return Result(data={"Value": NO_ECHO}, no_echo=True)
        return InProgress({"mode": mode}, interval=30.0)

    update = create

    def delete(self, request: Request) -> Result:
        return Result(data={"Value": NO_ECHO}, no_echo=True)

    def poll(self, request: Request, state: State) -> Result | InProgress:
        if state["mode"] == "wait-ok":
            return Result(data={"Value": NO_ECHO}, no_echo=True)
        return InProgress(state, interval=30.0)

    def on_timeout(self, request: Request, state: State) -> str:
        return f"cleaned up {request.properties.get('Password')}"

    def timeout(self, request: Request) -> float | None:
        return 60.0 if request.properties["Mode"] == "wait-timeout" else None

    def _via_botocore(self, password: str) -> Result:
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="db", SecretString=json.dumps({"password": NO_ECHO, "old": password}))
        value = json.loads(client.get_secret_value(SecretId="db")["SecretString"])["password"]
        return Result(data={"Value": value}, no_echo=True)


class SignallingSender(RecordingSender):
    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
        delivery = super().send(url, body, deadline=deadline)
        self.release.set()
        return delivery


class CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at emit time (capfd swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


@pytest.fixture
def everything_at_debug(aws_env: None, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    # Depends on capfd so the root handler below writes to the captured stderr.
    logs.install("DEBUG")
    root = logging.getLogger()
    handler = CurrentStderr()  # like the Lambda runtime's handler on the root logger
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    for name in ("", "botocore", "boto3", "urllib3", "cfnkit", *logs.BODY_LOGGERS):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)


def props(mode: str) -> dict[str, Any]:
    return {"Mode": mode, "Password": SECRET}


def paths(server: ResponseServer) -> list[tuple[str, Callable[[], None]]]:
    clock = FakeClock()

    def call(
        event: Any,
        *,
        timeout: float = 900.0,
        invoker: RecordingInvoker | None = None,
        sender: Any = None,
        provider: Provider | None = None,
        context: Any = None,
    ) -> None:
        handler = CustomResource(
            provider or Canary(),
            sender=sender or HttpSender(clock=clock),
            clock=clock,
            invoker=invoker or RecordingInvoker(),
            deadline_margin=0.3,
        )
        handler(event, context or FakeContext(timeout, clock=clock))

    url = server.url
    handed: list[dict[str, Any]] = []

    def hand_off() -> None:
        invoker = RecordingInvoker()
        call(create_event(props("wait-long"), response_url=url), timeout=60.0, invoker=invoker)
        handed.append(invoker.calls[0][1])

    def watchdog() -> None:
        release = threading.Event()
        CustomResource(Canary(release), sender=SignallingSender(release), deadline_margin=0.3)(
            create_event(props("block"), response_url=url), FakeContext(timeout=1.0)
        )

    def failing_delivery() -> None:
        server.fail_next(1, 500)
        server.fail_next(1, 403)
        call(create_event(props("ok"), response_url=url))

    def with_botocore() -> None:
        with mock_aws():
            call(create_event(props("botocore"), response_url=url))

    return [
        ("create ok", lambda: call(create_event(props("ok"), response_url=url))),
        ("update ok", lambda: call(update_event(props("ok"), props("old"), "id-1", response_url=url))),
        ("delete", lambda: call(delete_event(props("ok"), "id-1", response_url=url))),
        ("delete failed create", lambda: call(delete_event(props("ok"), "cfnkit-failed-create-x", response_url=url))),
        ("provider error", lambda: call(create_event(props("provider-error"), response_url=url))),
        ("crash", lambda: call(create_event(props("crash"), response_url=url))),
        ("invalid properties", lambda: call(create_event({**props("ok"), "Extra": SECRET}, response_url=url))),
        ("malformed", lambda: call({**create_event(props("ok"), response_url=url), "RequestType": "Nope"})),
        ("malformed without url", lambda: call({**create_event(props("ok")), "ResponseURL": SECRET})),
        ("oversize", lambda: call(create_event(props("oversize"), response_url=url))),
        ("wait then ok", lambda: call(create_event(props("wait-ok"), response_url=url))),
        ("wait timeout", lambda: call(create_event(props("wait-timeout"), response_url=url))),
        ("hand off", hand_off),
        ("continued", lambda: call(handed[0])),
        (
            "invoke fails",
            lambda: call(
                create_event(props("wait-long"), response_url=url),
                timeout=60.0,
                invoker=RecordingInvoker(error=RuntimeError(f"denied {SECRET}")),
            ),
        ),
        ("delivery retried", failing_delivery),
        ("botocore", with_botocore),
        ("watchdog", watchdog),
    ]


@pytest.mark.usefixtures("everything_at_debug")
def test_no_path_prints_a_secret_at_debug(capfd: pytest.CaptureFixture[str]) -> None:
    with ResponseServer() as server:
        for name, path in paths(server):
            logs.redactor.clear()  # each path must register what it needs itself
            capfd.readouterr()
            path()
            out, err = capfd.readouterr()
            leaked = sorted(form for form in FORMS if form in out or form in err)
            assert leaked == [], f"{name} printed {leaked}"
            assert "X-Amz-Signature" not in out + err, name
            assert out, f"{name} logged nothing"
            if name == "botocore":  # botocore's DEBUG output did reach the captured stderr
                assert "DEBUG botocore.endpoint" in err
                assert "DEBUG botocore.parsers" in err
        bodies = [put.json() for put in server.puts]
    # The canaries did reach CloudFormation where they belong: NoEcho Data in the response bodies.
    assert any(body.get("Data") == {"Value": NO_ECHO} and body["NoEcho"] for body in bodies)
