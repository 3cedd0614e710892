"""cfnkit.logs: JSON lines with request ids, and redaction everywhere."""

from __future__ import annotations

import io
import json
import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from cfnkit import CustomResource, Provider, ProviderError, Request, Result, get_logger, logs
from cfnkit.handler import _Watchdog
from cfnkit.logs import MASK, MIN_SECRET_LENGTH, SUPPRESSED, hide_query, redactor, request_scope, strip_query
from cfnkit.testing import FakeClock, FakeContext, RecordingSender, create_event, update_event

CANARY = 'Zq9"cañary\\7731'
URL = "https://bucket.s3.amazonaws.com/stack/req?X-Amz-Signature=deadbeefcafe&X-Amz-Expires=7200"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A plain (non-cfnkit) handler on the root logger, like the Lambda runtime's."""
    logs.install()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


def lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out, _ = capfd.readouterr()
    return [json.loads(line) for line in out.splitlines()]


def test_handler_logs_json_lines_with_the_request_ids(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)

    class Ok(Provider):
        def create(self, request: Request) -> Result:
            get_logger("mine").info("working", extra={"fields": {"step": 1}})
            return Result()

    capfd.readouterr()
    event = create_event({"A": "1"}, request_id="req-7")
    CustomResource(Ok(), sender=RecordingSender(), clock=FakeClock())(event, FakeContext())
    found = lines(capfd)
    assert [(line["logger"], line["message"]) for line in found] == [
        ("cfnkit.handler", "request received"),
        ("cfnkit.mine", "working"),
        ("cfnkit.handler", "sending response"),
    ]
    for line in found:
        assert (line["cfn_request_id"], line["logical_id"], line["request_type"], line["hop"]) == (
            "req-7",
            "Resource",
            "Create",
            0,
        )
        assert line["stack_id"] == event["StackId"]
        assert line["level"] == "INFO"
        # Powertools' key names and timestamp format for the fields both log.
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\+0000", line["timestamp"])
        assert line["function_request_id"] == "00000000-0000-4000-8000-000000000001"
        assert line["service"] == "cfnkit"
        assert isinstance(line["cold_start"], bool)
    assert found[0]["properties"] == ["A"]
    assert found[1]["step"] == 1


def test_watchdog_lines_carry_the_request_ids(capfd: pytest.CaptureFixture[str]) -> None:
    logs.install()
    capfd.readouterr()
    with request_scope(cfn_request_id="req-w"):
        watchdog = _Watchdog(0.0, lambda: get_logger("dog").warning("fired"))
        watchdog._thread.join(5.0)
    assert [(line["message"], line["cfn_request_id"]) for line in lines(capfd)] == [("fired", "req-w")]


def test_a_cancelled_watchdog_does_not_fire() -> None:
    fired: list[bool] = []
    watchdog = _Watchdog(30.0, lambda: fired.append(True))
    watchdog.cancel()
    watchdog._thread.join(5.0)
    assert fired == []


def test_registered_secrets_are_masked_in_our_logger_also_json_escaped(capfd: pytest.CaptureFixture[str]) -> None:
    logs.install()
    redactor.add(CANARY)
    capfd.readouterr()
    get_logger("t").info("value %s", CANARY, extra={"fields": {"echo": CANARY}})
    out, err = capfd.readouterr()
    line = json.loads(out)
    assert (line["message"], line["echo"]) == ("value ****", "****")
    for form in (CANARY, json.dumps(CANARY)[1:-1], json.dumps(CANARY, ensure_ascii=False)[1:-1]):
        assert form not in out + err


def test_secrets_and_url_queries_are_masked_in_a_foreign_logger(stream: io.StringIO) -> None:
    redactor.add(CANARY)
    logging.getLogger("somebody.else").warning("put %s with %r", URL, {"password": CANARY})
    text = stream.getvalue()
    assert text == (
        "somebody.else WARNING put https://bucket.s3.amazonaws.com/stack/req?**** with {'password': '****'}\n"
    )


def test_url_queries_are_masked_in_our_logger(capfd: pytest.CaptureFixture[str]) -> None:
    logs.install()
    capfd.readouterr()
    get_logger("t").info("to %s", URL, extra={"fields": {"url": URL}})
    out, _ = capfd.readouterr()
    assert "deadbeefcafe" not in out
    assert json.loads(out)["url"] == "https://bucket.s3.amazonaws.com/stack/req?****"


