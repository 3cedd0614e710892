"""examples/own-provider: a user's provider template with the Lambda settings a waiting provider needs."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cfnkit.testing import FakeContext, ResponseServer, create_event

from tests.template.conftest import ROOT, load_template

EXAMPLE = ROOT / "examples" / "own-provider"


@pytest.fixture(scope="module")
def own() -> dict[str, Any]:
    return load_template(EXAMPLE / "template.yaml")


def test_the_function_allows_its_loop_tells_the_core_and_retries(own: dict[str, Any]) -> None:
    props = own["Resources"]["UrlReadyFunction"]["Properties"]
    assert props["RecursiveLoop"] == props["Environment"]["Variables"]["CFNKIT_RECURSIVE_LOOP"] == "Allow"
    assert props["EventInvokeConfig"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}


def test_it_may_invoke_only_itself_without_a_cycle(own: dict[str, Any]) -> None:
    policy = own["Resources"]["UrlReadyContinueWaitPolicy"]["Properties"]
    assert policy["RoleName"] == {"Ref": "UrlReadyRole"}
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["UrlReadyFunction", "Arn"]},
        }
    ]
    assert "UrlReadyFunction" not in json.dumps(own["Resources"]["UrlReadyRole"])


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ready_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/health"
    finally:
        httpd.shutdown()
        thread.join(5)


def test_its_handler_answers_once_the_url_is_ready(ready_url: str, server: ResponseServer) -> None:
    spec = importlib.util.spec_from_file_location("own_provider_app", EXAMPLE / "src" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    app.handler(create_event({"Url": ready_url}, response_url=server.url), FakeContext(60))
    [put] = server.wait_for(1)
    assert (put.json()["Status"], put.json()["Data"]) == ("SUCCESS", {"Checks": "1"})
