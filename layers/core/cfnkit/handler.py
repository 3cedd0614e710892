"""CustomResource: the Lambda handler that always answers exactly once.

Every outcome becomes exactly one response: the provider's result, a framework
error, any exception, the overall deadline of a wait, or a provider that blocks
until the Lambda deadline approaches (a watchdog thread sends FAILED a margin
before it). One lock decides who answers; a hand-off to a continued invocation
counts as answering, so the watchdog never sends after it.
"""

from __future__ import annotations

import contextvars
import json
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from . import logs
from .errors import CfnkitError, ContinuationFailed, InvalidProperties, MalformedEvent, TimedOut
from .protocol import (
    FAILED_CREATE_PREFIX,
    MAX_PHYSICAL_ID_BYTES,
    MAX_SERVICE_TIMEOUT,
    Request,
    RequestType,
    Response,
    Status,
    check_physical_id,
    encode_response,
    parse_request,
)
from .provider import InProgress, Outcome, Provider, Result
from .sender import Clock, Delivery, HttpSender, Sender, SystemClock
from .waiter import (
    MAX_HOPS,
    Continuation,
    Invoker,
    LambdaInvoker,
    check_state,
    continuation_event,
    overall_limit,
)

log = logs.get_logger("handler")
#: Without a Lambda context (an ad-hoc call) assume Lambda's maximum.
DEFAULT_REMAINING_S = 900.0


class LambdaContext(Protocol):
    aws_request_id: str
    invoked_function_arn: str
    log_group_name: str
    log_stream_name: str

    def get_remaining_time_in_millis(self) -> int: ...


def _remaining(context: Any) -> float:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(getter):
        return DEFAULT_REMAINING_S
    try:
        return max(0.0, float(getter()) / 1000.0)
    except (TypeError, ValueError):  # a broken context must not stop the answer
        return DEFAULT_REMAINING_S


def where_logs_are(context: Any) -> str:
    group = getattr(context, "log_group_name", None)
    stream = getattr(context, "log_stream_name", None)
    request = getattr(context, "aws_request_id", None)
    if not group:
        return "see the function's logs"
    return f"see CloudWatch Logs group {group}, stream {stream}, request {request}"


class _Responder:
    """Sends at most once per invocation; a hand-off also closes it."""

    def __init__(self, url: str, sender: Sender, deadline: float) -> None:
        self.url = url
        self.sender = sender
        self.deadline = deadline
        self.lock = threading.Lock()
        self.closed_by: str | None = None

    def respond(self, response: Response, *, by: str, oversize_hint: str = "") -> bool:
        with self.lock:
            if self.closed_by is not None:
                log.warning(
                    "response suppressed: this request was already answered",
                    extra={"fields": {"answered_by": self.closed_by, "suppressed": by}},
                )
                return False
            self.closed_by = by
            try:
                body, sent = encode_response(response, oversize_hint=oversize_hint)
            except Exception as exc:  # this request must still get its one answer
                log.exception("the response could not be encoded")
                body, sent = encode_response(replace(
                    response, status=Status.FAILED, data=None,
                    reason=f"The response could not be encoded ({type(exc).__name__}: {exc})",
                ))
            log.info(
                "sending response",
                extra={"fields": {
                    "status": sent.status.value,
                    "reason": sent.reason,
                    "physical_id": sent.physical_id,
                    "data_keys": sorted(str(key) for key in sent.data or {}),
                    "no_echo": sent.no_echo,
                    "bytes": len(body),
                    "by": by,
                }},
            )
            try:
                delivery: Delivery = self.sender.send(self.url, body, deadline=self.deadline)
            except Exception as exc:  # a broken sender must not make the handler raise
                delivery = Delivery(False, 1, None, f"{type(exc).__name__}: {logs.hide_query(str(exc), self.url)}")
            if not delivery.delivered:
                log.error(
                    "CloudFormation was not told the outcome",
                    extra={"fields": {"status": delivery.status, "error": delivery.error}},
                )
            return True

    def hand_off(self, action: Callable[[], None]) -> bool:
        """Run action (the async re-invoke) as this request's answer, unless already answered."""
        with self.lock:
            if self.closed_by is not None:
                return False
            action()
            self.closed_by = "continuation"
            return True


