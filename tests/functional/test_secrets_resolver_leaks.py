"""The leak test: a canary secret value never appears in any output or Reason, on any path.

Every logger that could see the value is at DEBUG (root, botocore and its body loggers,
boto3, urllib3, aws_lambda_powertools, cfnkit, moto); cfnkit's own level is DEBUG too.
Output is collected three ways: the process's stdout/stderr file descriptors (capfd),
pytest's caplog handler on the root logger at DEBUG, and a handler of our own at DEBUG
on the root and cfnkit loggers (cfnkit does not propagate). The redactor is emptied
after setup, so a pass means the resolver registered the value before anything logged it.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cfnkit import CustomResource
from cfnkit.logs import BODY_LOGGERS, redactor
from cfnkit.testing import FakeContext, ResponseServer, create_event, delete_event, update_event
from moto import mock_aws
from secret_resolver import SecretsResolver

from tests.support import load_app

pytestmark = pytest.mark.functional

APP = Path(__file__).resolve().parents[2] / "functions" / "secrets_resolver" / "app.py"
TOKEN = "7f3e9b1c"
CANARY = f"CANARY-{TOKEN}-do-not-log"
#: Its JSON-escaped forms differ from the raw text (quotes, backslash, newline, non-ASCII).
CANARY_ESCAPED = f'CANARY-{TOKEN}-"quoted"\\back\nline-ünï-do-not-log'
BINARY_B64 = base64.b64encode(CANARY.encode()).decode()
#: Any of these in any output is a leak; TOKEN covers every escaped or partial form of both canaries.
FORBIDDEN = (TOKEN, BINARY_B64)
LOGGERS = ("", "botocore", "boto3", "urllib3", "aws_lambda_powertools", "cfnkit", "moto", *BODY_LOGGERS)
SECRET_ID = "todobackend/credentials"
VERSION_1 = "11111111-1111-4111-8111-111111111111"
VERSION_2 = "22222222-2222-4222-8222-222222222222"
PHYSICAL_ID = "demo-stack-Secrets-aa15fc96b238"
JSON_SECRET = json.dumps({"MYSQL_PASSWORD": CANARY, "SECRET_KEY": CANARY_ESCAPED, "NESTED": {"x": [CANARY]}})


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Leaks:
    """Everything written while a path ran, and the responses it sent."""

    capfd: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    collect: Collect = field(default_factory=Collect)

    def start(self) -> None:
        redactor.clear()
        self.capfd.readouterr()
        self.caplog.clear()
        self.collect.lines.clear()

    def check(self, responses: list[dict[str, Any]]) -> list[str]:
        captured = self.capfd.readouterr()
        outputs = {
            "stdout": captured.out,
            "stderr": captured.err,
            "caplog": self.caplog.text + "\n".join(r.getMessage() for r in self.caplog.records),
            "handler": "\n".join(self.collect.lines),
            "reasons": "\n".join(body["Reason"] for body in responses),
        }
        for where, text in outputs.items():
            for forbidden in FORBIDDEN:
                assert forbidden not in text, f"{forbidden!r} leaked into {where}"
        # The test saw real DEBUG output, so its silence about the canary means something.
        assert "cfnkit.handler" in captured.out
        return list(self.collect.lines)


@pytest.fixture
def leaks(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Leaks]:
    watcher = Leaks(capfd, caplog)
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    monkeypatch.setenv("CFNKIT_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    for name in ("", "cfnkit"):
        logging.getLogger(name).addHandler(watcher.collect)
    yield watcher
    for name in ("", "cfnkit"):
        logging.getLogger(name).removeHandler(watcher.collect)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    redactor.clear()


@pytest.fixture(scope="module")
def app() -> ModuleType:
    return load_app("secrets_resolver", "secrets_resolver_app_leaks")


def create(url: str, **props: Any) -> dict[str, Any]:
    return create_event(
        {"SecretId": SECRET_ID, **props},
        response_url=url,
        logical_id="Secrets",
        resource_type="Custom::SecretsResolver",
    )


def update(url: str, new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return update_event(
        {"SecretId": SECRET_ID, **new},
        {"SecretId": SECRET_ID, **old},
        PHYSICAL_ID,
        response_url=url,
        logical_id="Secrets",
        resource_type="Custom::SecretsResolver",
    )


def json_secret(client: Any) -> None:
    client.create_secret(Name=SECRET_ID, ClientRequestToken=VERSION_1, SecretString=JSON_SECRET)


def two_versions(client: Any) -> None:
    json_secret(client)
    client.put_secret_value(
        SecretId=SECRET_ID, ClientRequestToken=VERSION_2, SecretString=json.dumps({"MYSQL_PASSWORD": "v2-" + CANARY})
    )


def deleted(client: Any) -> None:
    json_secret(client)
    client.delete_secret(SecretId=SECRET_ID, RecoveryWindowInDays=7)


@dataclass(frozen=True)
class MotoPath:
    setup: Callable[[Any], None]
    events: Callable[[str], list[dict[str, Any]]]
    statuses: tuple[str, ...]
    #: A success path must carry the canary in its Data (else the test proves nothing).
    data_has_canary: bool = False


MOTO_PATHS = {
    "json": MotoPath(json_secret, lambda url: [create(url)], ("SUCCESS",), data_has_canary=True),
    "json-keys": MotoPath(json_secret, lambda url: [create(url, Keys=["MYSQL_PASSWORD"])], ("SUCCESS",), True),
    "string": MotoPath(
        lambda c: c.create_secret(Name=SECRET_ID, SecretString=CANARY_ESCAPED),
        lambda url: [create(url)],
        ("SUCCESS",),
        True,
    ),
    "binary": MotoPath(
        lambda c: c.create_secret(Name=SECRET_ID, SecretBinary=CANARY.encode()),
        lambda url: [create(url)],
        ("SUCCESS",),
        True,
    ),
    "keys-missing": MotoPath(json_secret, lambda url: [create(url, Keys=["MYSQL_PASSWORD", "NOPE"])], ("FAILED",)),
    "keys-on-plain-string": MotoPath(
        lambda c: c.create_secret(Name=SECRET_ID, SecretString=CANARY),
        lambda url: [create(url, Keys=["A"])],
        ("FAILED",),
    ),
    "unaddressable-key": MotoPath(
        lambda c: c.create_secret(Name=SECRET_ID, SecretString=json.dumps({"a b": CANARY})),
        lambda url: [create(url)],
        ("FAILED",),
    ),
    "too-large": MotoPath(
        lambda c: c.create_secret(Name=SECRET_ID, SecretString=json.dumps({"BIG": CANARY * 200, "SMALL": CANARY})),
        lambda url: [create(url)],
        ("FAILED",),
    ),
    "not-found": MotoPath(lambda c: None, lambda url: [create(url)], ("FAILED",)),
    "deleted": MotoPath(deleted, lambda url: [create(url)], ("FAILED",)),
    "both-versions": MotoPath(
        json_secret, lambda url: [create(url, VersionId=VERSION_1, VersionStage="AWSCURRENT")], ("SUCCESS",)
    ),
    "unknown-version-id": MotoPath(json_secret, lambda url: [create(url, VersionId=VERSION_2)], ("FAILED",)),
    "unknown-version-stage": MotoPath(json_secret, lambda url: [create(url, VersionStage="AWSPENDING")], ("FAILED",)),
    "update": MotoPath(
        two_versions,
        lambda url: [
            create(url, VersionId=VERSION_1),
            update(url, {"VersionId": VERSION_2}, {"VersionId": VERSION_1}),
            update(url, {}, {"VersionId": VERSION_2}),
        ],
        ("SUCCESS", "SUCCESS", "SUCCESS"),
        True,
    ),
    "delete": MotoPath(
        json_secret,
        lambda url: [delete_event({"SecretId": SECRET_ID}, PHYSICAL_ID, response_url=url, logical_id="Secrets")],
        ("SUCCESS",),
    ),
}


@pytest.mark.parametrize("name", list(MOTO_PATHS))
def test_canary_never_leaks_through_the_handler(
    name: str, app: ModuleType, aws_env: None, server: ResponseServer, leaks: Leaks
) -> None:
    path = MOTO_PATHS[name]
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        # Setup runs with the loggers quiet: it is the test writing the secret, not the resolver.
        quiet = {n: logging.getLogger(n).level for n in LOGGERS}
        for n in LOGGERS:
            logging.getLogger(n).setLevel(logging.WARNING)
        path.setup(client)
        for n, level in quiet.items():
            logging.getLogger(n).setLevel(level)
        app._CACHE.clear()
        leaks.start()
        responses = []
        for event in path.events(server.url):
            app.handler(event, FakeContext(60))
            responses.append(server.wait_for(len(responses) + 1)[-1].json())
    handler_lines = leaks.check(responses)
    assert tuple(body["Status"] for body in responses) == path.statuses
    if path.data_has_canary:
        data = json.dumps([body.get("Data") for body in responses])
        assert TOKEN in data or BINARY_B64 in data
    if name != "delete":
        # botocore really logged at DEBUG (its body loggers are replaced by a notice).
        assert any(line.startswith("botocore") and " DEBUG " in line for line in handler_lines)


STUBBED = {
    "access-denied": [
        ("get_secret_value", "AccessDeniedException", "not authorized"),
        ("describe_secret", "AccessDeniedException", "not authorized"),
    ],
    "kms-access-denied": [
        ("get_secret_value", "AccessDeniedException", "Access to KMS is not allowed"),
        ("describe_secret", "AccessDeniedException", "not authorized"),
    ],
    "kms-decryption-failure": [
        ("get_secret_value", "DecryptionFailure", "can't decrypt"),
        ("describe_secret", "AccessDeniedException", "not authorized"),
    ],
}


@pytest.mark.parametrize("name", list(STUBBED))
def test_canary_never_leaks_on_stubbed_errors(name: str, server: ResponseServer, leaks: Leaks) -> None:
    client = boto3.client(
        "secretsmanager", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stub:
        for operation, code, message in STUBBED[name]:
            stub.add_client_error(operation, service_error_code=code, service_message=message, http_status_code=400)
        leaks.start()
        # A successful read earlier in the same warm process put the canary in the redactor's path.
        redactor.add(CANARY)
        CustomResource(SecretsResolver(client))(create(server.url), FakeContext(60))
        body = server.wait_for(1)[0].json()
    leaks.check([body])
    assert body["Status"] == "FAILED"


def test_stubbed_success_registers_before_logging(server: ResponseServer, leaks: Leaks) -> None:
    client = boto3.client(
        "secretsmanager", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stub:
        arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_ID}-AbCdEf"
        stub.add_response(
            "get_secret_value", {"ARN": arn, "Name": SECRET_ID, "VersionId": VERSION_1, "SecretString": JSON_SECRET}
        )
        leaks.start()
        CustomResource(SecretsResolver(client))(create(server.url), FakeContext(60))
        body = server.wait_for(1)[0].json()
    leaks.check([body])
    assert body["Data"]["MYSQL_PASSWORD"] == CANARY
