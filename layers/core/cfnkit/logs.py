"""Structured JSON logs that cannot leak.

Redaction is one processor (`Redactor.redact`), applied where every log record in
the process is born (the record factory), so it holds for our logger, botocore's,
Powertools' and the user's, whatever handlers they use and at any level:
- the query string of any URL (a presigned ResponseURL's query is a signature);
- every value registered as secret (secret properties, Data of NoEcho responses);
- bodies that botocore logs at DEBUG (its parsers and endpoint loggers print whole
  HTTP responses, secret values included, before any of our code sees them);
- the property values of a whole custom resource event logged as an object (which of
  them are secret is only known once a schema has parsed them, and Powertools'
  `log_event=True` logs the event before that).
The record factory is in place from `import cfnkit` on, so a line logged before the
first request (a Powertools `inject_lambda_context(log_event=True)`) is covered too.
Structured messages (a dict or list passed as the message) keep their structure.

Powertools Logger users: every Powertools formatter found at install() (and, for
cfnkit.entry, after the provider is loaded) serializes through the same redaction,
so keys appended to it and `extra=` keys are masked as well (a `Logger.exception()` line
keeps its exception fields, masked the same way); and cfnkit's own lines
use Powertools' key names for the fields both have (level, message, timestamp,
service, cold_start, function_request_id, xray_trace_id), so one CloudWatch Logs
Insights query spans both.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
import threading
import time
import types
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

LOGGER_NAME = "cfnkit"
MASK = "****"
#: Secrets shorter than this are not redacted (they would mask ordinary text).
MIN_SECRET_LENGTH = 3
#: botocore loggers that print HTTP bodies or signing material at DEBUG.
BODY_LOGGERS = (
    "botocore.parsers",
    "botocore.endpoint",
    "botocore.auth",
    "botocore.httpsession",
    "botocore.hooks",
    "botocore.retryhandler",
    "urllib3",
)
SUPPRESSED = "[cfnkit: DEBUG output of this logger is suppressed because it can hold secret values]"

_URL_QUERY = re.compile(r"(https?://[^\s?#\"'<>]*)\?[^\s\"'<>]*", re.IGNORECASE)
_request_fields: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "cfnkit_request_fields", default=types.MappingProxyType({})
)


_JSON_LITERALS = frozenset({"true", "false", "null"})
#: Properties of a logged event that are never secret (everything else is masked).
_EVENT_PLAIN_PROPERTIES = frozenset({"ServiceToken", "ServiceTimeout"})
_EVENT_PROPERTY_KEYS = ("ResourceProperties", "OldResourceProperties")
#: Powertools' default timestamp format ('2021-04-17 18:19:57,656+0000' in UTC).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
XRAY_TRACE_ENV = "_X_AMZN_TRACE_ID"


class Redactor:
    """Known secret values and URL queries out of any text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        # (any secret, every secret at every position), swapped as one: a reader never
        # pairs an old pattern with a new one.
        self._patterns: tuple[re.Pattern[str], re.Pattern[str]] | None = None
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            return
        # A value also appears JSON-escaped (in bodies and our own JSON lines) and as
        # Python shows it inside a container or bytes (`%r` of a dict, a raw body).
        forms = {
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            repr(secret)[1:-1],
            repr(secret.encode())[2:-1],
        }
        with self._lock:
            if forms <= self._secrets:
                return
            self._secrets |= {f for f in forms if len(f) >= MIN_SECRET_LENGTH}
            ordered = sorted(self._secrets, key=len, reverse=True)
            alternatives = "|".join(re.escape(s) for s in ordered)
            # The lookahead finds the longest secret starting at EVERY position, so secrets
            # that overlap in the text ("abcdef" and "defghi" in "abcdefghi") are found
            # both, and their union is masked: no tail of either shows.
            self._patterns = (re.compile(alternatives), re.compile(f"(?=({alternatives}))"))

    def add_value(self, value: Any) -> None:
        """Register a value of any JSON shape: every string and number inside it."""
        if isinstance(value, str):
            # JSON literals (a JSON-encoded boolean or null) would mask ordinary words.
            if value not in _JSON_LITERALS:
                self.add(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                self.add_value(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self.add_value(item)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self.add(str(value))

    def redact(self, text: str) -> str:
        text = _URL_QUERY.sub(r"\1?" + MASK, text)
        patterns = self._patterns
        if patterns is None:
            return text
        any_secret, every_secret = patterns
        first = any_secret.search(text)
        if first is None:  # the common case, one fast scan
            return text
        spans: list[list[int]] = []
        for found in every_secret.finditer(text, first.start()):
            start, end = found.start(), found.start() + len(found.group(1))
            if spans and start < spans[-1][1]:  # overlaps the span before: extend it
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        pieces, last = [], 0
        for start, end in spans:
            pieces += [text[last:start], MASK]
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()
            self._patterns = None


redactor = Redactor()


def strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def hide_query(text: str, url: str) -> str:
    """text (an error message) without url's query string, even when it quotes only path and query."""
    query = url.partition("?")[2]
    if query:
        text = text.replace(query, MASK)
    return redactor.redact(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request ids, fields."""

    def format(self, record: logging.LogRecord) -> str:
        # Redact each value before encoding, not the encoded line: a secret's repr in a
        # traceback would be escaped again by JSON, and masking an encoded line could
        # break it (a NoEcho value "true" or "200" would hit JSON literals).
        line: dict[str, Any] = {
            "level": record.levelname,
            "message": redactor.redact(record.getMessage()),
            "timestamp": time.strftime(TIMESTAMP_FORMAT, time.gmtime(record.created))
            + f",{int(record.msecs):03d}+0000",
            "service": service_name(),
            "logger": record.name,
        }
        trace = xray_trace_id()
        if trace:
            line["xray_trace_id"] = trace
        extra: dict[str, Any] = dict(_request_fields.get())
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            extra.update(fields)
        for key, value in _redact_tree(extra).items():
            line.setdefault(key, value)  # a field never replaces the keys above
        if record.exc_info:
            line["exception"] = redactor.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            # The record factory already formatted (and redacted) the traceback.
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def _redact_tree(value: Any) -> Any:
    """value with every string (keys too) redacted; numbers that are secrets become MASK."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value if redactor.redact(str(value)) == str(value) else MASK
    if isinstance(value, Mapping):
        if _is_event(value):
            value = _mask_event_properties(value)
        return {redactor.redact(str(key)): _redact_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_tree(item) for item in value]
    return redactor.redact(str(value))


def _is_event(value: Mapping[Any, Any]) -> bool:
    return "ResponseURL" in value and "RequestType" in value


def _mask_event_properties(event: Mapping[Any, Any]) -> dict[Any, Any]:
    """The event with every property value masked but ServiceToken's and ServiceTimeout's."""
    masked = dict(event)
    for key in _EVENT_PROPERTY_KEYS:
        props = event.get(key)
        if isinstance(props, Mapping):
            masked[key] = {name: item if name in _EVENT_PLAIN_PROPERTIES else MASK for name, item in props.items()}
    return masked


def service_name() -> str:
    """Powertools' service (POWERTOOLS_SERVICE_NAME), else the function's name, else cfnkit."""
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "cfnkit"


def xray_trace_id() -> str | None:
    """The X-Ray trace id of the current invocation, as Powertools logs it (the Root part)."""
    header = os.environ.get(XRAY_TRACE_ENV)
    return header.split(";")[0].replace("Root=", "") if header else None


_cold = {"start": True}


def lambda_fields(context: Any) -> dict[str, Any]:
    """Per-invocation fields Powertools logs too: cold_start (first call in this process), function_request_id."""
    with _install_lock:
        cold, _cold["start"] = _cold["start"], False
    fields: dict[str, Any] = {"cold_start": cold}
    request_id = getattr(context, "aws_request_id", None)
    if isinstance(request_id, str):
        fields["function_request_id"] = request_id
    return fields


class _RedactingSerializer:
    """Wraps a Powertools formatter's json_serializer: the whole log dict is redacted first."""

    def __init__(self, serialize: Any) -> None:
        self.serialize = serialize

    def __call__(self, log: Any) -> Any:
        return self.serialize(_redact_tree(log))


class _RestoringFormat:
    """Wraps a Powertools formatter's format(): Powertools builds its exception fields from
    exc_info alone, which the record factory replaced by a redacted exc_text, so the
    record's exception is handed back while it formats (its output, exception included,
    then passes the redacting serializer like every other field)."""

    def __init__(self, format_record: Any) -> None:
        self.format_record = format_record

    def __call__(self, record: logging.LogRecord) -> Any:
        if record.exc_info is None and record in _moved_exc_info:
            record.exc_info = _moved_exc_info[record]
            try:
                return self.format_record(record)
            finally:
                record.exc_info = None  # the handlers after this one see the factory's record again
        return self.format_record(record)


def protect_powertools() -> int:
    """Route every Powertools formatter's output through the redaction; how many were wrapped now."""
    wrapped = 0
    loggers = [
        logging.getLogger(),
        *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    for logger in loggers:
        for handler in list(logger.handlers):
            formatter = handler.formatter
            serializer = getattr(formatter, "json_serializer", None)
            if (
                type(formatter).__module__.startswith("aws_lambda_powertools")
                and callable(serializer)
                and not isinstance(serializer, _RedactingSerializer)
            ):
                formatter.json_serializer = _RedactingSerializer(serializer)  # type: ignore[union-attr]
                formatter.format = _RestoringFormat(formatter.format)  # type: ignore[method-assign,union-attr]
                wrapped += 1
    return wrapped


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is when a record is emitted (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


_install_state = {"installed": False}
#: The exception of each live record whose traceback the factory moved into exc_text
#: (weakly held: an attribute on the record would reach formatters that log every attribute).
_moved_exc_info: weakref.WeakKeyDictionary[logging.LogRecord, Any] = weakref.WeakKeyDictionary()
_install_lock = threading.Lock()


def redact_record(record: logging.LogRecord) -> None:
    """The redaction processor, applied to every record as it is born (see install())."""
    try:
        if record.levelno < logging.INFO and record.name.startswith(BODY_LOGGERS):
            record.msg, record.args = SUPPRESSED, None
        else:
            if isinstance(record.msg, Mapping | list | tuple) and not record.args:
                # A structured message (Powertools logs dicts as JSON objects) keeps its shape.
                record.msg = _redact_tree(record.msg)
            message = record.getMessage()
            redacted = redactor.redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redactor.redact(logging.Formatter().formatException(record.exc_info))
            _moved_exc_info[record] = record.exc_info
            record.exc_info = None
    except Exception:  # a log line that cannot be formatted must not break the caller
        record.msg, record.args = "[cfnkit: unformattable log record]", None


def _redacting_factory(base: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        redact_record(record)
        return record

    return factory


_redaction_state = {"installed": False}


def install_redaction() -> None:
    """The process-wide redaction: the record factory, and botocore's body loggers held at INFO (idempotent)."""
    with _install_lock:
        if not _redaction_state["installed"]:
            logging.setLogRecordFactory(_redacting_factory(logging.getLogRecordFactory()))
            _pin_body_loggers()
            _redaction_state["installed"] = True


def _pin_body_loggers() -> None:
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def install(level: str | int | None = None) -> logging.Logger:
    """Set up the cfnkit logger and the process-wide redaction (idempotent)."""
    install_redaction()
    protect_powertools()
    logger = logging.getLogger(LOGGER_NAME)
    with _install_lock:
        if not _install_state["installed"]:
            _pin_body_loggers()
            handler = _StdoutHandler(sys.stdout)
            handler.setFormatter(JsonFormatter())
            logger.addHandler(handler)
            logger.propagate = False
            _install_state["installed"] = True
    chosen = level if level is not None else os.environ.get("CFNKIT_LOG_LEVEL", "INFO")
    try:
        logger.setLevel(chosen.upper().strip() if isinstance(chosen, str) else chosen)
    except (TypeError, ValueError):
        # A misspelt level must not stop the handler from answering.
        logger.setLevel(logging.INFO)
        logger.warning("unknown log level; using INFO", extra={"fields": {"requested_level": str(chosen)[:40]}})
    return logger


def get_logger(name: str = "") -> logging.Logger:
    """A child of the cfnkit logger: `get_logger("ecs")` logs as `cfnkit.ecs`."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


@contextlib.contextmanager
def request_scope(**fields: Any) -> Iterator[None]:
    """Add the request's ids to every line logged inside the block."""
    token = _request_fields.set({**_request_fields.get(), **fields})
    try:
        yield
    finally:
        _request_fields.reset(token)


# From `import cfnkit` on, every record of the process is redacted (see the module docstring).
install_redaction()
