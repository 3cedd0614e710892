"""cfnkit.sender: PUT with retries, bounded by attempts and the deadline.

The HTTP tests talk to cfnkit.testing.ResponseServer on 127.0.0.1; backoff math
uses a FakeClock and a seeded random.Random so nothing sleeps for real.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cfnkit import logs
from cfnkit.sender import Delivery, HttpSender, SystemClock
from cfnkit.testing import FakeClock, ResponseServer

SIGNATURE = "0123456789abcdeffedcba9876543210"


def fast_sender(**kwargs: float) -> HttpSender:
    return HttpSender(clock=FakeClock(), rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_put_with_empty_content_type_to_an_http_url(server: ResponseServer) -> None:
    delivery = fast_sender().send(server.url, b'{"Status":"SUCCESS"}')
    assert delivery == Delivery(True, 1, 200)
    put = server.wait_for(1)[0]
    assert put.headers["Content-Type"] == ""
    assert put.headers["Content-Length"] == "20"
    assert put.path == "/response?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + SIGNATURE
    assert put.json() == {"Status": "SUCCESS"}


def test_url_without_path_puts_to_root(server: ResponseServer) -> None:
    assert fast_sender().send(f"http://127.0.0.1:{server.port}", b"{}").delivered
    assert server.wait_for(1)[0].path == "/"


def test_500_twice_then_200_is_retried_until_delivered(server: ResponseServer) -> None:
    server.fail_next(2, 500)
    sender = fast_sender()
    assert sender.send(server.url, b"{}") == Delivery(True, 3, 200)
    assert server.attempts == 3
    assert len(sender.clock.sleeps) == 2  # type: ignore[attr-defined]


def test_429_is_retried(server: ResponseServer) -> None:
    server.fail_next(1, 429)
    assert fast_sender().send(server.url, b"{}") == Delivery(True, 2, 200)


def test_403_is_final_and_names_the_s3_error_code(server: ResponseServer) -> None:
    server.fail_next(1, 403)
    sender = fast_sender()
    assert sender.send(server.url, b"{}") == Delivery(False, 1, 403, "HTTP 403 AccessDenied")
    assert server.attempts == 1
    assert sender.clock.sleeps == []  # type: ignore[attr-defined]


def test_4xx_without_an_s3_error_code_is_reported_by_status() -> None:
    class Gone(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(410)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, fmt: str, *args: object) -> None:
            return

    plain = ThreadingHTTPServer(("127.0.0.1", 0), Gone)
    thread = threading.Thread(target=plain.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        delivery = fast_sender().send(f"http://127.0.0.1:{plain.server_address[1]}/r", b"{}")
    finally:
        plain.shutdown()
        plain.server_close()
    assert delivery == Delivery(False, 1, 410, "HTTP 410")


def test_connection_refused_is_retried_then_gives_up_bounded() -> None:
    sender = fast_sender(max_attempts=4)
    delivery = sender.send(f"http://127.0.0.1:{free_port()}/r?X-Amz-Signature={SIGNATURE}", b"{}")
    assert (delivery.delivered, delivery.attempts, delivery.status) == (False, 4, None)
    assert delivery.error.startswith("ConnectionRefusedError")
    assert len(sender.clock.sleeps) == 3  # type: ignore[attr-defined]


def test_a_stall_past_the_read_timeout_is_retried(server: ResponseServer) -> None:
    server.stall_next(1, 1.5)
    delivery = HttpSender(read_timeout=0.2, clock=FakeClock()).send(server.url, b"{}")
    assert delivery == Delivery(True, 2, 200)
    assert server.attempts == 2


def test_a_stall_never_holds_the_sender_past_its_deadline(server: ResponseServer) -> None:
    server.stall_next(5, 20.0)
    clock = SystemClock()
    deadline = clock.now() + 0.5
    delivery = HttpSender(read_timeout=30.0, connect_timeout=30.0).send(server.url, b"{}", deadline=deadline)
    assert (delivery.delivered, delivery.error) == (False, "timed out")
    # Bounded by the deadline, not by the 30 s read timeout or the 20 s stall (wide slack: not a speed test).
    assert clock.now() < deadline + 10.0


class Always500(HttpSender):
    """No network: every attempt answers 500, so only the backoff logic runs."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.budgets: list[float | None] = []

    def _attempt(self, url: str, body: bytes, budget: float | None) -> tuple[int | None, str]:
        self.budgets.append(budget)
        return 500, "HTTP 500"