def test_botocore_body_loggers_are_suppressed_at_debug_even_when_set_later(stream: io.StringIO) -> None:
    for name in ("botocore.parsers", "botocore.endpoint", "urllib3.connectionpool"):
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).debug("Response body: %s", b'{"SecretString":"unregistered-secret"}')
    logging.getLogger("botocore.parsers").info("an info line passes")
    logging.getLogger("botocore.credentials").setLevel(logging.DEBUG)
    logging.getLogger("botocore.credentials").debug("not a body logger")
    assert stream.getvalue().splitlines() == [
        f"botocore.parsers DEBUG {SUPPRESSED}",
        f"botocore.endpoint DEBUG {SUPPRESSED}",
        f"urllib3.connectionpool DEBUG {SUPPRESSED}",
        "botocore.parsers INFO an info line passes",
        "botocore.credentials DEBUG not a body logger",
    ]


def test_install_pins_body_loggers_to_info() -> None:
    logs._install_state["installed"] = False
    cfnkit_logger = logging.getLogger("cfnkit")
    handlers = list(cfnkit_logger.handlers)
    try:
        cfnkit_logger.handlers.clear()
        logging.getLogger("botocore.parsers").setLevel(logging.DEBUG)
        logs.install()
        assert logging.getLogger("botocore.parsers").level == logging.INFO
        assert len(cfnkit_logger.handlers) == 1
        logs.install()
        assert len(cfnkit_logger.handlers) == 1
    finally:
        cfnkit_logger.handlers[:] = handlers


def test_exception_tracebacks_are_redacted_and_kept(capfd: pytest.CaptureFixture[str], stream: io.StringIO) -> None:
    redactor.add(CANARY)
    capfd.readouterr()

    def fail() -> None:
        raise ValueError(f"bad password {CANARY}")

    try:
        fail()
    except ValueError:
        get_logger("t").exception("failed")
        logging.getLogger("foreign").exception("failed too")
    out, err = capfd.readouterr()
    line = json.loads(out)
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("ValueError: bad password ****")
    assert stream.getvalue().rstrip().endswith("ValueError: bad password ****")
    assert CANARY not in out + err + stream.getvalue()


def test_an_unformattable_record_does_not_raise(stream: io.StringIO) -> None:
    logging.getLogger("foreign").warning("%d items", "many")
    assert stream.getvalue() == "foreign WARNING [cfnkit: unformattable log record]\n"


def test_log_level_comes_from_the_argument_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert logs.install("debug").level == logging.DEBUG
    assert logs.install(logging.WARNING).level == logging.WARNING
    monkeypatch.setenv("CFNKIT_LOG_LEVEL", "error")
    assert logs.install().level == logging.ERROR


def test_redactor_registers_every_scalar_of_a_value() -> None:
    redactor.add_value({"a": ["alpha-secret", {"b": 123456}], "c": ("gamma-secret",), "d": True, "e": None})
    assert redactor.redact("alpha-secret 123456 gamma-secret True") == "**** **** **** True"


def test_redactor_masks_the_repr_and_bytes_forms_of_a_secret() -> None:
    redactor.add(CANARY)
    text = f"{[CANARY]!r} {CANARY.encode()!r} {json.dumps(CANARY)}"
    assert redactor.redact(text) == "['****'] b'****' \"****\""


def test_redactor_ignores_values_too_short_to_mask() -> None:
    redactor.add("ab")
    redactor.add("ab")
    assert redactor.redact("ab cab") == "ab cab"


def test_redactor_prefers_the_longest_secret_and_clears() -> None:
    redactor.add("secret")
    redactor.add("secret-longer")
    redactor.add("secret")
    assert redactor.redact("secret-longer!") == f"{MASK}!"
    redactor.clear()
    assert redactor.redact("secret") == "secret"


def test_strip_and_hide_query() -> None:
    assert strip_query(URL) == "https://bucket.s3.amazonaws.com/stack/req"
    assert hide_query("cannot PUT /stack/req?X-Amz-Signature=deadbeefcafe&X-Amz-Expires=7200", URL) == (
        "cannot PUT /stack/req?****"
    )
    assert hide_query("no query here", "http://h/p") == "no query here"


