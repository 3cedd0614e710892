"""The sender at its limits: TLS, which statuses count as delivered, timeouts against
the deadline, and the production retry policy.

Every server here is real and listens on 127.0.0.1. Time is a FakeClock: no test
asserts a tight wall-time margin. Where a broken timeout would hang (a 60 s stall),
the send runs in a thread that must finish well inside a generous bound.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cfnkit import CustomResource, Provider, Request, Result
from cfnkit.sender import MIN_ATTEMPT_S, Delivery, HttpSender, SystemClock
from cfnkit.testing import FakeClock, FakeContext, RecordingInvoker, ResponseServer, create_event
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: Far longer than any test may take: a timeout that is not applied shows as a hang.
HANG = 60.0
#: How long a send may take before we call it hung (generous: not a speed test).
BOUND = 20.0


def send_within_bound(sender: HttpSender, url: str, deadline: float | None = None) -> Delivery:
    """Send in a thread; fail (rather than hang the suite) if it does not end within BOUND."""
    result: list[Delivery] = []
    worker = threading.Thread(target=lambda: result.append(sender.send(url, b"{}", deadline=deadline)), daemon=True)
    worker.start()
    worker.join(BOUND)
    assert result, f"the send was still running after {BOUND} s: a timeout was not applied"
    return result[0]


# -- https, verified against a CA made for the test ------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A CA (written as a PEM file) and a server context whose certificate it signed for 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("cfnkit test CA"))
        .issuer_name(_name("cfnkit test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(chain)
    return ca_file, server_context


@pytest.fixture
def tls_server(test_ca: tuple[Path, ssl.SSLContext]) -> Iterator[ResponseServer]:
    with ResponseServer(tls=test_ca[1]) as running:
        yield running


def test_an_https_response_url_is_delivered_with_the_certificate_verified(
    tls_server: ResponseServer, test_ca: tuple[Path, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The production sender trusts the system's CA store; SSL_CERT_FILE points that store
    # at the test CA, so this is the production code path, verification included.
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca[0]))
    assert tls_server.url.startswith("https://127.0.0.1:")
    delivery = HttpSender(clock=FakeClock()).send(tls_server.url, b'{"Status":"SUCCESS"}')
    assert delivery == Delivery(True, 1, 200)
    put = tls_server.wait_for(1)[0]
    assert put.json() == {"Status": "SUCCESS"}
    assert put.path.startswith("/response?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=")
    assert put.headers["Content-Type"] == ""


@pytest.mark.parametrize("defaults_turned_off", [False, True])
def test_an_https_server_whose_certificate_is_not_trusted_is_not_delivered_to(
    tls_server: ResponseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, defaults_turned_off: bool
) -> None:
    if defaults_turned_off:
        # Code sharing the Lambda process may apply the well-known "fix" for certificate
        # errors, making http.client's default context an unverified one: the sender builds
        # its own verifying context, so the answer still goes only to a trusted server.
        monkeypatch.setattr(ssl, "_create_default_https_context", ssl._create_unverified_context)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))  # trust nothing
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    delivery = HttpSender(clock=FakeClock(), max_attempts=1).send(tls_server.url, b"{}")
    assert (delivery.delivered, delivery.status) == (False, None)
    assert delivery.error.startswith("SSLCertVerificationError")
    assert tls_server.puts == []


def test_a_custom_resource_answers_at_an_https_response_url_end_to_end(
    tls_server: ResponseServer, test_ca: tuple[Path, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every real ResponseURL is https: the event is accepted, the provider runs, and its
    # answer arrives over verified TLS with the signed query intact.
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca[0]))

    class Echo(Provider):
        def create(self, request: Request) -> Result:
            return Result(physical_id="echo-1", data={"Name": request.properties["Name"]})

    clock = FakeClock()
    event = create_event({"Name": "db"}, response_url=tls_server.url, request_id="req-tls")
    CustomResource(Echo(), sender=HttpSender(clock=clock), clock=clock, invoker=RecordingInvoker())(
        event, FakeContext(60.0, clock=clock)
    )
    (put,) = tls_server.wait_for(1)
    assert put.path == "/" + tls_server.url.split("/", 3)[3]
    assert put.json() == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": "echo-1",
        "StackId": event["StackId"],
        "RequestId": "req-tls",
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": {"Name": "db"},
    }


# -- only 2xx is delivered --------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_every_2xx_status_counts_as_delivered(status: int, server: ResponseServer) -> None:
    server.fail_next(1, status)  # answer the first PUT with this status
    assert HttpSender(clock=FakeClock()).send(server.url, b"{}") == Delivery(True, 1, status)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (300, "HTTP 300"),
        (301, "HTTP 301"),
        (304, "HTTP 304"),
        (400, "HTTP 400 AccessDenied"),
        (403, "HTTP 403 AccessDenied"),
        (404, "HTTP 404 AccessDenied"),
        (499, "HTTP 499 AccessDenied"),
    ],
)
def test_a_3xx_or_4xx_status_is_final_and_not_delivered(status: int, error: str, server: ResponseServer) -> None:
    # A redirect is not a stored response (S3 presigned PUTs never redirect), and a 4xx
    # other than 408/429 will not change on retry (expired or denied URL).
    server.fail_next(1, status)
    clock = FakeClock()
    assert HttpSender(clock=clock).send(server.url, b"{}") == Delivery(False, 1, status, error)
    assert (server.attempts, clock.sleeps) == (1, [])


@pytest.mark.parametrize("status", [408, 429, 500, 503, 599])
def test_timeouts_throttling_and_5xx_are_retried(status: int, server: ResponseServer) -> None:
    server.fail_next(1, status)
    assert HttpSender(clock=FakeClock()).send(server.url, b"{}") == Delivery(True, 2, 200)


# -- connect and read timeouts against the deadline ----------------------------------------


@pytest.fixture
def stalls_in_accept() -> Iterator[str]:
    """A server that never accepts: its one-slot backlog is full, so connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    probe = socket.socket()
    probe.settimeout(0.2)
    with pytest.raises(TimeoutError):  # the precondition: a connection attempt now hangs
        probe.connect(("127.0.0.1", port))
    probe.close()
    try:
        yield f"http://127.0.0.1:{port}/response?X-Amz-Signature=0123"
    finally:
        filler.close()
        listener.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_server_that_stalls_in_accept_is_bounded_by_the_connect_timeout(stalls_in_accept: str, scheme: str) -> None:
    sender = HttpSender(connect_timeout=0.3, read_timeout=HANG, clock=FakeClock(), max_attempts=1)
    url = stalls_in_accept.replace("http:", f"{scheme}:")
    assert send_within_bound(sender, url) == Delivery(False, 1, None, "timed out")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_connect_timeout_is_capped_by_the_time_left_before_the_deadline(stalls_in_accept: str, scheme: str) -> None:
    clock = FakeClock()
    sender = HttpSender(connect_timeout=HANG, read_timeout=HANG, clock=clock, max_attempts=1)
    url = stalls_in_accept.replace("http:", f"{scheme}:")
    delivery = send_within_bound(sender, url, deadline=clock.now() + 0.3)
    assert delivery == Delivery(False, 1, None, "timed out")


