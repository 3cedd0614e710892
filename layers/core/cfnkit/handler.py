"""CustomResource: the Lambda handler that parses, dispatches and answers exactly once.

A request travels one way: parsed here (`protocol`), dispatched to the provider's
create/update/delete, handed once to `waiter.Waiter` when the provider says
InProgress, and answered here. Every outcome becomes exactly one response: the
provider's result, a framework error, any exception, the overall deadline of a
wait, or a provider that blocks until a deadline approaches (a watchdog thread
sends FAILED a margin before it). One lock decides who answers; a hand-off to a
continued invocation counts as answering, so the watchdog never sends after it.
Every timing rule comes from `budget.Budget`.
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import logs
from .budget import RECURSIVE_LOOP_ENV, Budget, max_hops_for, remaining_seconds
from .clock import Clock, SystemClock
from .errors import CfnkitError, InvalidProperties, MalformedEvent
from .protocol import (
    FAILED_CREATE_PREFIX,
    Request,
    RequestType,
    Response,
    Status,
    check_physical_id,
    encode_response,
    malformed_response,
    parse_request,
)
from .provider import Outcome, Provider, Result
from .sender import Delivery, HttpSender, Sender
from .waiter import Continuation, Invoker, LambdaInvoker, Waiter

if TYPE_CHECKING:  # the schema module loads only when a provider declares a schema
    from .schema import Schema

log = logs.get_logger("handler")


def where_logs_are(context: Any) -> str:
    group = getattr(context, "log_group_name", None)
    stream = getattr(context, "log_stream_name", None)
    request = getattr(context, "aws_request_id", None)
    if not group:
        return "see the function's logs"
    return f"see CloudWatch Logs group {group}, stream {stream}, request {request}"


class Responder:
    """Sends at most once per invocation; a hand-off to a continued invocation also closes it."""

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
            response = replace(response, reason=logs.redactor.redact(response.reason))
            try:
                body, sent = encode_response(response, oversize_hint=oversize_hint)
            except Exception as exc:  # this request must still get its one answer
                log.exception("the response could not be encoded")
                body, sent = encode_response(
                    replace(
                        response,
                        status=Status.FAILED,
                        data=None,
                        reason=f"The response could not be encoded ({type(exc).__name__}: {exc})",
                    )
                )
            log.info(
                "sending response",
                extra={
                    "fields": {
                        "status": sent.status.value,
                        "reason": sent.reason,
                        "physical_id": sent.physical_id,
                        "data_keys": sorted(str(key) for key in sent.data or {}),
                        "no_echo": sent.no_echo,
                        "bytes": len(body),
                        "by": by,
                    }
                },
            )
            try:
                delivery: Delivery = self.sender.send(self.url, body, deadline=self.deadline)
            except Exception as exc:  # a broken sender must not make the handler raise
                delivery = Delivery(False, 1, None, f"{type(exc).__name__}: {logs.hide_query(str(exc), self.url)}")
            if not delivery.delivered:
                log.error(
                    "CloudFormation was not told the outcome",
                    extra={
                        "fields": {"status": delivery.status, "error": delivery.error, "attempts": delivery.attempts}
                    },
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
    """Calls fire after delay seconds (Budget.watchdog_delay, never negative) unless cancelled first."""

    def __init__(self, delay: float, fire: Callable[[], object]) -> None:
        self._stop = threading.Event()
        self._fire = fire
        # The watchdog logs with the request's ids: run it in a copy of this context.
        scope = contextvars.copy_context()
        self._thread = threading.Thread(target=scope.run, args=(self._run, delay), daemon=True, name="cfnkit-watchdog")
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
    invocation's time for very short timeouts. recursive_loop: the function's
    RecursiveLoop setting, "Allow" or "Terminate" (default: the CFNKIT_RECURSIVE_LOOP
    environment variable, else Terminate), which limits the hand-offs. Every timing
    rule is in cfnkit.budget.Budget.
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
        recursive_loop: str | None = None,
    ) -> None:
        self.provider = provider
        self.clock: Clock = clock or SystemClock()
        self.sender: Sender = sender or HttpSender(clock=self.clock)
        self.invoker: Invoker = invoker or LambdaInvoker()
        self.waiter = Waiter(provider, clock=self.clock, invoker=self.invoker)
        self.deadline_margin = deadline_margin
        self.handoff_margin = handoff_margin
        self.log_level = log_level
        self.max_hops = max_hops_for(
            recursive_loop if recursive_loop is not None else os.environ.get(RECURSIVE_LOOP_ENV)
        )

    def __call__(self, event: Any, context: Any) -> None:
        logs.install(self.log_level)
        now, remaining = self.clock.now(), remaining_seconds(context)
        try:
            request = parse_request(event)
            continuation = Continuation.from_event(event)
        except MalformedEvent as exc:
            self._answer_malformed(event, exc, self._budget(now, remaining))
            return
        budget = self._budget(now, remaining, request, continuation)
        with logs.request_scope(
            cfn_request_id=request.request_id,
            stack_id=request.stack_id,
            logical_id=request.logical_id,
            request_type=request.request_type.value,
            hop=budget.hop,
            **logs.lambda_fields(context),
        ):
            log.info(
                "request received",
                extra={
                    "fields": {
                        "resource_type": request.resource_type,
                        "physical_id": request.physical_id,
                        "properties": sorted(str(name) for name in request.properties),
                        "service_timeout": request.service_timeout,
                    }
                },
            )
            responder = Responder(request.response_url, self.sender, budget.send_deadline)
            # The watchdog guards the Lambda deadline and CloudFormation's ServiceTimeout:
            # a provider blocked past either would otherwise answer after nobody listens.
            watchdog = _Watchdog(
                budget.watchdog_delay,
                lambda: responder.respond(request.failed(still_working_reason(budget, context)), by="watchdog"),
            )
            try:
                self._handle(request, continuation, budget, context, responder)
            except BaseException as exc:  # the last line of defence: always answer
                log.exception("unexpected error")
                responder.respond(request.failed(unexpected_reason(exc, context)), by="handler")
            finally:
                watchdog.cancel()

    def _budget(
        self, now: float, remaining: float, request: Request | None = None, continuation: Continuation | None = None
    ) -> Budget:
        return Budget.start(
            now,
            remaining,
            service_timeout=request.service_timeout if request else None,
            started_at=continuation.started_at if continuation else None,
            hop=continuation.hop if continuation else 0,
            max_hops=self.max_hops,
            max_answer_margin=self.deadline_margin,
            max_handoff_margin=self.handoff_margin,
        )

    # -- the request ------------------------------------------------------------

    def _handle(
        self, request: Request, continuation: Continuation | None, budget: Budget, context: Any, responder: Responder
    ) -> None:
        if request.request_type is RequestType.DELETE and (request.physical_id or "").startswith(FAILED_CREATE_PREFIX):
            log.info("Delete after a failed Create: nothing was created, nothing to delete")
            responder.respond(request.response(Status.SUCCESS, request.physical_id or ""), by="handler")
            return
        try:
            request = with_properties(request, self.provider.schema)
            first = continuation if continuation is not None else self._call(request)
            result = self.waiter.wait(request, first, budget, context, responder.hand_off)
        except CfnkitError as exc:
            responder.respond(request.failed(exc.reason()), by="handler")
            return
        except Exception as exc:
            log.exception("provider raised")
            responder.respond(request.failed(unexpected_reason(exc, context)), by="handler")
            return
        if result is not None:
            response = success_response(request, result, type(self.provider).__name__)
            responder.respond(response, by="handler", oversize_hint=result.oversize_hint)

    def _call(self, request: Request) -> Outcome:
        method = {
            RequestType.CREATE: self.provider.create,
            RequestType.UPDATE: self.provider.update,
            RequestType.DELETE: self.provider.delete,
        }[request.request_type]
        return method(request)

    def _answer_malformed(self, event: Any, exc: MalformedEvent, budget: Budget) -> None:
        log.error("malformed event", extra={"fields": {"problems": exc.problems}})
        answer = malformed_response(event, exc.reason())
        if answer is None:
            log.error("no usable ResponseURL: the malformed event cannot be answered")
            return
        url, response = answer
        Responder(url, self.sender, budget.send_deadline).respond(response, by="handler")


def still_working_reason(budget: Budget, context: Any) -> str:
    """The watchdog's Reason: which deadline was about to pass while the provider still worked."""
    if budget.lambda_first:
        return (
            f"The function was still working {budget.answer_margin:.1f} s before its Lambda timeout; "
            f"answering FAILED now so the stack does not wait ({where_logs_are(context)})"
        )
    return (
        f"The function was still working as CloudFormation's ServiceTimeout of {budget.service_timeout:.0f} s "
        f"was about to expire; answering FAILED now ({where_logs_are(context)})"
    )