def test_get_logger_names() -> None:
    assert get_logger().name == "cfnkit"
    assert get_logger("ecs").name == "cfnkit.ecs"


def test_provider_error_reason_with_a_registered_secret_is_masked_in_the_log(
    capfd: pytest.CaptureFixture[str],
) -> None:
    class Leaky(Provider):
        def create(self, request: Request) -> Result:
            redactor.add(CANARY)
            raise ProviderError(f"cannot use {CANARY}")

    capfd.readouterr()
    sender = RecordingSender()
    CustomResource(Leaky(), sender=sender, clock=FakeClock())(create_event({}), FakeContext())
    out, err = capfd.readouterr()
    assert sender.only["Reason"] == "cannot use ****"
    assert CANARY not in out + err


def test_json_formatter_formats_a_record_that_still_has_exc_info() -> None:
    redactor.add(CANARY)

    def fail() -> None:
        raise KeyError(CANARY)

    try:
        fail()
    except KeyError:
        import sys

        record = logging.makeLogRecord(
            {
                "name": "cfnkit.t",
                "levelno": logging.ERROR,
                "levelname": "ERROR",
                "msg": "boom",
                "exc_info": sys.exc_info(),
            }
        )
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["exception"].endswith("KeyError: '****'")
    assert CANARY not in json.dumps(line)


def test_json_lines_stay_valid_when_secrets_look_like_json_literals(capfd: pytest.CaptureFixture[str]) -> None:
    logs.install()
    redactor.add_value({"Flag": "true", "Port": 5432, "Word": "null", "Id": "7731"})
    capfd.readouterr()
    get_logger("t").info(
        "port 5432",
        extra={
            "fields": {
                "ok": True,
                "none": None,
                "port": 5432,
                "ids": (7731, 1),
                "5432": "key",
                "other": {1, 2},
                "obj": ValueError("5432"),
            }
        },
    )
    out, _ = capfd.readouterr()
    line = json.loads(out)
    assert (line["message"], line["ok"], line["none"], line["port"], line["ids"]) == (
        "port ****",
        True,
        None,
        "****",
        ["****", 1],
    )
    assert (line["****"], line["other"], line["obj"]) == ("key", [1, 2], "****")
    assert line["level"] == "INFO"