def test_a_server_that_stalls_in_reply_is_bounded_by_the_read_timeout(server: ResponseServer) -> None:
    server.stall_next(1, HANG)
    sender = HttpSender(connect_timeout=HANG, read_timeout=0.3, clock=FakeClock(), max_attempts=1)
    assert send_within_bound(sender, server.url) == Delivery(False, 1, None, "timed out")


def test_the_read_timeout_is_capped_by_the_time_left_before_the_deadline(server: ResponseServer) -> None:
    server.stall_next(1, HANG)
    clock = FakeClock()
    sender = HttpSender(connect_timeout=HANG, read_timeout=HANG, clock=clock, max_attempts=1)
    delivery = send_within_bound(sender, server.url, deadline=clock.now() + 0.3)
    assert delivery == Delivery(False, 1, None, "timed out")


class SlowLookClock(FakeClock):
    """Each look at the clock finds `step` seconds passed: connecting "takes" time."""

    def __init__(self, step: float) -> None:
        super().__init__()
        self.step = step

    def now(self) -> float:
        self.advance(self.step)
        return super().now()


def test_the_read_timeout_counts_the_time_connecting_took(server: ResponseServer) -> None:
    # 30 s of budget, and connecting used all of it: the read may not wait on (it gets
    # the minimum), where budget + elapsed would have waited a minute.
    server.stall_next(1, HANG)
    clock = SlowLookClock(step=15.0)
    sender = HttpSender(connect_timeout=HANG, read_timeout=HANG, clock=clock, max_attempts=1)
    deadline = clock.now() + 30.0
    assert send_within_bound(sender, server.url, deadline=deadline) == Delivery(False, 1, None, "timed out")


