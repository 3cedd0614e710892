"""Long waits: poll until done, give up at the deadline, continue past the Lambda limit.

`Waiter.wait` is the one call the handler makes after dispatching a request: it
polls the provider's InProgress until a Result, calls the provider's cleanup and
raises TimedOut at the overall deadline, and when the Lambda's remaining time runs
low it hands the wait to a new asynchronous invocation of its own function with
the original event plus the wait state. The continued invocation resumes polling
and never re-runs create/update. No EventBridge rules, no Step Functions, no extra
resources. Every timing rule it follows lives in `cfnkit.budget.Budget`.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import logs
from .budget import LOOP_DETECTION_INVOCATIONS, MAX_HOPS, RECURSIVE_LOOP_ENV, Budget, remaining_seconds
from .clock import Clock
from .errors import CfnkitError, ContinuationFailed, MalformedEvent, TimedOut
from .protocol import CONTINUATION_KEY, Request
from .provider import MAX_STATE_BYTES, InProgress, Outcome, Provider, Result, State

__all__ = [
    "LOCAL_CONTINUATION_ENV",
    "MAX_ASYNC_PAYLOAD_BYTES",
    "MAX_HOPS",
    "Continuation",
    "HandOff",
    "Invoker",
    "LambdaInvoker",
    "Waiter",
    "check_state",
    "continuation_event",
]

log = logs.get_logger("waiter")

#: Lambda's limit for an asynchronous invocation's payload.
MAX_ASYNC_PAYLOAD_BYTES = 256 * 1024
#: Local emulation (`cfnkit invoke`, `cfnkit demo`): when this names a directory,
#: LambdaInvoker writes the continued event there as a JSON file instead of calling
#: Lambda, and the emulator starts the next invocation from it.
LOCAL_CONTINUATION_ENV = "CFNKIT_LOCAL_CONTINUATION_DIR"
#: Runs its argument (the async re-invoke) as the request's answer; False when the
#: request was already answered (the handler's exactly-once responder).
HandOff = Callable[[Callable[[], None]], bool]


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


def continuation_event(request: Request, continuation: Continuation) -> dict[str, Any]:
    event = {k: v for k, v in request.raw.items() if k != CONTINUATION_KEY}
    event[CONTINUATION_KEY] = continuation.to_json()
    return event


class Invoker(Protocol):
    """Start the function again, asynchronously, with this event."""

    def invoke_async(self, function_arn: str, event: Mapping[str, Any]) -> None: ...


class Waiter:
    """Waits on one provider: `Waiter(provider, clock=..., invoker=...).wait(...)` once per invocation."""

    def __init__(self, provider: Provider, *, clock: Clock, invoker: Invoker) -> None:
        self.provider = provider
        self.clock = clock
        self.invoker = invoker

    def wait(
        self, request: Request, first: Outcome | Continuation, budget: Budget, context: Any, hand_off: HandOff
    ) -> Result | None:
        """The Result to answer with; None when the wait was handed to a new invocation.

        first: what create/update/delete returned, or the Continuation this invocation
        resumes (polled at once). context: the Lambda context (its remaining time and
        function ARN). hand_off: the handler's exactly-once claim on the answer.
        Raises a CfnkitError (TimedOut, ContinuationFailed, ...) to be answered as FAILED.
        """
        outcome = self.provider.poll(request, first.state) if isinstance(first, Continuation) else first
        self._check(outcome)
        if isinstance(outcome, Result):
            return outcome
        deadline = budget.wait_deadline(self.provider.timeout(request))
        if budget.hop == 0 and budget.loop_detection_applies:
            needed = budget.invocations_needed(self.provider.timeout(request))
            if needed > budget.max_hops + 1:
                fix = f"a longer Timeout, or RecursiveLoop Allow and {RECURSIVE_LOOP_ENV}=Allow"
                log.warning(
                    "a wait this long would need more invocations than Lambda's recursive loop detection allows",
                    extra={
                        "fields": {"invocations_needed": needed, "invocations_allowed": budget.max_hops + 1, "fix": fix}
                    },
                )
        while isinstance(outcome, InProgress):
            check_state(outcome.state)
            now = self.clock.now()
            if now >= deadline:
                raise TimedOut(now - budget.started_at, self._cleanup(request, outcome))
            pause = budget.pause(outcome.interval, now, deadline)
            if budget.hand_off_now(remaining_seconds(context), pause):
                self._hand_off(request, outcome, budget, context, hand_off)
                return None
            self.clock.sleep(pause)
            outcome = self.provider.poll(request, outcome.state)
            self._check(outcome)
        return outcome

    def _check(self, outcome: Any) -> None:
        name = type(self.provider).__name__
        if not isinstance(outcome, Result | InProgress):
            raise CfnkitError(f"{name} returned {type(outcome).__name__}, expected Result or InProgress")
        if isinstance(outcome, InProgress) and not (
            isinstance(outcome.interval, int | float) and math.isfinite(outcome.interval)
        ):
            raise CfnkitError(f"{name} returned InProgress with an interval that is not a number of seconds")

    def _hand_off(self, request: Request, outcome: InProgress, budget: Budget, context: Any, hand_off: HandOff) -> None:
        if budget.hops_exhausted:
            detail = self._cleanup(request, outcome)
            raise ContinuationFailed(self._hops_exhausted(budget) + (f"; {detail}" if detail else ""))
        function_arn = getattr(context, "invoked_function_arn", None)
        event = continuation_event(request, Continuation(outcome.state, budget.started_at, budget.next_hop))

        def invoke() -> None:
            if not function_arn:
                raise ContinuationFailed("the Lambda context has no invoked_function_arn")
            self.invoker.invoke_async(function_arn, event)

        try:
            handed = hand_off(invoke)
        except Exception as exc:
            detail = self._cleanup(request, outcome)
            reason = exc.reason() if isinstance(exc, CfnkitError) else f"{type(exc).__name__}: {exc}"
            raise ContinuationFailed(
                f"could not continue the wait in a new invocation: {reason}" + (f"; {detail}" if detail else "")
            ) from exc
        if handed:
            log.info("wait continues in a new invocation", extra={"fields": {"next_hop": budget.next_hop}})

    @staticmethod
    def _hops_exhausted(budget: Budget) -> str:
        if not budget.loop_detection_applies:
            return f"the wait was continued {budget.max_hops} times; giving up"
        # Answered now, in time: the next hand-off would be an invocation Lambda may drop,
        # leaving CloudFormation waiting until ServiceTimeout.
        return (
            f"the wait needs more than {budget.max_hops + 1} invocations of this function, and Lambda's recursive "
            f"loop detection stops a chain of about {LOOP_DETECTION_INVOCATIONS} (the function's RecursiveLoop is "
            f"Terminate, Lambda's default). Give the function a longer Timeout (this invocation had "
            f"{budget.remaining:.0f} s), or set its RecursiveLoop to Allow and its environment variable "
            f"{RECURSIVE_LOOP_ENV} to Allow"
        )

    def _cleanup(self, request: Request, outcome: InProgress) -> str:
        try:
            return self.provider.on_timeout(request, outcome.state)
        except Exception as exc:
            log.exception("cleanup after the deadline failed")
            return f"cleanup failed ({type(exc).__name__}: {exc})"


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
            self._client = boto3.client(
                "lambda",
                config=Config(
                    connect_timeout=2,
                    read_timeout=4,
                    retries={"mode": "standard", "total_max_attempts": 2},
                ),
            )
        reply = self._client.invoke(FunctionName=function_arn, InvocationType="Event", Payload=payload)
        status = reply.get("StatusCode")
        if status != 202:
            raise ContinuationFailed(f"Lambda Invoke answered status {status}, expected 202")


def _write_local(directory: str, payload: bytes) -> None:
    import tempfile

    try:
        # Beside its final name, so the rename is atomic; mkstemp's own name never ends in
        # .json, so a file left by an invocation killed mid-write is never read as an event.
        fd, tmp = tempfile.mkstemp(dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, os.path.join(directory, f"{time.time_ns()}-{os.getpid()}.json"))
    except OSError as exc:
        raise ContinuationFailed(f"could not write the continuation to {LOCAL_CONTINUATION_ENV}: {exc}") from exc