def test_an_unknown_log_level_falls_back_to_info(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CFNKIT_LOG_LEVEL", "verbose")
    capfd.readouterr()
    assert logs.install().level == logging.INFO
    assert logs.install(["not", "a", "level"]).level == logging.INFO  # type: ignore[arg-type]
    found = lines(capfd)
    assert [(line["message"], line["level"]) for line in found] == [("unknown log level; using INFO", "WARNING")] * 2


def test_a_handler_with_a_misspelt_log_level_still_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    class Ok(Provider):
        def create(self, request: Request) -> Result:
            return Result()

    monkeypatch.setenv("CFNKIT_LOG_LEVEL", "TRACE")
    sender = RecordingSender()
    CustomResource(Ok(), sender=sender, clock=FakeClock())(create_event({}), FakeContext())
    assert sender.only["Status"] == "SUCCESS"


def test_fields_never_replace_the_standard_keys(capfd: pytest.CaptureFixture[str]) -> None:
    logs.install()
    capfd.readouterr()
    get_logger("t").info(
        "real",
        extra={
            "fields": {"level": "fake", "message": "fake", "logger": "x", "timestamp": "0", "service": "x", "own": 1}
        },
    )
    line = lines(capfd)[0]
    assert (line["level"], line["message"], line["logger"], line["own"]) == ("INFO", "real", "cfnkit.t", 1)
    assert line["timestamp"] != "0"
    assert line["service"] != "x"


def test_json_literals_in_noecho_data_do_not_mask_ordinary_words() -> None:
    redactor.add_value({"Enabled": "true", "Missing": "null", "Off": "false", "Token": "tok-4411"})
    assert redactor.redact("flag true, value null, false alarm, tok-4411") == "flag true, value null, false alarm, ****"


# -- short and overlapping secrets at their length boundaries --------------------------------


def test_a_secret_of_min_secret_length_is_masked_and_one_shorter_is_not() -> None:
    assert MIN_SECRET_LENGTH == 3  # shorter values would mask ordinary words ("id", "ok")
    redactor.add("xy")
    redactor.add("k9z")
    assert redactor.redact("xy k9z xk9zy") == "xy **** x****y"


def test_an_escaped_form_is_masked_only_when_itself_long_enough() -> None:
    # "a\n" is 2 characters (not a secret) although its JSON form a\\n is 3.
    redactor.add("a\n")
    redactor.add("b\n!")  # 3 characters: masked raw and as JSON shows it
    assert redactor.redact('a\\n b\n! "b\\n!"') == 'a\\n **** "****"'


def test_a_secret_inside_a_longer_secret_masks_the_longer_whole() -> None:
    redactor.add("pass")
    redactor.add("password")
    assert redactor.redact("password passwor pass") == "**** ****wor ****"


def test_overlapping_secrets_are_masked_as_one_with_no_tail_of_either_showing() -> None:
    redactor.add("abcdef")
    redactor.add("defghi")
    assert redactor.redact("<abcdefghi>") == "<****>"
    assert redactor.redact("<defghiabc abcdef>") == "<****abc ****>"
    # Overlapping by exactly one character, and merely touching (no overlap):
    redactor.add("xyz")
    redactor.add("zab")
    assert redactor.redact("xyzab xyzzab") == "**** ********"


def test_a_secret_added_after_the_first_is_found_wherever_the_first_was_not() -> None:
    redactor.add("first-secret")
    assert redactor.redact("second-secret") == "second-secret"
    redactor.add("second-secret")
    assert redactor.redact("second-secret first-secret") == "**** ****"


def test_cold_start_is_true_for_the_first_invocation_of_the_process_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(logs._cold, "start", True)

    first, second = logs.lambda_fields(FakeContext()), logs.lambda_fields(FakeContext(request_id="r-2"))

    assert first == {"cold_start": True, "function_request_id": "00000000-0000-4000-8000-000000000001"}
    assert second == {"cold_start": False, "function_request_id": "r-2"}


def test_without_a_lambda_context_there_is_no_function_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(logs._cold, "start", False)

    assert logs.lambda_fields(None) == {"cold_start": False}


def test_the_xray_trace_id_is_the_root_of_the_trace_header_as_powertools_logs_it(
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    logs.install()
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    capfd.readouterr()
    get_logger("t").info("no trace")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    get_logger("t").info("traced")

    untraced, traced = lines(capfd)
    assert "xray_trace_id" not in untraced
    assert traced["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"


def test_the_service_is_powertools_service_name_then_the_function_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-Provider")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders")
    assert logs.service_name() == "orders"
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME")
    assert logs.service_name() == "stack-Provider"
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert logs.service_name() == "cfnkit"


def test_a_structured_message_keeps_its_shape_and_loses_its_secrets(stream: io.StringIO) -> None:
    redactor.add(CANARY)
    record = logging.getLogger("plain").makeRecord(
        "plain", logging.INFO, "f", 1, {"password": CANARY, "n": [1, CANARY]}, None, None
    )

    assert record.msg == {"password": "****", "n": [1, "****"]}


# -- what install() sets up once per process, seen from a fresh interpreter ------------------

FRESH = """
import logging, sys
from cfnkit import logs
logging.basicConfig(stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
logs.install()
logs.redactor.add("s3cr3t-value")
logging.getLogger("botocore.parsers").setLevel(logging.DEBUG)  # turned up later: still suppressed
logging.getLogger("botocore.parsers").debug("response body %s", "s3cr3t-value")
logging.getLogger("other").warning("token=%s", "s3cr3t-value")
try:
    raise RuntimeError("refused s3cr3t-value")
except RuntimeError:
    logging.getLogger("other").exception("failed")
logs.get_logger("x").info("hello %s", "s3cr3t-value")
logs.get_logger("x").debug("not shown at INFO")
"""


def run_fresh(code: str, **env: str) -> tuple[list[dict[str, Any]], str]:
    """Run code in a new interpreter importing this same cfnkit: (our JSON lines, stderr)."""
    import os
    import subprocess
    import sys

    environment = {name: value for name, value in os.environ.items() if name != "CFNKIT_LOG_LEVEL"}
    environment.update(PYTHONPATH=os.pathsep.join(sys.path), **env)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True, timeout=60
    )
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_install_redacts_every_logger_suppresses_bodies_and_writes_json_to_stdout() -> None:
    lines_out, err = run_fresh(FRESH)
    assert [(line["logger"], line["level"], line["message"]) for line in lines_out] == [
        ("cfnkit.x", "INFO", "hello ****")
    ]
    assert err.splitlines()[:2] == [f"botocore.parsers DEBUG {SUPPRESSED}", "other WARNING token=****"]
    assert "RuntimeError: refused ****" in err
    assert "s3cr3t" not in err
    assert "cfnkit.x" not in err  # our logger does not also propagate to the root's handlers


def test_the_log_level_comes_from_cfnkit_log_level_in_any_case() -> None:
    lines_out, _ = run_fresh(FRESH, CFNKIT_LOG_LEVEL="debug")
    assert [line["message"] for line in lines_out] == ["hello ****", "not shown at INFO"]


def test_an_unknown_log_level_is_named_in_the_warning_cut_to_40_characters(
    capfd: pytest.CaptureFixture[str],
) -> None:
    capfd.readouterr()
    assert logs.install("v" * 50).level == logging.INFO
    (warning,) = lines(capfd)
    assert (warning["message"], warning["requested_level"]) == ("unknown log level; using INFO", "v" * 40)


def test_queries_are_found_from_the_first_question_mark() -> None:
    url = "https://bucket/p?X-Amz-Signature=ab?cd"
    assert strip_query(url) == "https://bucket/p"
    assert hide_query("PUT /p?X-Amz-Signature=ab?cd failed", url) == "PUT /p?**** failed"


def test_json_lines_carry_the_utc_timestamp_with_milliseconds_as_powertools_writes_it() -> None:
    record = logging.LogRecord("cfnkit.x", logging.INFO, __file__, 1, "m", None, None)
    record.created, record.msecs = 1_767_225_600.0, 7.0
    assert json.loads(logs.JsonFormatter().format(record))["timestamp"] == "2026-01-01 00:00:00,007+0000"


def test_a_secret_is_masked_as_json_writes_it_without_escaping_non_ascii() -> None:
    redactor.add('cañ"ary-7731')
    assert redactor.redact('{"v": "cañ\\"ary-7731"} {"v": "ca\\u00f1\\"ary-7731"}') == '{"v": "****"} {"v": "****"}'


def test_a_new_redactor_knows_no_secret() -> None:
    fresh = logs.Redactor()
    assert fresh.redact("s3cr3t-value https://h/p?sig=1") == "s3cr3t-value https://h/p?****"
    fresh.add("s3cr3t-value")
    assert fresh.redact("s3cr3t-value") == "****"
    assert redactor.redact("s3cr3t-value") == "s3cr3t-value"  # the process-wide one is another


def test_a_logged_event_keeps_its_service_settings_and_masks_every_other_property(
    capfd: pytest.CaptureFixture[str],
) -> None:
    logs.install()
    capfd.readouterr()
    event = update_event({"Password": "pw-1", "Size": 3}, {"Password": "pw-0"}, "id-1", service_timeout=60)
    get_logger("t").info("event", extra={"fields": {"event": event, "not_an_event": {"RequestType": "Create"}}})
    (line,) = lines(capfd)
    assert line["event"]["ResourceProperties"] == {
        "ServiceToken": event["ServiceToken"],
        "Password": MASK,
        "Size": MASK,
        "ServiceTimeout": "60",
    }
    assert line["event"]["OldResourceProperties"] == {"ServiceToken": event["ServiceToken"], "Password": MASK}
    assert line["event"]["PhysicalResourceId"] == "id-1"
    assert line["not_an_event"] == {"RequestType": "Create"}  # without a ResponseURL it is not an event


def test_protect_powertools_wraps_each_powertools_formatter_once_and_redacts_its_output() -> None:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    buffers = [io.StringIO(), io.StringIO()]
    handlers: list[logging.Handler] = [logging.StreamHandler(buffer) for buffer in buffers]
    for handler in handlers:
        handler.setFormatter(LambdaPowertoolsFormatter())
    plain = logging.StreamHandler(io.StringIO())
    plain.setFormatter(logging.Formatter())
    handlers.append(plain)
    logger = logging.getLogger("powertools-user")
    for handler in handlers:
        logger.addHandler(handler)
    try:
        assert logs.protect_powertools() == 2
        assert logs.protect_powertools() == 0
        redactor.add("pt-s3cret")
        # Extra keys are not part of the message: only the wrapped serializer can mask them.
        logger.warning("payment", extra={"token": "pt-s3cret", "n": 1})
        for buffer in buffers:
            line = json.loads(buffer.getvalue())
            assert (line["message"], line["token"], line["n"]) == ("payment", MASK, 1)
    finally:
        for handler in handlers:
            logger.removeHandler(handler)


# -- the record factory and the one-time setup, built afresh inside the test -----------------


def test_the_redacting_factory_passes_every_argument_to_the_factory_it_wraps() -> None:
    redactor.add(CANARY)
    factory = logs._redacting_factory(logging.LogRecord)

    record = factory("plain", logging.INFO, "app.py", 7, "token %s", (CANARY,), None, func="handler", sinfo="stack")

    assert (record.name, record.levelno, record.pathname, record.lineno) == ("plain", logging.INFO, "app.py", 7)
    assert (record.funcName, record.stack_info) == ("handler", "stack")
    assert (record.getMessage(), record.args) == ("token ****", None)


def test_install_redaction_wraps_the_record_factory_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(logs._redaction_state, "installed", False)
    installed = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)  # a process that never imported cfnkit
    try:
        redactor.add(CANARY)
        logs.install_redaction()
        factory = logging.getLogRecordFactory()
        logs.install_redaction()

        assert logging.getLogRecordFactory() is factory
        record = logging.getLogger("plain").makeRecord("plain", logging.INFO, "f", 1, "v %s", (CANARY,), None)
        assert record.getMessage() == "v ****"
    finally:
        logging.setLogRecordFactory(installed)


