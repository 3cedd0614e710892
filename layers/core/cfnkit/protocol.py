"""The custom resource wire protocol: requests in, one response body out.

Facts this module enforces (AWS CloudFormation custom resource reference):
- the response body is at most 4096 bytes;
- PhysicalResourceId is non-empty and at most 1 KB;
- FAILED carries a Reason;
- CloudFormation sends every scalar property as a string.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import MalformedEvent

MAX_BODY_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024
MAX_SERVICE_TIMEOUT = 3600
#: The room a FAILED Reason keeps however long the identifiers are (bytes of JSON):
#: enough for the head of any Reason, small beside the 4096-byte body.
MIN_REASON_BYTES = 256
#: A failed Create answers with this prefix; the Delete that follows for such an
#: id succeeds without calling the provider (there is nothing to delete).
FAILED_CREATE_PREFIX = "cfnkit-failed-create-"
#: Key under which the core carries its wait state into a continued invocation.
CONTINUATION_KEY = "CfnkitContinuation"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ELLIPSIS = " [...]"


class RequestType(enum.StrEnum):
    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"


class Status(enum.StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Request:
    """One CloudFormation custom resource request, parsed and checked."""

    request_type: RequestType
    stack_id: str
    request_id: str
    logical_id: str
    resource_type: str
    response_url: str
    service_token: str
    #: The ServiceTimeout property (1-3600 s) when the template sets it.
    service_timeout: int | None
    #: ResourceProperties without ServiceToken and ServiceTimeout.
    properties: Mapping[str, Any]
    #: OldResourceProperties (Update only) without ServiceToken and ServiceTimeout.
    old_properties: Mapping[str, Any] | None = None
    #: The current id; None on Create.
    physical_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def stack_name(self) -> str:
        """The stack's name, from the StackId ARN (`.../stack/NAME/uuid`)."""
        parts = self.stack_id.split("/")
        return parts[1] if len(parts) >= 3 else self.stack_id

    def token(self, *extra: str, length: int = 32) -> str:
        """A deterministic token for this request (stable across redeliveries)."""
        import hashlib

        material = "\x1f".join((self.stack_id, self.logical_id, self.request_id, *extra))
        return hashlib.sha256(material.encode()).hexdigest()[:length]

    def default_physical_id(self, *extra: str) -> str:
        """Create's default id: stable for this stack and logical id, never random.

        extra: what else the id must follow (a provider whose resource is replaced when a
        property changes passes that property's value; never a secret).
        """
        import hashlib

        material = "\x1f".join((self.stack_id, self.logical_id, *extra))
        digest = hashlib.sha256(material.encode()).hexdigest()[:12]
        return f"{self.stack_name}-{self.logical_id}-{digest}"[-200:]

    def failed_create_id(self) -> str:
        return f"{FAILED_CREATE_PREFIX}{self.request_id}"

    def response(
        self,
        status: Status,
        physical_id: str,
        *,
        reason: str = "",
        data: Mapping[str, Any] | None = None,
        no_echo: bool = False,
    ) -> Response:
        """The answer to this request."""
        return Response(
            status,
            physical_id,
            self.stack_id,
            self.request_id,
            self.logical_id,
            reason=reason,
            data=data,
            no_echo=no_echo,
        )

    def failed(self, reason: str) -> Response:
        """FAILED: a Create answers with the failed-create marker id, others keep their id."""
        if self.request_type is RequestType.CREATE or not self.physical_id:
            return self.response(Status.FAILED, self.failed_create_id(), reason=reason)
        return self.response(Status.FAILED, self.physical_id, reason=reason)


def _str_field(event: Mapping[str, Any], name: str, problems: list[str]) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        problems.append(f"{name} must be a non-empty string" + ("" if name in event else " (missing)"))
        return ""
    return value


def _split_properties(value: Any, name: str, problems: list[str]) -> tuple[dict[str, Any], str | None, Any]:
    if value is None:
        return {}, None, None
    if not isinstance(value, Mapping):
        problems.append(f"{name} must be an object")
        return {}, None, None
    props = dict(value)
    token = props.pop("ServiceToken", None)
    timeout = props.pop("ServiceTimeout", None)
    return props, token if isinstance(token, str) else None, timeout


def _service_timeout(value: Any, problems: list[str]) -> int | None:
    if value is None:
        return None
    try:
        seconds = int(str(value).strip())
    except ValueError:
        problems.append("ServiceTimeout must be a whole number of seconds from 1 to 3600")
        return None
    if not 1 <= seconds <= MAX_SERVICE_TIMEOUT:
        problems.append("ServiceTimeout must be a whole number of seconds from 1 to 3600")
        return None
    return seconds


