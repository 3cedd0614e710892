"""cfnkit-secrets-exec as a real process against moto's server: the command is exec'd with the values intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

pytestmark = pytest.mark.functional

CORE = Path(__file__).resolve().parents[2] / "layers" / "core"
SCRIPT = Path(sys.executable).parent / "cfnkit-secrets-exec"
#: Everything the document's `export K='V'` + eval entrypoint gets wrong.
TRICKY = "it's \"quoted\" $HOME ${PATH} `id` $(id) 'single'\nsecond line\ttab ünïcødé 密码 🔑 \\ end"
#: The command the entrypoint execs: writes its pid and the raw bytes of the named variables.
CHILD = (
    "import json, os, sys\n"
    "out = {'pid': os.getpid(), 'env': {k: os.environb[k.encode()].hex() for k in sys.argv[2:] "
    "if k.encode() in os.environb}}\n"
    "open(sys.argv[1], 'w').write(json.dumps(out))\n"
)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture(scope="module")
def secrets(moto_server: str) -> Any:
    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_secret(
        Name="todobackend/credentials",
        SecretString=json.dumps({"MYSQL_PASSWORD": TRICKY, "SECRET_KEY": "E2]eTfO~8Z5)&0SlR"}),
    )
    client.create_secret(Name="todobackend/override", SecretString=json.dumps({"SECRET_KEY": "later-wins"}))
    client.create_secret(Name="todobackend/bad-keys", SecretString=json.dumps({"NOT-A-NAME": "v"}))
    return client


def run(command: list[str], moto_server: str, secret_ids: str, tmp_path: Path, *names: str) -> tuple[Any, Any]:
    out = tmp_path / "child.json"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(CORE),
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "SECRETS": secret_ids,
    }
    proc = subprocess.Popen(
        [*command, sys.executable, "-c", CHILD, str(out), *names],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate(timeout=60)
    child = json.loads(out.read_text()) if out.exists() else None
    return (proc.returncode, proc.pid, stdout, stderr), child


def decoded(child: dict[str, Any]) -> dict[str, str]:
    return {name: bytes.fromhex(value).decode() for name, value in child["env"].items()}


@pytest.mark.parametrize(
    "command", [[sys.executable, "-m", "cfnkit.secrets_exec"], [str(SCRIPT)]], ids=["python-m", "console-script"]
)
def test_values_arrive_byte_for_byte_in_the_execd_command(
    moto_server: str, secrets: Any, tmp_path: Path, command: list[str]
) -> None:
    (code, pid, _, stderr), child = run(
        command, moto_server, "todobackend/credentials", tmp_path, "MYSQL_PASSWORD", "SECRET_KEY"
    )
    assert code == 0, stderr
    assert child["env"]["MYSQL_PASSWORD"] == TRICKY.encode().hex()
    assert decoded(child) == {"MYSQL_PASSWORD": TRICKY, "SECRET_KEY": "E2]eTfO~8Z5)&0SlR"}
    # exec, not a child process: the application is the process that gets the signals.
    assert child["pid"] == pid
    assert stderr == "cfnkit-secrets-exec: secret todobackend/credentials: set MYSQL_PASSWORD, SECRET_KEY\n"


def test_later_secret_wins_and_the_override_is_reported(moto_server: str, secrets: Any, tmp_path: Path) -> None:
    (code, _, _, stderr), child = run(
        [sys.executable, "-m", "cfnkit.secrets_exec"],
        moto_server,
        "todobackend/credentials\ntodobackend/override",
        tmp_path,
        "SECRET_KEY",
    )
    assert code == 0
    assert decoded(child) == {"SECRET_KEY": "later-wins"}
    assert (
        "cfnkit-secrets-exec: SECRET_KEY from secret todobackend/override overrides SECRET_KEY from secret "
        "todobackend/credentials\n"
    ) in stderr


def test_bad_key_stops_before_exec(moto_server: str, secrets: Any, tmp_path: Path) -> None:
    (code, _, stdout, stderr), child = run(
        [sys.executable, "-m", "cfnkit.secrets_exec"],
        moto_server,
        "todobackend/credentials todobackend/bad-keys",
        tmp_path,
    )
    assert (code, child, stdout) == (1, None, "")
    assert stderr.splitlines()[-1] == (
        "cfnkit-secrets-exec: secret todobackend/bad-keys has keys that are not valid environment variable names: "
        f"\"NOT-A-NAME\" (a name is letters, digits and '_', not starting with a digit); not starting {sys.executable}"
    )
    assert TRICKY not in stderr


def test_missing_secret_stops_before_exec(moto_server: str, secrets: Any, tmp_path: Path) -> None:
    (code, _, _, stderr), child = run(
        [sys.executable, "-m", "cfnkit.secrets_exec"], moto_server, "todobackend/missing", tmp_path
    )
    assert (code, child) == (1, None)
    assert stderr == (
        "cfnkit-secrets-exec: cannot read secret todobackend/missing: ResourceNotFoundException: Secrets Manager "
        "can't find the specified secret. (check the name in SECRETS and the task's region); "
        f"not starting {sys.executable}\n"
    )


def test_empty_secrets_execs_at_once(tmp_path: Path) -> None:
    # The endpoint is a closed port: any AWS call would fail, so success means none was made.
    (code, pid, _, stderr), child = run(
        [sys.executable, "-m", "cfnkit.secrets_exec"], "http://127.0.0.1:9", "", tmp_path
    )
    assert (code, stderr, child["pid"]) == (0, "", pid)


def test_no_command_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cfnkit.secrets_exec"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(CORE)},
    )
    assert (done.returncode, done.stderr.splitlines()[-1]) == (2, "cfnkit-secrets-exec: no command given")