def test_the_first_install_writes_json_lines_to_stdout_that_do_not_reach_the_root_handlers(
    capfd: pytest.CaptureFixture[str], stream: io.StringIO
) -> None:
    cfnkit_logger = logging.getLogger("cfnkit")
    handlers, propagate = list(cfnkit_logger.handlers), cfnkit_logger.propagate
    try:
        logs._install_state["installed"] = False
        cfnkit_logger.handlers.clear()
        cfnkit_logger.propagate = True
        logs.install()
        capfd.readouterr()

        get_logger("t").info("hello ñ")

        (line,) = lines(capfd)
        assert (line["logger"], line["message"]) == ("cfnkit.t", "hello ñ")
        assert stream.getvalue() == ""
    finally:
        logs._install_state["installed"] = True
        cfnkit_logger.handlers[:] = handlers
        cfnkit_logger.propagate = propagate


def test_json_lines_keep_non_ascii_text_as_utf8_like_powertools() -> None:
    record = logging.LogRecord("cfnkit.x", logging.INFO, __file__, 1, "café ñ", None, None)
    record.fields = {"city": "Zürich"}
    line = logs.JsonFormatter().format(record)
    assert '"message": "café ñ"' in line
    assert '"city": "Zürich"' in line


def test_an_exception_passed_without_being_raised_is_redacted_in_a_foreign_handler(stream: io.StringIO) -> None:
    redactor.add(CANARY)
    logging.getLogger("foreign").error("refused", exc_info=ValueError(f"bad {CANARY}"))
    assert stream.getvalue() == "foreign ERROR refused\nValueError: bad ****\n"