def parse_request(event: Any) -> Request:
    """Parse a custom resource event or raise MalformedEvent listing every problem."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(["the event must be a JSON object"])
    problems: list[str] = []
    raw_type = event.get("RequestType")
    request_type: RequestType | None = None
    if isinstance(raw_type, str) and raw_type in RequestType._value2member_map_:
        request_type = RequestType(raw_type)
    else:
        problems.append("RequestType must be one of Create, Update, Delete")
    stack_id = _str_field(event, "StackId", problems)
    request_id = _str_field(event, "RequestId", problems)
    logical_id = _str_field(event, "LogicalResourceId", problems)
    resource_type = _str_field(event, "ResourceType", problems)
    response_url = _str_field(event, "ResponseURL", problems)
    if response_url and not response_url.lower().startswith(("http://", "https://")):
        problems.append("ResponseURL must be an http or https URL")
    if "ResourceProperties" not in event:
        problems.append("ResourceProperties must be an object (missing)")
    props, token, raw_timeout = _split_properties(event.get("ResourceProperties"), "ResourceProperties", problems)
    token = token or (event.get("ServiceToken") if isinstance(event.get("ServiceToken"), str) else None)
    if not token:
        problems.append("ServiceToken must be a non-empty string")
    service_timeout = _service_timeout(raw_timeout, problems)
    old_props: dict[str, Any] | None = None
    physical_id: str | None = None
    if request_type in (RequestType.UPDATE, RequestType.DELETE):
        physical_id = _str_field(event, "PhysicalResourceId", problems)
    if request_type is RequestType.UPDATE:
        if "OldResourceProperties" not in event:
            problems.append("OldResourceProperties must be an object (missing)")
        old_props, _, _ = _split_properties(event.get("OldResourceProperties"), "OldResourceProperties", problems)
    if problems or request_type is None:
        raise MalformedEvent(problems)
    return Request(
        request_type=request_type,
        stack_id=stack_id,
        request_id=request_id,
        logical_id=logical_id,
        resource_type=resource_type,
        response_url=response_url,
        service_token=token or "",
        service_timeout=service_timeout,
        properties=props,
        old_properties=old_props,
        physical_id=physical_id,
        raw=event,
    )


def clean_reason(reason: str) -> str:
    """Remove control characters (newlines become spaces) so the Reason shows on one line."""
    return _CONTROL.sub(" ", reason.replace("\r\n", " ").replace("\n", " ")).strip()


def cut_utf8(text: str, max_bytes: int) -> str:
    """Cut text to at most max_bytes of UTF-8, keeping its head and marking the cut."""
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    if max_bytes < len(_ELLIPSIS):  # no room for the marker: the head alone
        return encoded[: max(0, max_bytes)].decode(errors="ignore")
    return encoded[: max_bytes - len(_ELLIPSIS)].decode(errors="ignore") + _ELLIPSIS


def as_text(value: Any) -> str:
    """A JSON value as a string attribute or environment variable holds it: a string as it
    is, anything else as compact JSON (`3`, `true`, `{"a":1}`)."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def check_physical_id(physical_id: str) -> str | None:
    """Why physical_id is not acceptable, or None when it is."""
    if not physical_id:
        return "PhysicalResourceId must not be empty"
    size = len(physical_id.encode())
    if size > MAX_PHYSICAL_ID_BYTES:
        return f"PhysicalResourceId is {size} bytes; the limit is {MAX_PHYSICAL_ID_BYTES}"
    return None


@dataclass(frozen=True)
class Response:
    status: Status
    physical_id: str
    stack_id: str
    request_id: str
    logical_id: str
    reason: str = ""
    data: Mapping[str, Any] | None = None
    no_echo: bool = False

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "Status": self.status.value,
            "Reason": self.reason,
            "PhysicalResourceId": self.physical_id,
            "StackId": self.stack_id,
            "RequestId": self.request_id,
            "LogicalResourceId": self.logical_id,
            "NoEcho": self.no_echo,
        }
        if self.data:
            doc["Data"] = dict(self.data)
        return doc