def test_a_read_with_no_time_left_waits_only_a_moment() -> None:
    """When connecting used the whole budget the PUT is still sent, but its reply is
    awaited for a token 10 ms, not a second more (wide margin: this is not a speed test)."""
    with ResponseServer() as server:
        server.stall_next(1, HANG)
        clock = SlowLookClock(step=15.0)
        sender = HttpSender(connect_timeout=HANG, read_timeout=HANG, clock=clock, max_attempts=1)
        started = time.monotonic()
        assert sender.send(server.url, b"{}", deadline=clock.now() + 30.0) == Delivery(False, 1, None, "timed out")
        assert time.monotonic() - started < 0.9
        assert server.attempts == 1  # the PUT was sent


@pytest.fixture
def slow_reply() -> Iterator[str]:
    """A server that answers 200 after 1 s."""

    class SlowReply(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(1.0)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, fmt: str, *args: object) -> None:
            return

    slow = ThreadingHTTPServer(("127.0.0.1", 0), SlowReply)
    slow.daemon_threads = True
    thread = threading.Thread(target=slow.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{slow.server_address[1]}/r"
    finally:
        slow.shutdown()
        slow.server_close()


def test_the_read_timeout_is_its_own_not_the_connect_timeout(slow_reply: str) -> None:
    """Connecting is quick and replying slow: a 0.1 s connect timeout must not cut a 1 s reply."""
    sender = HttpSender(connect_timeout=0.1, read_timeout=HANG, clock=FakeClock(), max_attempts=1)
    assert send_within_bound(sender, slow_reply) == Delivery(True, 1, 200)


def test_a_slow_reply_well_inside_the_deadline_is_awaited(slow_reply: str) -> None:
    clock = FakeClock()
    sender = HttpSender(connect_timeout=0.1, read_timeout=HANG, clock=clock, max_attempts=1)
    assert send_within_bound(sender, slow_reply, deadline=clock.now() + 30.0) == Delivery(True, 1, 200)


# -- what is sent and what is read -----------------------------------------------------------


def test_the_put_carries_only_the_headers_the_presigned_url_expects(server: ResponseServer) -> None:
    assert HttpSender(clock=FakeClock()).send(server.url, b'{"Status":"SUCCESS"}').delivered
    headers = server.wait_for(1)[0].headers
    assert {name.lower(): value for name, value in headers.items()} == {
        "host": f"127.0.0.1:{server.port}",
        "accept-encoding": "identity",
        "content-type": "",
        "content-length": "20",
    }


@pytest.mark.parametrize(("padding", "error"), [(4096 - 25, "HTTP 403 AccessDenied"), (4096 - 24, "HTTP 403")])
def test_at_most_4096_bytes_of_an_error_body_are_read(padding: int, error: str) -> None:
    """The S3 error code is named when it is within the first 4 KB of the body; a server
    sending an endless body cannot make the sender read on."""
    body = b"x" * padding + b"<Code>AccessDenied</Code>"  # its last byte is byte padding + 25

    class Denies(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: object) -> None:
            return

    denies = ThreadingHTTPServer(("127.0.0.1", 0), Denies)
    thread = threading.Thread(target=denies.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        delivery = HttpSender(clock=FakeClock()).send(f"http://127.0.0.1:{denies.server_address[1]}/r", b"{}")
    finally:
        denies.shutdown()
        denies.server_close()
    assert delivery == Delivery(False, 1, 403, error)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://127.0.0.1/x", "unsupported URL scheme 'ftp'"),
        ("http://127.0.0.1:port/x", "invalid URL (Port could not be cast to integer value as 'port')"),
        ("http:///x", "invalid URL (no host name)"),
        ("https://:443/x", "invalid URL (no host name)"),
    ],
)
def test_an_unusable_url_is_one_final_attempt_without_an_http_status(url: str, error: str) -> None:
    clock = FakeClock()
    assert HttpSender(clock=clock).send(url, b"{}") == Delivery(False, 1, 0, error)
    assert clock.sleeps == []


