"""cfnkit-secrets-exec with a stubbed Secrets Manager client and a recording exec."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cfnkit.secrets_exec import USAGE, main

CANARY = "CANARY-7f3e9b1c-do-not-log"
TRICKY = 'it\'s "quoted" $HOME `id` $(id)\nline two ünïcødé 密码 \\ end'
CORE = Path(__file__).resolve().parents[3] / "layers" / "core"


class RecordingExec:
    def __init__(self, error: OSError | None = None) -> None:
        self.calls: list[tuple[str, list[str], dict[str, str]]] = []
        self.error = error

    def __call__(self, file: str, args: list[str], env: Mapping[str, str]) -> None:
        self.calls.append((file, list(args), dict(env)))
        if self.error is not None:
            raise self.error

    @property
    def env(self) -> dict[str, str]:
        assert len(self.calls) == 1, f"expected one exec, got {len(self.calls)}"
        return self.calls[0][2]


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "secretsmanager", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def secret(stub: Stubber, secret_id: str, *, string: str | None = None, binary: bytes | None = None) -> None:
    doc: dict[str, Any] = {
        "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret_id}-AbCdEf",
        "Name": secret_id,
        "VersionId": "11111111-1111-4111-8111-111111111111",
    }
    if string is not None:
        doc["SecretString"] = string
    if binary is not None:
        doc["SecretBinary"] = binary
    stub.add_response("get_secret_value", doc, {"SecretId": secret_id})


def call(
    argv: list[str], environ: dict[str, str], client: Any = None, execvpe: RecordingExec | None = None
) -> tuple[int, str, RecordingExec]:
    err = io.StringIO()
    recorder = execvpe or RecordingExec()

    def factory() -> Any:
        assert client is not None, "no client expected"
        return client

    code = main(argv, environ=environ, execvpe=recorder, client_factory=factory, stderr=err)
    return code, err.getvalue(), recorder


def test_no_command_is_a_usage_error() -> None:
    code, err, recorder = call([], {"SECRETS": "app/credentials"})
    assert (code, err, recorder.calls) == (2, USAGE + "cfnkit-secrets-exec: no command given\n", [])


def test_help_prints_usage() -> None:
    code, err, recorder = call(["--help"], {})
    assert (code, err, recorder.calls) == (0, USAGE, [])


@pytest.mark.parametrize(
    "environ", [{"PATH": "/bin"}, {"PATH": "/bin", "SECRETS": ""}, {"PATH": "/bin", "SECRETS": " \n\t "}]
)
def test_no_secrets_execs_at_once_without_aws(environ: dict[str, str]) -> None:
    code, err, recorder = call(["app", "--flag"], environ)
    assert (code, err) == (0, "")
    assert recorder.calls == [("app", ["app", "--flag"], environ)]


def test_double_dash_separates_the_command() -> None:
    _, _, recorder = call(["--", "--odd-command"], {})
    assert recorder.calls[0][:2] == ("--odd-command", ["--odd-command"])


def test_every_key_becomes_a_variable_byte_for_byte(client: Any, stub: Stubber) -> None:
    secret(
        stub,
        "app/credentials",
        string=json.dumps(
            {"MYSQL_PASSWORD": TRICKY, "PORT": 3306, "DEBUG": False, "OPTS": {"a": [1, "x"]}, "EMPTY": "", "NONE": None}
        ),
    )
    environ = {"PATH": "/bin", "SECRETS": "app/credentials"}
    code, err, recorder = call(["python3", "manage.py", "migrate"], environ, client)
    assert code == 0
    assert recorder.calls[0][:2] == ("python3", ["python3", "manage.py", "migrate"])
    assert recorder.env == {
        **environ,
        "MYSQL_PASSWORD": TRICKY,
        "PORT": "3306",
        "DEBUG": "false",
        "OPTS": '{"a":[1,"x"]}',
        "EMPTY": "",
        "NONE": "null",
    }
    assert environ == {"PATH": "/bin", "SECRETS": "app/credentials"}
    assert err == "cfnkit-secrets-exec: secret app/credentials: set MYSQL_PASSWORD, PORT, DEBUG, OPTS, EMPTY, NONE\n"


def test_later_secret_overrides_earlier_and_says_so_by_name(client: Any, stub: Stubber) -> None:
    secret(stub, "db/credentials", string=json.dumps({"DB_PASSWORD": "first-" + CANARY, "DB_USER": "app"}))
    secret(stub, "app/credentials", string=json.dumps({"DB_PASSWORD": "second-" + CANARY, "PATH": "/opt/bin"}))
    code, err, recorder = call(["app"], {"PATH": "/bin", "SECRETS": "db/credentials app/credentials"}, client)
    assert code == 0
    assert recorder.env["DB_PASSWORD"] == "second-" + CANARY
    assert recorder.env["PATH"] == "/opt/bin"
    assert err.splitlines() == [
        "cfnkit-secrets-exec: secret db/credentials: set DB_PASSWORD, DB_USER",
        "cfnkit-secrets-exec: DB_PASSWORD from secret app/credentials overrides DB_PASSWORD from secret db/credentials",
        "cfnkit-secrets-exec: PATH from secret app/credentials overrides the PATH already in the environment",
        "cfnkit-secrets-exec: secret app/credentials: set DB_PASSWORD, PATH",
    ]


def test_a_secret_named_twice_is_read_once(client: Any, stub: Stubber) -> None:
    secret(stub, "app/credentials", string=json.dumps({"A": "1"}))
    code, _, recorder = call(["app"], {"SECRETS": "app/credentials app/credentials"}, client)
    assert (code, recorder.env["A"]) == (0, "1")


FAILURES = [
    pytest.param(
        {"string": json.dumps({"GOOD": CANARY, "bad-name": CANARY, "1ST": CANARY, "": CANARY})},
        'secret app/credentials has keys that are not valid environment variable names: "bad-name", '
        '"1ST", "" (a name is letters, digits and \'_\', not starting with a digit)',
        id="bad-key",
    ),
    pytest.param(
        {"string": CANARY},
        "secret app/credentials must be a JSON object of NAME: value pairs, but its SecretString is not JSON",
        id="plain-string",
    ),
    pytest.param(
        {"string": json.dumps([CANARY])},
        "secret app/credentials must be a JSON object of NAME: value pairs, but its SecretString is a list",
        id="json-list",
    ),
    pytest.param(
        {"string": json.dumps(CANARY)},
        "secret app/credentials must be a JSON object of NAME: value pairs, but its SecretString is a string",
        id="json-string",
    ),
    pytest.param(
        {"binary": CANARY.encode()},
        "secret app/credentials is binary (SecretBinary); it must be a JSON object of NAME: value pairs",
        id="binary",
    ),
    pytest.param(
        {"string": json.dumps({"A": "x\x00" + CANARY})},
        "secret app/credentials has values with a NUL character, which an environment variable cannot hold: A",
        id="nul",
    ),
]


@pytest.mark.parametrize(("value", "message"), FAILURES)
def test_a_secret_that_cannot_be_loaded_stops_before_exec(
    client: Any, stub: Stubber, value: dict[str, Any], message: str
) -> None:
    secret(stub, "app/credentials", **value)
    code, err, recorder = call(["app"], {"SECRETS": "app/credentials"}, client)
    assert (code, err, recorder.calls) == (1, f"cfnkit-secrets-exec: {message}; not starting app\n", [])
    assert CANARY not in err


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
            "cannot read secret app/credentials: ResourceNotFoundException: Secrets Manager can't find the specified "
            "secret. (check the name in SECRETS and the task's region)",
        ),
        (
            "AccessDeniedException",
            "not authorized to perform: secretsmanager:GetSecretValue",
            "cannot read secret app/credentials: AccessDeniedException: not authorized to perform: "
            "secretsmanager:GetSecretValue (the task role needs secretsmanager:GetSecretValue on this secret "
            "(and kms:Decrypt on its KMS key))",
        ),
        (
            "DecryptionFailure",
            "can't decrypt",
            "cannot read secret app/credentials: DecryptionFailure: can't decrypt (the task role needs kms:Decrypt on "
            "the secret's KMS key)",
        ),
        (
            "InvalidRequestException",
            "marked for deletion",
            "cannot read secret app/credentials: InvalidRequestException: marked for deletion (the secret may be "
            "scheduled for deletion; restore it)",
        ),
        ("ThrottlingException", "slow down", "cannot read secret app/credentials: ThrottlingException: slow down"),
    ],
)
def test_a_fetch_error_stops_before_exec_naming_the_secret(
    client: Any, stub: Stubber, code: str, message: str, expected: str
) -> None:
    secret(stub, "db/credentials", string=json.dumps({"DB": CANARY}))
    stub.add_client_error(
        "get_secret_value",
        service_error_code=code,
        service_message=message,
        http_status_code=400,
        expected_params={"SecretId": "app/credentials"},
    )
    exit_code, err, recorder = call(["app"], {"SECRETS": "db/credentials app/credentials"}, client)
    assert (exit_code, recorder.calls) == (1, [])
    assert err.splitlines()[-1] == f"cfnkit-secrets-exec: {expected}; not starting app"
    assert CANARY not in err


def test_the_default_client_without_a_region_stops_before_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/cfnkit-test-config")
    recorder = RecordingExec()
    err = io.StringIO()
    code = main(["app"], environ={"SECRETS": "a"}, execvpe=recorder, stderr=err)
    assert (code, recorder.calls) == (1, [])
    assert err.getvalue() == (
        "cfnkit-secrets-exec: cannot create a Secrets Manager client: NoRegionError: "
        "You must specify a region.; not starting app\n"
    )


def test_a_missing_command_exits_127() -> None:
    code, err, _ = call(["no-such-app"], {}, execvpe=RecordingExec(FileNotFoundError(2, "No such file")))
    assert (code, err) == (127, "cfnkit-secrets-exec: cannot run no-such-app: command not found\n")


def test_a_command_that_cannot_run_exits_126() -> None:
    code, err, _ = call(["./app.txt"], {}, execvpe=RecordingExec(PermissionError(13, "Permission denied")))
    assert (code, err) == (126, "cfnkit-secrets-exec: cannot run ./app.txt: Permission denied\n")


def test_module_imports_and_runs_without_boto3() -> None:
    script = (
        "import sys\n"
        "sys.modules['boto3'] = None\n"
        "sys.modules['botocore'] = None\n"
        "from cfnkit import secrets_exec\n"
        "calls = []\n"
        "code = secrets_exec.main(['app'], environ={}, execvpe=lambda f, a, e: calls.append(f))\n"
        "assert (code, calls) == (0, ['app']), (code, calls)\n"
        "sys.exit(secrets_exec.main(['app'], environ={'SECRETS': 'a'}, execvpe=lambda f, a, e: None))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(CORE)},
    )
    assert (done.returncode, done.stderr) == (
        1,
        "cfnkit-secrets-exec: boto3 is not installed (pip install 'cfnkit[aws]'); not starting app\n",
    )