def test_backoff_is_exponential_full_jitter_capped() -> None:
    clock = FakeClock()
    sender = Always500(clock=clock, rng=random.Random(42), max_attempts=6, backoff_base=0.5, backoff_cap=3.0)
    assert sender.send("http://h/x", b"{}") == Delivery(False, 6, 500, "HTTP 500")
    expected = random.Random(42)
    assert clock.sleeps == [expected.uniform(0, cap) for cap in (0.5, 1.0, 2.0, 3.0, 3.0)]
    assert sender.budgets == [None] * 6


def test_retries_never_go_past_the_deadline() -> None:
    clock = FakeClock()
    deadline = clock.now() + 2.0
    sender = Always500(clock=clock, rng=random.Random(3), max_attempts=50, backoff_base=1.0, backoff_cap=8.0)
    delivery = sender.send("http://h/x", b"{}", deadline=deadline)
    assert not delivery.delivered
    assert clock.now() <= deadline
    assert all(budget is not None and 0.05 < budget <= 2.0 for budget in sender.budgets)
    assert delivery.attempts < 50


def test_no_time_left_means_no_attempt() -> None:
    clock = FakeClock()
    sender = Always500(clock=clock)
    assert sender.send("http://h/x", b"{}", deadline=clock.now()) == Delivery(
        False, 1, None, "no time left before the deadline"
    )
    assert sender.budgets == []


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://127.0.0.1/x?X-Amz-Signature=" + SIGNATURE, "unsupported URL scheme 'ftp'"),
        ("http://127.0.0.1:notaport/x?X-Amz-Signature=" + SIGNATURE, "invalid URL (Port could not be cast"),
        ("http://127.0.0.1:{port}/x y?X-Amz-Signature=" + SIGNATURE, "invalid URL (URL can't contain control"),
    ],
)
def test_an_unusable_url_is_final_and_its_query_is_not_in_the_error(
    url: str, error: str, server: ResponseServer
) -> None:
    sender = fast_sender()
    delivery = sender.send(url.replace("{port}", str(server.port)), b"{}")
    assert (delivery.delivered, delivery.attempts) == (False, 1)
    assert delivery.error.startswith(error)
    assert SIGNATURE not in delivery.error


def test_https_urls_are_sent_over_tls(server: ResponseServer) -> None:
    delivery = fast_sender(max_attempts=1).send(f"https://127.0.0.1:{server.port}/r", b"{}")
    assert (delivery.delivered, delivery.status) == (False, None)
    assert delivery.error.startswith("SSLError")


def test_log_lines_name_the_url_without_its_query(capfd: pytest.CaptureFixture[str]) -> None:
    logs.install("DEBUG")
    with ResponseServer() as running:
        running.fail_next(1, 500)
        fast_sender().send(running.url, b"{}")
        fast_sender(max_attempts=2).send(f"http://127.0.0.1:{free_port()}/r?X-Amz-Signature={SIGNATURE}", b"{}")
        fast_sender().send(f"http://127.0.0.1:{running.port}/x y?X-Amz-Signature={SIGNATURE}", b"{}")
        url = running.url
    out, err = capfd.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["message"] for line in lines] == [
        "response delivery attempt failed",
        "response delivered",
        "response delivery attempt failed",
        "response delivery attempt failed",
        "response NOT delivered",
        "response delivery attempt failed",
        "response NOT delivered",
    ]
    assert lines[1]["url"] == url.split("?")[0]
    assert SIGNATURE not in out + err
    assert "X-Amz" not in out + err


def test_a_host_name_that_cannot_be_encoded_is_final() -> None:
    delivery = fast_sender().send("http://" + "a" * 70 + ".example/r?X-Amz-Signature=" + SIGNATURE, b"{}")
    assert (delivery.delivered, delivery.attempts, delivery.status) == (False, 1, 0)
    assert delivery.error.startswith("invalid URL (")
    assert SIGNATURE not in delivery.error


def test_system_clock_ignores_non_positive_sleeps() -> None:
    clock = SystemClock()
    before = clock.now()
    clock.sleep(0)
    clock.sleep(-1)
    assert clock.now() >= before
