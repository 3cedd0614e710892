"""Deliver a response body to the ResponseURL.

Contract: PUT with an empty Content-Type (the presigned URL was signed without
one) to an http or https URL; every attempt has a connect and a read timeout; a
2xx status means delivered; 5xx, 408, 429, timeouts and connection errors are
retried with exponential backoff and full jitter, a bounded number of times and
never past the deadline; any other 4xx is final (a presigned URL that is expired
or denied stays so). The URL's query (its signature) is never logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .clock import Clock, SystemClock
from .logs import get_logger, hide_query, strip_query

if TYPE_CHECKING:
    import random

__all__ = ["MIN_ATTEMPT_S", "RETRYABLE_STATUS", "Clock", "Delivery", "HttpSender", "Sender", "SystemClock"]

log = get_logger("sender")

RETRYABLE_STATUS = frozenset({408, 429})
#: The least time worth starting another attempt with.
MIN_ATTEMPT_S = 0.25
_S3_CODE = re.compile(rb"<Code>([A-Za-z]{1,64})</Code>")


@dataclass(frozen=True)
class Delivery:
    """What became of one response."""

    delivered: bool
    attempts: int
    status: int | None = None
    error: str = ""


class Sender(Protocol):
    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery: ...


class HttpSender:
    """The production sender (stdlib http.client; no third-party dependency)."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.clock: Clock = clock or SystemClock()
        if rng is None:
            import random

            rng = random.Random()  # noqa: S311 - jitter, not cryptography
        self.rng = rng

    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
        safe_url = strip_query(url)
        status: int | None = None
        error = ""
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            budget = None if deadline is None else deadline - self.clock.now()
            if budget is not None and budget <= 0.05:
                error = error or "no time left before the deadline"
                break
            status, error = self._attempt(url, body, budget)
            if status is not None and 200 <= status < 300:
                log.info(
                    "response delivered",
                    extra={"fields": {"url": safe_url, "status": status, "attempts": attempt}},
                )
                return Delivery(True, attempt, status)
            retryable = status is None or status >= 500 or status in RETRYABLE_STATUS
            log.warning(
                "response delivery attempt failed",
                extra={
                    "fields": {
                        "url": safe_url,
                        "status": status,
                        "error": error,
                        "attempt": attempt,
                        "will_retry": retryable,
                    }
                },
            )
            if not retryable:
                break
            if attempt < self.max_attempts:
                pause = self.rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))
                if deadline is not None:
                    # Another attempt needs a little time; without it, stop rather
                    # than retry in a burst with no pause.
                    left = deadline - self.clock.now()
                    if left <= MIN_ATTEMPT_S:
                        break
                    pause = min(pause, left - MIN_ATTEMPT_S)
                self.clock.sleep(pause)
        log.error(
            "response NOT delivered",
            extra={"fields": {"url": safe_url, "status": status, "error": error, "attempts": attempt}},
        )
        return Delivery(False, attempt, status, error)

    def _attempt(self, url: str, body: bytes, budget: float | None) -> tuple[int | None, str]:
        import http.client
        import ssl
        from urllib.parse import urlsplit

        started = self.clock.now()
        connect_timeout = self.connect_timeout if budget is None else min(self.connect_timeout, budget)
        conn: http.client.HTTPConnection
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:  # e.g. a port that is not a number: final, the URL will not change
            return 0, f"invalid URL ({hide_query(str(exc), url)})"
        host = parts.hostname
        if not host:  # "http:///x" would be looked up as a host named "" and retried: final instead
            return 0, "invalid URL (no host name)"
        if parts.scheme.lower() == "https":
            conn = http.client.HTTPSConnection(
                host,
                port,
                timeout=connect_timeout,
                context=ssl.create_default_context(),
            )
        elif parts.scheme.lower() == "http":
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        else:
            return 0, f"unsupported URL scheme {parts.scheme!r}"
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            conn.connect()
            if conn.sock is not None:
                # The read timeout never reaches past the deadline, however long connecting took.
                read_timeout = self.read_timeout
                if budget is not None:
                    read_timeout = max(0.01, min(read_timeout, budget - (self.clock.now() - started)))
                conn.sock.settimeout(read_timeout)
            conn.request("PUT", target, body=body, headers={"Content-Type": "", "Content-Length": str(len(body))})
            reply = conn.getresponse()
            payload = reply.read(4096)
            # The status and what the body says about it; send() decides what a status means.
            code = _S3_CODE.search(payload)
            detail = f"HTTP {reply.status}" + (f" {code.group(1).decode()}" if code else "")
            return reply.status, detail
        except http.client.InvalidURL as exc:  # final: the URL will not change
            return 0, f"invalid URL ({hide_query(str(exc), url)})"
        except TimeoutError:
            return None, "timed out"
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {hide_query(str(exc), url)}"
        except ValueError as exc:  # http.client rejects the URL (e.g. control characters): final
            return 0, f"invalid URL ({hide_query(str(exc), url)})"
        finally:
            conn.close()
