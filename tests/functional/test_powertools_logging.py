"""A provider that logs with Powertools Logger, at DEBUG and the whole event, leaks nothing; one query spans both.

examples/powertools runs as Lambda would run it: Powertools' inject_lambda_context(log_event=True)
around cfnkit.entry.serve, in a fresh process state for the Powertools loggers. Everything
written to stdout and stderr (file-descriptor level) is searched for the secret property,
the derived NoEcho value and the ResponseURL's signature.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cfnkit import logs
from cfnkit.testing import FakeContext, ResponseServer, create_event, delete_event

pytestmark = pytest.mark.functional

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "powertools"
MASTER = "master-7f3e9b1c-0d5f4e61"  # the canary: its unique part is 7f3e9b1c
DERIVED = hmac.new(MASTER.encode(), b"billing", hashlib.sha256).hexdigest()
SIGNATURE = "X-Amz-Signature=feedfacefeedface"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
SERVICE = "orders-platform"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """examples/powertools/app.py, imported fresh (its Powertools loggers with it)."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    for name in ("derived_secret", "powertools_app"):
        sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location("powertools_app", EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("derived_secret", None)
    # Forget this test's Powertools set-up, as a new Lambda process would not have it.
    shared = logging.getLogger(SERVICE)
    shared.handlers.clear()
    for attribute in ("powertools_handler", "init", "logger_handler"):
        shared.__dict__.pop(attribute, None)


def to_current_stdout() -> None:
    """Powertools' handler keeps the sys.stdout of its creation; pytest swaps it between phases."""
    for handler in logging.getLogger(SERVICE).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stdout)


def run(app: ModuleType, event: dict[str, Any], capfd: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    to_current_stdout()
    capfd.readouterr()
    with ResponseServer() as server:
        event = {**event, "ResponseURL": f"{server.url}&{SIGNATURE}"}
        app.handler(event, FakeContext(60))
        body = server.wait_for(1)[0].json()
    out = capfd.readouterr()
    return body, out.out + out.err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_nothing_secret_reaches_any_output(app: ModuleType, capfd: pytest.CaptureFixture[str]) -> None:
    body, text = run(app, create_event({"MasterSecret": MASTER, "Purpose": "billing"}), capfd)

    assert (body["Status"], body["NoEcho"], body["Data"]) == ("SUCCESS", True, {"Secret": DERIVED})
    assert "derived a secret" in text  # the provider's Powertools lines were written ...
    assert "7f3e9b1c" not in text  # ... without the master secret,
    assert DERIVED not in text  # the derived (NoEcho) value,
    assert "feedfacefeedface" not in text  # or the ResponseURL's signature


def test_the_logged_event_keeps_its_shape_with_property_values_masked(
    app: ModuleType,
    capfd: pytest.CaptureFixture[str],
) -> None:
    _, text = run(app, create_event({"MasterSecret": MASTER, "Purpose": "billing"}), capfd)

    events = [line["message"] for line in json_lines(text) if isinstance(line.get("message"), dict)]
    # Once by inject_lambda_context(log_event=True) before cfnkit ran, once by the provider's debug().
    assert len(events) == 2
    for event in events:
        assert event["RequestType"] == "Create"
        assert event["ResourceProperties"] == {
            "ServiceToken": create_event({})["ServiceToken"],
            "MasterSecret": "****",
            "Purpose": "****",
        }
        assert event["ResponseURL"].endswith("?****")


def test_appended_and_extra_keys_are_masked(app: ModuleType, capfd: pytest.CaptureFixture[str]) -> None:
    _, text = run(app, create_event({"MasterSecret": MASTER, "Purpose": "billing"}), capfd)

    derived = next(line for line in json_lines(text) if line.get("message") == "derived a secret")
    assert (derived["purpose"], derived["master"], derived["secret"]) == ("billing", "****", "****")
    assert derived["properties"] == {"MasterSecret": "****", "Purpose": "billing"}


def test_a_noecho_value_is_masked_in_later_lines_too(app: ModuleType, capfd: pytest.CaptureFixture[str]) -> None:
    run(app, create_event({"MasterSecret": MASTER, "Purpose": "billing"}), capfd)
    later = logging.getLogger(SERVICE)
    to_current_stdout()
    capfd.readouterr()
    later.warning("the secret again: %s", DERIVED)
    text = capfd.readouterr().out

    assert "the secret again: ****" in text
    assert DERIVED not in text


def test_one_query_spans_cfnkit_and_powertools_lines(app: ModuleType, capfd: pytest.CaptureFixture[str]) -> None:
    _, text = run(app, delete_event({"MasterSecret": MASTER, "Purpose": "billing"}, "id-1"), capfd)
    lines = json_lines(text)
    cfnkit = [line for line in lines if str(line.get("logger", "")).startswith("cfnkit")]
    powertools = [line for line in lines if "location" in line]

    assert cfnkit
    assert powertools
    shared = ("level", "message", "timestamp", "service", "cold_start", "function_request_id", "xray_trace_id")
    for line in cfnkit + powertools:
        assert set(shared) <= set(line), line
        assert line["service"] == SERVICE
        assert line["function_request_id"] == "00000000-0000-4000-8000-000000000001"
        assert line["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
        assert line["timestamp"].endswith("+0000")
        assert len(line["timestamp"]) == len("2026-11-30 18:02:00,123+0000")


def test_protect_powertools_wraps_each_formatter_once(app: ModuleType) -> None:
    assert logs.protect_powertools() == 1  # the example's one Powertools handler (no request ran yet)
    assert logs.protect_powertools() == 0


def test_a_logged_event_in_a_cfnkit_field_is_masked_the_same_way(capfd: pytest.CaptureFixture[str]) -> None:
    logs.install()
    capfd.readouterr()

    logs.get_logger("t").info("event", extra={"fields": {"event": create_event({"Password": "pw-7f3e9b1c"})}})

    line = json.loads(capfd.readouterr().out)
    assert line["event"]["ResourceProperties"]["Password"] == "****"