def unexpected_reason(exc: BaseException, context: Any) -> str:
    """The Reason for an exception no one expected: its type and message, and where the logs are."""
    return f"{type(exc).__name__}: {exc} ({where_logs_are(context)})"


def with_properties(request: Request, schema: Schema | None) -> Request:
    """The request with its properties parsed by the provider's schema (none: as sent)."""
    if schema is None:
        return request
    if request.request_type is RequestType.DELETE:
        # Delete must not fail on properties a newer version would reject.
        try:
            props = schema.parse(request.properties)
        except InvalidProperties as exc:
            log.warning(
                "Delete with invalid properties; using defaults for them",
                extra={"fields": {"problems": [str(p) for p in exc.problems]}},
            )
            props = schema.parse_lenient(request.properties)
    else:
        props = schema.parse(request.properties)
    old = None
    if request.old_properties is not None:
        old = schema.parse_lenient(request.old_properties)
    return replace(request, properties=props, old_properties=old)


def success_response(request: Request, result: Result, provider_name: str) -> Response:
    """SUCCESS with the provider's id and Data, or FAILED naming what the provider got wrong."""
    data: Any = result.data  # typed as a Mapping, but providers are user code
    if not isinstance(data, Mapping):
        return request.failed(f"{provider_name} returned Data that is not an object ({type(data).__name__})")
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
        check_physical_id(physical_id)
        if isinstance(physical_id, str)
        else f"PhysicalResourceId must be a string, got {type(physical_id).__name__}"
    )
    if problem:
        return request.failed(f"{provider_name} returned an invalid id: {problem}")
    try:
        json.dumps(dict(result.data), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return request.failed(f"{provider_name} returned Data that is not JSON: {exc}")
    # Data too large for 4096 bytes turns this into FAILED when encoded, keeping this
    # id on purpose: the provider did create something, so the Delete that follows
    # must reach it rather than be skipped as a failed-create marker.
    return request.response(Status.SUCCESS, physical_id, data=result.data, no_echo=result.no_echo)