def malformed_response(event: Any, reason: str) -> tuple[str, Response] | None:
    """The best answer to an event parse_request rejected: (its ResponseURL, FAILED with
    whatever ids it has), or None when it has no http(s) ResponseURL to answer at."""
    if not isinstance(event, Mapping):
        return None
    url = event.get("ResponseURL")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return None

    def text(name: str) -> str:
        value = event.get(name)
        return value if isinstance(value, str) else ""

    request_id = text("RequestId") or "unknown-request"
    physical_id = text("PhysicalResourceId") or f"{FAILED_CREATE_PREFIX}{request_id}"
    return url, Response(
        status=Status.FAILED,
        # Never empty: the cut drops at most the last, split character of a non-empty id.
        physical_id=physical_id.encode()[:MAX_PHYSICAL_ID_BYTES].decode(errors="ignore"),
        stack_id=text("StackId"),
        request_id=request_id,
        logical_id=text("LogicalResourceId"),
        reason=reason,
    )


def _dump(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def data_sizes(data: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(key, serialized bytes of key and value), largest first. Never values."""
    sizes = [(str(key), len(_dump({key: value})) - 2) for key, value in data.items()]
    return sorted(sizes, key=lambda item: (-item[1], item[0]))


def too_large_reason(size: int, data: Mapping[str, Any], hint: str = "") -> str:
    largest = ", ".join(f"{key} ({nbytes} B)" for key, nbytes in data_sizes(data)[:10])
    reason = (
        f"Response too large: {size} bytes with its Data; the limit is {MAX_BODY_BYTES} bytes. "
        f"Largest Data keys: {largest}."
    )
    return f"{reason} {hint}".strip()


def encode_response(response: Response, *, oversize_hint: str = "") -> tuple[bytes, Response]:
    """Serialize a response within the protocol's limits.

    Returns the body and the response actually encoded: a response whose Data does
    not fit becomes FAILED naming its size, the limit and the largest keys (no
    values). The Reason is cleaned and cut to fit, keeping its head. A FAILED
    response always keeps a non-empty Reason: identifiers too long for the body are
    cut until the Reason's head fits beside them, not merely until they fit alone.
    """
    reason = clean_reason(response.reason)
    if response.status is Status.FAILED and not reason:
        reason = "FAILED without a reason"
    response = replace(response, reason="")
    body = _dump(response.document())
    if len(body) > MAX_BODY_BYTES and response.data and response.status is Status.SUCCESS:
        size = len(_dump(replace(response, reason=reason).document()))
        reason = too_large_reason(size, response.data, oversize_hint)
        response = replace(response, status=Status.FAILED)
    # Room the Reason is guaranteed: all of a short one, the head of a long one.
    reserve = 0
    if response.status is Status.FAILED:
        reserve = min(len(json.dumps(reason, ensure_ascii=False).encode()), MIN_REASON_BYTES)
    if len(body) > MAX_BODY_BYTES - reserve and response.data:
        # Data that leaves the Reason no room goes (a SUCCESS too large for the body has just
        # become FAILED): CloudFormation ignores the Data of a FAILED answer; its Reason is read.
        response = replace(response, data=None)
        body = _dump(response.document())
    if len(body) > MAX_BODY_BYTES - reserve:
        # Only a malformed event has identifiers this long; CloudFormation would reject
        # the answer anyway, but the body must stay within the limit (and we must end).
        response = _shrink_identifiers(response, MAX_BODY_BYTES - reserve)
    final = replace(response, reason=reason)
    body = _dump(final.document())
    if len(body) <= MAX_BODY_BYTES:
        return body, final
    # Each byte of the Reason costs at least one byte of JSON, escapes cost more: find the
    # longest head of the Reason (in bytes) whose document fits. A head of 0 bytes always does.
    low, high = 0, MAX_BODY_BYTES
    while low < high:
        middle = (low + high + 1) // 2
        if len(_dump(replace(response, reason=cut_utf8(reason, middle)).document())) <= MAX_BODY_BYTES:
            low = middle
        else:
            high = middle - 1
    final = replace(response, reason=cut_utf8(reason, low))
    return _dump(final.document()), final


def _shrink_identifiers(response: Response, limit: int) -> Response:
    """Cut the longest identifier (by its JSON size) until the document without Reason is within limit.

    Ends: callers drop Data first, and the empty document plus the Reason's reserve fits.
    """
    names = ("physical_id", "stack_id", "request_id", "logical_id")
    while len(_dump(response.document())) > limit:
        values = {name: getattr(response, name) for name in names}
        longest = max(names, key=lambda name: len(_dump({"": values[name]})))
        text = values[longest]
        response = replace(response, **{longest: text[: len(text) // 2]})
    return response