def test_a_mapping_that_is_not_a_whole_event_keeps_its_properties(capfd: pytest.CaptureFixture[str]) -> None:
    logs.install()
    capfd.readouterr()
    no_url = {"RequestType": "Create", "ResourceProperties": {"Size": 3}}
    no_type = {"ResponseURL": "https://h/p", "ResourceProperties": {"Size": 4}}
    get_logger("t").info("partial", extra={"fields": {"no_url": no_url, "no_type": no_type}})
    (line,) = lines(capfd)
    assert (line["no_url"], line["no_type"]) == (no_url, no_type)


def test_a_message_object_reaches_handlers_unchanged_unless_it_shows_a_secret() -> None:
    # Only dicts, lists and tuples are redacted as structures; another object keeps its
    # identity (a handler may read its attributes) until its text shows a secret.
    redactor.add(CANARY)
    plain, leaky = ValueError("no secret here"), ValueError(CANARY)
    make = logging.getLogger("plain").makeRecord

    assert make("plain", logging.INFO, "f", 1, plain, None, None).msg is plain
    assert make("plain", logging.INFO, "f", 1, leaky, None, None).msg == MASK
    assert make("plain", logging.INFO, "f", 1, {7}, None, None).getMessage() == "{7}"


def test_short_and_overlapping_secrets_never_reach_a_powertools_line() -> None:
    from aws_lambda_powertools import Logger

    buffer = io.StringIO()
    logger = Logger(service="pt-boundary", logger_handler=logging.StreamHandler(buffer))
    try:
        logs.protect_powertools()
        redactor.add("xy")  # one character shorter than MIN_SECRET_LENGTH: ordinary text
        redactor.add("k9z")  # exactly MIN_SECRET_LENGTH
        redactor.add("abcdef")
        redactor.add("defghi")
        logger.info("xy k9z <abcdefghi>", extra={"note": "k9z-defghiabc", "k9z": 1})
        line = json.loads(buffer.getvalue())
        assert (line["message"], line["note"], line["****"]) == ("xy **** <****>", "****-****abc", 1)
        assert not any(part in buffer.getvalue() for part in ("k9z", "bcd", "def", "ghi"))
    finally:
        shared = logging.getLogger("pt-boundary")
        shared.handlers.clear()
        for attribute in ("powertools_handler", "init", "logger_handler"):
            shared.__dict__.pop(attribute, None)