def test_the_system_clock_sleeps_at_least_as_long_as_asked() -> None:
    clock = SystemClock()
    started = time.monotonic()
    clock.sleep(0.05)
    assert time.monotonic() - started >= 0.05


# -- when another attempt is worth starting ------------------------------------------------


@pytest.mark.parametrize(("left", "attempts"), [(0.05, 0), (0.0501, 1)])
def test_no_attempt_starts_with_50_ms_or_less_before_the_deadline(
    left: float, attempts: int, server: ResponseServer
) -> None:
    clock = FakeClock(start=0.0)
    delivery = HttpSender(clock=clock).send(server.url, b"{}", deadline=left)
    assert server.attempts == attempts
    assert delivery.delivered is bool(attempts)


@pytest.mark.parametrize(("left_after_first", "attempts"), [(MIN_ATTEMPT_S, 1), (MIN_ATTEMPT_S + 0.01, 2)])
def test_a_retry_needs_more_than_min_attempt_s_left_and_its_pause_leaves_that_much(
    left_after_first: float, attempts: int, server: ResponseServer
) -> None:
    server.fail_next(10, 503)
    clock = FakeClock(start=0.0)
    sender = HttpSender(clock=clock, rng=random.Random(5), max_attempts=2)
    delivery = sender.send(server.url, b"{}", deadline=left_after_first)
    assert (delivery.delivered, delivery.attempts, server.attempts) == (False, attempts, attempts)
    for pause in clock.sleeps:
        assert left_after_first - pause >= MIN_ATTEMPT_S - 1e-9


# -- the production retry policy -----------------------------------------------------------


def test_the_production_retry_policy() -> None:
    """Why these numbers (HttpSender's defaults, which CustomResource uses):

    - 6 attempts with full-jitter backoff of base 0.5 s doubling to a cap of 8 s: at most
      0.5 + 1 + 2 + 4 + 8 = 15.5 s of pauses, which rides out S3's transient 500/503
      (its documented advice is to retry with backoff) yet ends long before the
      presigned URL (valid about two hours) or a 900 s Lambda would;
    - connect 5 s: S3 accepts in milliseconds; 5 s covers a slow first connection
      from a VPC without waiting long on a dead path;
    - read 10 s: a 4 KB PUT is answered in well under a second.
    Every attempt and pause is also cut short by the deadline (tests above).
    """
    sender = HttpSender()
    assert (sender.max_attempts, sender.backoff_base, sender.backoff_cap) == (6, 0.5, 8.0)
    assert (sender.connect_timeout, sender.read_timeout) == (5.0, 10.0)


