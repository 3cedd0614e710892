"""Helpers of the fault matrix: the canary, log parsing, a canary provider, clocks and senders."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from cfnkit import Field, Provider, Request, Result, Schema, String
from cfnkit.sender import Delivery
from cfnkit.testing import FakeClock

#: The secret every case hands to the code under test; it must appear in no output.
CANARY = "canary-7f3e-Secret-Value-0042"


def assert_no_canary(capfd: pytest.CaptureFixture[str], *extra: Any) -> str:
    """Everything written to stdout/stderr so far (and any extra objects) is free of the canary."""
    out, err = capfd.readouterr()
    for text in (out, err, *(json.dumps(e, default=str) for e in extra)):
        assert CANARY not in text
    return out + err


def log_messages(output: str, message: str) -> list[dict[str, Any]]:
    """cfnkit's JSON log records with this message."""
    found = []
    for text in output.splitlines():
        if text.startswith("{"):
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if record.get("message") == message:
                found.append(record)
    return found


class CanaryProvider(Provider):
    """A provider that is handed the canary as a secret property and answers it as NoEcho Data."""

    schema = Schema(Password=Field(String(min_length=1), required=True, secret=True))

    def create(self, request: Request) -> Result:
        return Result(data={"Password": request.properties["Password"]}, no_echo=True)


class Killed(BaseException):
    """The Lambda process died: raised in the abandoned invocation when the test ends."""


class BlockingClock(FakeClock):
    """A clock whose sleep never returns until released (then raises Killed): a crash mid-wait."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()
        self.release = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        self.release.wait(60)
        raise Killed


class DeadSender:
    """Sends through `inner` until killed; afterwards drops everything (a dead process sends nothing)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.killed = False
        self.dropped = 0

    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
        if self.killed:
            self.dropped += 1
            return Delivery(False, 0, None, "process is dead")
        result: Delivery = self.inner.send(url, body, deadline=deadline)
        return result