def texts_in(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON line (the raw line escapes CANARY's quote and backslash)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)


def refuse(reason: str) -> None:
    raise ValueError(reason)


class NaiveExceptionFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        shown = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else None
        return f"{record.getMessage()} | exception: {shown}"


def test_a_powertools_exception_line_keeps_its_traceback_with_the_secret_masked() -> None:
    # Powertools builds its exception fields from the record's exc_info alone; the record
    # factory moves a traceback into a redacted exc_text, so without protect_powertools
    # handing it back a Logger.exception() line carried no exception at all.
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    buffer = io.StringIO()
    logger = Logger(service="pt-exception", logger_handler=logging.StreamHandler(buffer))
    plain, naive = io.StringIO(), io.StringIO()
    # After the Powertools handler: one formatter that uses exc_text as logging's does, and
    # one that formats exc_info itself (as some third-party formatters do).
    logging.getLogger("pt-exception").addHandler(logging.StreamHandler(plain))
    naive_handler = logging.StreamHandler(naive)
    naive_handler.setFormatter(NaiveExceptionFormatter())
    logging.getLogger("pt-exception").addHandler(naive_handler)
    # And, last, a second Powertools formatter on the same logger (a copy of the stream, say).
    second = io.StringIO()
    second_handler = logging.StreamHandler(second)
    second_handler.setFormatter(LambdaPowertoolsFormatter())
    logging.getLogger("pt-exception").addHandler(second_handler)
    try:
        logs.protect_powertools()
        redactor.add(CANARY)
        try:
            refuse(f"bad {CANARY}")
        except ValueError:
            logger.exception("migration failed")
        line = json.loads(buffer.getvalue())
        assert (line["message"], line["exception_name"]) == ("migration failed", "ValueError")
        assert line["exception"].startswith("Traceback (most recent call last):\n")
        assert line["exception"].endswith("ValueError: bad ****")
        assert 'refuse(f"bad {CANARY}")' in line["exception"]  # the source lines too
        assert (line["stack_trace"]["type"], line["stack_trace"]["value"]) == ("ValueError", "bad ****")
        assert not [text for text in texts_in(line) if CANARY in text]
        # The handlers after it still get the factory's record: a redacted text, no exception.
        assert plain.getvalue().endswith("ValueError: bad ****\n")
        assert naive.getvalue() == "migration failed | exception: None\n"
        copy = json.loads(second.getvalue())
        assert (copy["exception_name"], copy["exception"]) == ("ValueError", line["exception"])
        assert CANARY not in buffer.getvalue() + plain.getvalue()
    finally:
        shared = logging.getLogger("pt-exception")
        shared.handlers.clear()
        for attribute in ("powertools_handler", "init", "logger_handler"):
            shared.__dict__.pop(attribute, None)