def test_the_production_policy_gives_up_after_6_attempts_with_capped_jittered_pauses(
    server: ResponseServer,
) -> None:
    server.fail_next(10, 503)
    clock = FakeClock()
    delivery = HttpSender(clock=clock, rng=random.Random(11)).send(server.url, b"{}")
    assert delivery == Delivery(False, 6, 503, "HTTP 503 AccessDenied")
    assert server.attempts == 6
    jitter = random.Random(11)
    assert clock.sleeps == [jitter.uniform(0, cap) for cap in (0.5, 1.0, 2.0, 4.0, 8.0)]


def test_the_backoff_cap_holds_past_the_fifth_pause() -> None:
    clock = FakeClock()
    sender = HttpSender(clock=clock, rng=random.Random(2), max_attempts=9, connect_timeout=0.2)
    with socket.socket() as probe:  # a port nobody listens on: every attempt is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = sender.send(f"http://127.0.0.1:{port}/r", b"{}")
    assert (delivery.delivered, delivery.attempts) == (False, 9)
    jitter = random.Random(2)
    assert clock.sleeps == [jitter.uniform(0, cap) for cap in (0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0)]


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:{port}/x y", "URL can't contain control characters. '/x y'"),
        ("http://" + "a" * 70 + ".example/r", "too long"),  # the wording around it varies by Python
    ],
)
def test_a_url_http_client_refuses_is_one_final_attempt_without_an_http_status(
    url: str, error: str, server: ResponseServer
) -> None:
    delivery = HttpSender(clock=FakeClock()).send(url.replace("{port}", str(server.port)), b"{}")
    assert (delivery.delivered, delivery.attempts, delivery.status) == (False, 1, 0)
    assert delivery.error.startswith("invalid URL (")
    assert error in delivery.error


def test_a_refused_connection_is_reported_with_the_system_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = HttpSender(clock=FakeClock(), max_attempts=1).send(f"http://127.0.0.1:{port}/r", b"{}")
    assert delivery == Delivery(False, 1, None, "ConnectionRefusedError: [Errno 111] Connection refused")


def test_a_sender_allowed_no_attempt_sends_nothing(server: ResponseServer) -> None:
    assert HttpSender(clock=FakeClock(), max_attempts=0).send(server.url, b"{}") == Delivery(False, 0, None, "")
    assert server.attempts == 0


def test_each_attempt_and_the_outcome_are_logged_with_their_fields(
    server: ResponseServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """Operators query these fields (CloudWatch Logs Insights); the URL never has its query."""
    from cfnkit import logs

    logs.install("INFO")
    capfd.readouterr()
    base = server.url.split("?")[0]
    server.fail_next(1, 503)
    HttpSender(clock=FakeClock(), rng=random.Random(1)).send(server.url, b"{}")
    server.fail_next(1, 403)
    HttpSender(clock=FakeClock()).send(server.url, b"{}")
    out, _ = capfd.readouterr()
    keep = ("message", "level", "url", "status", "error", "attempt", "attempts", "will_retry")
    lines = [{k: v for k, v in json.loads(line).items() if k in keep} for line in out.splitlines()]
    assert lines == [
        {
            "message": "response delivery attempt failed",
            "level": "WARNING",
            "url": base,
            "status": 503,
            "error": "HTTP 503 AccessDenied",
            "attempt": 1,
            "will_retry": True,
        },
        {"message": "response delivered", "level": "INFO", "url": base, "status": 200, "attempts": 2},
        {
            "message": "response delivery attempt failed",
            "level": "WARNING",
            "url": base,
            "status": 403,
            "error": "HTTP 403 AccessDenied",
            "attempt": 1,
            "will_retry": False,
        },
        {
            "message": "response NOT delivered",
            "level": "ERROR",
            "url": base,
            "status": 403,
            "error": "HTTP 403 AccessDenied",
            "attempts": 1,
        },
    ]