class _Watchdog:
    def __init__(self, delay: float, fire: Callable[[], None]) -> None:
        self._stop = threading.Event()
        self._fire = fire
        # The watchdog logs with the request's ids: run it in a copy of this context.
        scope = contextvars.copy_context()
        self._thread = threading.Thread(target=scope.run, args=(self._run, max(0.0, delay)), daemon=True,
                                        name="cfnkit-watchdog")
        self._thread.start()

    def _run(self, delay: float) -> None:
        if not self._stop.wait(delay):
            self._fire()

    def cancel(self) -> None:
        self._stop.set()


class CustomResource:
    """The Lambda handler for one provider: `handler = CustomResource(MyProvider())`.

    Seams (all optional): sender (delivers the response), clock (wall time and
    sleep for the waiter), invoker (the async self-invocation that continues a
    wait). deadline_margin: FAILED is sent this long before the Lambda deadline
    when the provider is still running; handoff_margin: a wait is handed to a new
    invocation when less than this remains. Both shrink to 10% and 25% of the
    invocation's time for very short timeouts.
    """

    def __init__(
        self,
        provider: Provider,
        *,
        sender: Sender | None = None,
        clock: Clock | None = None,
        invoker: Invoker | None = None,
        deadline_margin: float = 5.0,
        handoff_margin: float = 20.0,
        log_level: str | int | None = None,
    ) -> None:
        self.provider = provider
        self.clock: Clock = clock or SystemClock()
        self.sender: Sender = sender or HttpSender(clock=self.clock)
        self.invoker: Invoker = invoker or LambdaInvoker()
        self.deadline_margin = deadline_margin
        self.handoff_margin = handoff_margin
        self.log_level = log_level

    def __call__(self, event: Any, context: Any) -> None:
        logs.install(self.log_level)
        remaining = _remaining(context)
        lambda_deadline = self.clock.now() + remaining
        try:
            request = parse_request(event)
            continuation = Continuation.from_event(event)
        except MalformedEvent as exc:
            self._answer_malformed(event, exc, lambda_deadline)
            return
        hop = continuation.hop if continuation else 0
        with logs.request_scope(
            cfn_request_id=request.request_id,
            stack_id=request.stack_id,
            logical_id=request.logical_id,
            request_type=request.request_type.value,
            hop=hop,
        ):
            log.info(
                "request received",
                extra={"fields": {
                    "resource_type": request.resource_type,
                    "physical_id": request.physical_id,
                    "properties": sorted(str(name) for name in request.properties),
                    "service_timeout": request.service_timeout,
                }},
            )
            margin = min(self.deadline_margin, remaining * 0.1)
            # The watchdog answers `margin` before the Lambda deadline; its PUT must fit
            # in what is left (a fixed 0.2 s reserve would leave nothing for short timeouts).
            responder = _Responder(request.response_url, self.sender, lambda_deadline - min(0.2, margin / 4))
            # The watchdog also guards CloudFormation's own limit (ServiceTimeout): a
            # provider blocked past it would otherwise answer after nobody listens. It fires
            # half a margin after the waiter's deadline, so a wait that is polling still
            # gets its cleanup and "timed out" Reason first.
            started = continuation.started_at if continuation else self.clock.now()
            service = float(request.service_timeout or MAX_SERVICE_TIMEOUT)
            # A wait already past its deadline still gets `margin` to poll and clean up.
            service_left = max(margin, started + service - min(10.0, service * 0.1) / 2 - self.clock.now())
            lambda_first = remaining - margin <= service_left
            watchdog = _Watchdog(
                min(remaining - margin, service_left),
                lambda: self._deadline_reached(request, responder, context, margin, lambda_first, service),
            )
            try:
                self._handle(request, continuation, context, responder, min(self.handoff_margin, remaining * 0.25))
            except BaseException as exc:  # the last line of defence: always answer
                log.exception("unexpected error")
                responder.respond(self._failed(request, self._unexpected(exc, context)), by="handler")
            finally:
                watchdog.cancel()
        return

    # -- the request ------------------------------------------------------------

    def _handle(
        self,
        request: Request,
        continuation: Continuation | None,
        context: Any,
        responder: _Responder,
        handoff_margin: float,
    ) -> None:
        if request.request_type is RequestType.DELETE and (request.physical_id or "").startswith(
            FAILED_CREATE_PREFIX
        ):
            log.info("Delete after a failed Create: nothing was created, nothing to delete")
            responder.respond(self._response(request, Status.SUCCESS, request.physical_id or ""), by="handler")
            return
        try:
            request = self._with_properties(request)
            if continuation is None:
                started_at, hop = self.clock.now(), 0
                outcome = self._call(request)
            else:
                started_at, hop = continuation.started_at, continuation.hop
                outcome = self.provider.poll(request, continuation.state)
            result = self._wait(request, outcome, started_at, hop, context, responder, handoff_margin)
        except CfnkitError as exc:
            responder.respond(self._failed(request, exc.reason()), by="handler")
            return
        except Exception as exc:
            log.exception("provider raised")
            responder.respond(self._failed(request, self._unexpected(exc, context)), by="handler")
            return
        if result is not None:
            response = self._success(request, result)
            responder.respond(response, by="handler", oversize_hint=result.oversize_hint)

    def _with_properties(self, request: Request) -> Request:
        schema = self.provider.schema
        if schema is None:
            return request
        if request.request_type is RequestType.DELETE:
            # Delete must not fail on properties a newer version would reject.
            try:
                props = schema.parse(request.properties)
            except InvalidProperties as exc:
                log.warning("Delete with invalid properties; using defaults for them",
                            extra={"fields": {"problems": [str(p) for p in exc.problems]}})
                props = schema.parse_lenient(request.properties)
        else:
            props = schema.parse(request.properties)
        old = None
        if request.old_properties is not None:
            old = schema.parse_lenient(request.old_properties)
        return replace(request, properties=props, old_properties=old)

    def _call(self, request: Request) -> Outcome:
        method = {
            RequestType.CREATE: self.provider.create,
            RequestType.UPDATE: self.provider.update,
            RequestType.DELETE: self.provider.delete,
        }[request.request_type]
        return method(request)

    def _wait(
        self,
        request: Request,
        outcome: Outcome,
        started_at: float,
        hop: int,
        context: Any,
        responder: _Responder,
        handoff_margin: float,
    ) -> Result | None:
        """Poll until a Result; None when the wait was handed to a new invocation."""
        self._check_outcome(outcome)
        if isinstance(outcome, Result):
            return outcome
        limit = overall_limit(request, self.provider.timeout(request))
        deadline = started_at + limit
        while isinstance(outcome, InProgress):
            check_state(outcome.state)
            now = self.clock.now()
            if now >= deadline:
                detail = self._cleanup(request, outcome)
                raise TimedOut(now - started_at, detail)
            pause = max(0.0, min(outcome.interval, deadline - now))
            if _remaining(context) - pause < handoff_margin:
                self._hand_off(request, Continuation(outcome.state, started_at, hop + 1), context, responder,
                               outcome)
                return None
            self.clock.sleep(pause)
            outcome = self.provider.poll(request, outcome.state)
            self._check_outcome(outcome)
        return outcome

    def _check_outcome(self, outcome: Any) -> None:
        if not isinstance(outcome, Result | InProgress):
            raise CfnkitError(f"{type(self.provider).__name__} returned {type(outcome).__name__}, "
                              "expected Result or InProgress")
        if isinstance(outcome, InProgress) and not (
            isinstance(outcome.interval, int | float) and math.isfinite(outcome.interval)
        ):
            raise CfnkitError(f"{type(self.provider).__name__} returned InProgress with an interval that is "
                              "not a number of seconds")

    def _hand_off(
        self, request: Request, continuation: Continuation, context: Any, responder: _Responder,
        outcome: InProgress,
    ) -> None:
        if continuation.hop > MAX_HOPS:
            detail = self._cleanup(request, outcome)
            raise ContinuationFailed(
                f"the wait was continued {MAX_HOPS} times; giving up" + (f"; {detail}" if detail else "")
            )
        function_arn = getattr(context, "invoked_function_arn", None)
        event = continuation_event(request, continuation)

        def invoke() -> None:
            if not function_arn:
                raise ContinuationFailed("the Lambda context has no invoked_function_arn")
            self.invoker.invoke_async(function_arn, event)

        try:
            handed = responder.hand_off(invoke)
        except Exception as exc:
            detail = self._cleanup(request, outcome)
            reason = exc.reason() if isinstance(exc, CfnkitError) else f"{type(exc).__name__}: {exc}"
            raise ContinuationFailed(
                f"could not continue the wait in a new invocation: {reason}" + (f"; {detail}" if detail else "")
            ) from exc
        if handed:
            log.info("wait continues in a new invocation", extra={"fields": {"next_hop": continuation.hop}})

    def _cleanup(self, request: Request, outcome: InProgress) -> str:
        try:
            return self.provider.on_timeout(request, outcome.state)
        except Exception as exc:
            log.exception("cleanup after the deadline failed")
            return f"cleanup failed ({type(exc).__name__}: {exc})"

    def _deadline_reached(self, request: Request, responder: _Responder, context: Any, margin: float,
                          lambda_first: bool, service: float) -> None:
        if lambda_first:
            reason = (
                f"The function was still working {margin:.1f} s before its Lambda timeout; "
                f"answering FAILED now so the stack does not wait ({where_logs_are(context)})"
            )
        else:
            reason = (
                f"The function was still working as CloudFormation's ServiceTimeout of {service:.0f} s "
                f"was about to expire; answering FAILED now ({where_logs_are(context)})"
            )
        responder.respond(self._failed(request, reason), by="watchdog")

    # -- responses ----------------------------------------------------------------

    def _response(self, request: Request, status: Status, physical_id: str, reason: str = "",
                  data: Mapping[str, Any] | None = None, no_echo: bool = False) -> Response:
        return Response(
            status=status,
            physical_id=physical_id,
            stack_id=request.stack_id,
            request_id=request.request_id,
            logical_id=request.logical_id,
            reason=logs.redactor.redact(reason),
            data=data,
            no_echo=no_echo,
        )

    def _failed(self, request: Request, reason: str) -> Response:
        if request.request_type is RequestType.CREATE:
            physical_id = request.failed_create_id()
        else:
            physical_id = request.physical_id or request.failed_create_id()
        return self._response(request, Status.FAILED, physical_id, reason)

    def _success(self, request: Request, result: Result) -> Response:
        data: Any = result.data  # typed as a Mapping, but providers are user code
        if not isinstance(data, Mapping):
            return self._failed(request, f"{type(self.provider).__name__} returned Data that is not an object "
                                         f"({type(data).__name__})")
        if result.no_echo:
            logs.redactor.add_value(dict(result.data))
        physical_id: Any
        if request.request_type is RequestType.DELETE:
            physical_id = request.physical_id or ""
        elif result.physical_id is not None:
            # An id the provider gives is checked as given: "" is an error, not "keep the id".
            physical_id = result.physical_id
        elif request.request_type is RequestType.CREATE:
            physical_id = request.default_physical_id()
        else:
            physical_id = request.physical_id or ""
        problem = (
            check_physical_id(physical_id) if isinstance(physical_id, str)
            else f"PhysicalResourceId must be a string, got {type(physical_id).__name__}"
        )
        if problem:
            return self._failed(request, f"{type(self.provider).__name__} returned an invalid id: {problem}")
        try:
            json.dumps(dict(result.data), allow_nan=False)
        except (TypeError, ValueError) as exc:
            return self._failed(request, f"{type(self.provider).__name__} returned Data that is not JSON: {exc}")
        # Data too large for 4096 bytes turns this into FAILED when encoded, keeping this
        # id on purpose: the provider did create something, so the Delete that follows
        # must reach it rather than be skipped as a failed-create marker.
        return self._response(request, Status.SUCCESS, physical_id, data=result.data, no_echo=result.no_echo)

    def _unexpected(self, exc: BaseException, context: Any) -> str:
        return f"{type(exc).__name__}: {exc} ({where_logs_are(context)})"

    def _answer_malformed(self, event: Any, exc: MalformedEvent, lambda_deadline: float) -> None:
        log.error("malformed event", extra={"fields": {"problems": exc.problems}})
        if not isinstance(event, Mapping):
            return
        url = event.get("ResponseURL")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            log.error("no usable ResponseURL: the malformed event cannot be answered")
            return

        def text(name: str) -> str:
            value = event.get(name)
            return value if isinstance(value, str) else ""

        request_id = text("RequestId") or "unknown-request"
        physical_id = text("PhysicalResourceId") or f"{FAILED_CREATE_PREFIX}{request_id}"
        response = Response(
            status=Status.FAILED,
            physical_id=physical_id.encode()[:MAX_PHYSICAL_ID_BYTES].decode(errors="ignore") or "unknown",
            stack_id=text("StackId"),
            request_id=request_id,
            logical_id=text("LogicalResourceId"),
            reason=exc.reason(),
        )
        _Responder(url, self.sender, lambda_deadline - 0.2).respond(response, by="handler")
