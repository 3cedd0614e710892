"""The crhelper migration page's provider, both ways, run side by side against moto.

Both versions answer the same Create with the same Data once the object exists. What
differs is what the page says differs: crhelper needs an EventBridge rule, a Lambda
permission and the function to exist to poll, speaks only HTTPS to the ResponseURL, and
logs the whole event (the ResponseURL's signature included); cfnkit waits in the
invocation (continuing in a new one near Lambda's limit), creates nothing, and logs
neither the signature nor the body.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from cfnkit import CustomResource
from cfnkit.testing import FakeContext, RecordingSender, ResponseServer, ScriptedClock, create_event

from bench.harness import TlsResponseServer, make_certificate

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "crhelper_migration"
PROPS = {"Bucket": "artifacts", "Key": "builds/app-1.2.3.zip"}
BODY = b"the build artifact"
#: S3's ETag of a single-part upload is the MD5 of the body.
DATA = {"ETag": hashlib.md5(BODY).hexdigest(), "ContentLength": str(len(BODY))}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="artifacts")
        yield s3


def load(name: str) -> ModuleType:
    """A fresh copy of an example module (crhelper's creates its clients at import)."""
    spec = importlib.util.spec_from_file_location(f"migration_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cfnkit_waits_in_the_invocation_and_answers_once_the_object_exists(
    aws: Any,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    provider = load("with_cfnkit").WaitForObject(aws)
    clock, sender = ScriptedClock(), RecordingSender()
    clock.at(12, lambda: aws.put_object(Bucket="artifacts", Key=PROPS["Key"], Body=BODY))
    event = create_event({**PROPS, "PollSeconds": "5"}, resource_type="Custom::WaitForObject")

    CustomResource(provider, sender=sender, clock=clock, log_level="DEBUG")(event, FakeContext(clock=clock))

    body = sender.only
    assert (body["Status"], body["PhysicalResourceId"], body["Data"]) == (
        "SUCCESS",
        "s3://artifacts/builds/app-1.2.3.zip",
        DATA,
    )
    assert clock.sleeps == [5, 5, 5]
    assert boto3.client("events").list_rules()["Rules"] == []  # nothing created to wait
    out = capfd.readouterr()
    assert '"message": "sending response"' in out.out  # cfnkit logged, at DEBUG ...
    assert "X-Amz-Signature" not in out.out + out.err + caplog.text  # ... never the URL's signature


def test_cfnkit_fails_with_its_cleanup_detail_when_the_object_never_comes(aws: Any) -> None:
    provider = load("with_cfnkit").WaitForObject(aws)
    clock, sender = ScriptedClock(), RecordingSender()
    event = create_event({**PROPS, "PollSeconds": "30"}, resource_type="Custom::WaitForObject", service_timeout=120)

    CustomResource(provider, sender=sender, clock=clock)(event, FakeContext(clock=clock))

    assert sender.only["Status"] == "FAILED"
    assert sender.only["Reason"] == "timed out after 110 s; s3://artifacts/builds/app-1.2.3.zip did not appear"


def test_crhelper_needs_a_rule_a_permission_and_https_and_answers_the_same(
    aws: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cert, key = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # crhelper verifies the ResponseURL's certificate
    context = FakeContext(60)
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName="crhelper",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
                ],
            }
        ),
    )
    # crhelper's AddPermission fails unless the function exists.
    boto3.client("lambda").create_function(
        FunctionName=context.function_name,
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    module = load("with_crhelper")
    events = boto3.client("events")
    with TlsResponseServer(cert, key) as server:
        module.handler(create_event(PROPS, resource_type="Custom::WaitForObject", response_url=server.url), context)
        rules = events.list_rules()["Rules"]
        assert [r["ScheduleExpression"] for r in rules] == ["rate(1 minute)"]
        assert server.puts == []  # no answer until the rule fires (0-60 s later on AWS)
        aws.put_object(Bucket="artifacts", Key=PROPS["Key"], Body=BODY)
        target = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"][0]

        module.handler(json.loads(target["Input"]), FakeContext(60))  # what EventBridge would do
        body = server.wait_for(1)[0].json()

    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "s3://artifacts/builds/app-1.2.3.zip")
    assert body["Data"] == {**DATA, "Location": "s3://artifacts/builds/app-1.2.3.zip"}
    assert events.list_rules()["Rules"] == []  # removed after the last poll
    # crhelper's DEBUG default logs the whole event, ResponseURL included. (Its signature is
    # masked here only because cfnkit's redaction, once installed, covers every logger of the process.)
    assert "'ResponseURL': 'https://127.0.0.1:" in caplog.text


def test_the_cfnkit_version_answers_through_its_app_handler(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    aws.put_object(Bucket="artifacts", Key=PROPS["Key"], Body=BODY)
    app = load("app")
    try:
        with ResponseServer() as server:
            app.handler(
                create_event(PROPS, resource_type="Custom::WaitForObject", response_url=server.url), FakeContext(60)
            )
            body = server.wait_for(1)[0].json()
    finally:
        sys.modules.pop("with_cfnkit", None)

    assert (body["Status"], body["Data"]) == ("SUCCESS", DATA)


def test_the_cfnkit_version_passes_mypy_strict(tmp_path: Path) -> None:
    env = dict(os.environ, MYPYPATH=str(REPO / "layers" / "core"))
    ran = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), "with_cfnkit.py", "app.py"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
