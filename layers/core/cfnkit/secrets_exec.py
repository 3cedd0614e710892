"""cfnkit-secrets-exec: load Secrets Manager secrets into the environment, then exec the command.

A container ENTRYPOINT:

    ENTRYPOINT ["cfnkit-secrets-exec"]
    CMD ["uwsgi", "--http=0.0.0.0:8000", "--module=todobackend.wsgi"]

It reads the secret ids in SECRETS (separated by whitespace), fetches each with
GetSecretValue, puts every top-level key/value of each JSON-object secret into a copy
of the environment, and replaces itself with the command (os.execvpe), so the
application is the process that receives the signals.

Contracts:
- No shell is involved anywhere: a value arrives in the command's environment byte for
  byte, whatever quotes, `$`, backticks, newlines or non-ASCII it holds.
- Nothing is exec'd unless every secret was read and every key is a valid variable
  name: a problem exits non-zero with a message naming the secret and the problem.
  No message ever contains a value.
- A key set by an earlier secret (or already in the environment) and set again is
  reported on stderr by name; the later secret wins.
- SECRETS unset or empty: exec at once, without touching AWS.

boto3 is imported only when there is a secret to read (`pip install 'cfnkit[aws]'`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from .awserrors import AwsError, aws_error
from .protocol import as_text
from .schema import describe

PROG = "cfnkit-secrets-exec"
USAGE = f"""usage: {PROG} COMMAND [ARG...]

Loads the Secrets Manager secrets named in SECRETS (whitespace-separated names or ARNs,
each a JSON object of NAME: value pairs) into the environment, then execs COMMAND.
"""
#: POSIX shell-safe names: what every program can read back from its environment.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
EXIT_SECRETS = 1
EXIT_USAGE = 2
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127

#: What to check for the commonest GetSecretValue errors.
_HINTS = {
    "ResourceNotFoundException": "check the name in SECRETS and the task's region",
    "AccessDeniedException": "the task role needs secretsmanager:GetSecretValue on this secret "
    "(and kms:Decrypt on its KMS key)",
    "DecryptionFailure": "the task role needs kms:Decrypt on the secret's KMS key",
    "InvalidRequestException": "the secret may be scheduled for deletion; restore it",
}

Exec = Callable[[str, list[str], Mapping[str, str]], object]


class SecretsProblem(Exception):
    """A secret that cannot be loaded; the message names it and never holds a value."""


def _fetch(client: Any, secret_id: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        error = aws_error(exc) or AwsError("Unknown", "")
        hint = _HINTS.get(error.code)
        raise SecretsProblem(
            f"cannot read secret {secret_id}: {error.code}: {error.message}" + (f" ({hint})" if hint else "")
        ) from None
    except BotoCoreError as exc:
        raise SecretsProblem(f"cannot read secret {secret_id}: {type(exc).__name__}: {exc}") from None
    string = answer.get("SecretString")
    if string is None:
        raise SecretsProblem(
            f"secret {secret_id} is binary (SecretBinary); it must be a JSON object of NAME: value pairs"
        )
    return str(string)


def _variables(secret_id: str, string: str) -> dict[str, str]:
    try:
        parsed = json.loads(string)
    except ValueError:
        raise SecretsProblem(
            f"secret {secret_id} must be a JSON object of NAME: value pairs, but its SecretString is not JSON"
        ) from None
    if not isinstance(parsed, dict):
        raise SecretsProblem(
            f"secret {secret_id} must be a JSON object of NAME: value pairs, but its SecretString is {describe(parsed)}"
        )
    bad = [key for key in parsed if not ENV_NAME.fullmatch(key)]
    if bad:
        names = ", ".join(json.dumps(key, ensure_ascii=False) for key in bad)
        raise SecretsProblem(
            f"secret {secret_id} has keys that are not valid environment variable names: {names} "
            "(a name is letters, digits and '_', not starting with a digit)"
        )
    variables = {key: as_text(value) for key, value in parsed.items()}
    nul = [key for key, value in variables.items() if "\x00" in value]
    if nul:
        raise SecretsProblem(
            f"secret {secret_id} has values with a NUL character, which an environment variable cannot hold: "
            f"{', '.join(nul)}"
        )
    return variables


def load(
    secret_ids: Sequence[str],
    client: Any,
    environ: Mapping[str, str],
    report: Callable[[str], None],
) -> dict[str, str]:
    """environ plus every secret's variables (later secrets win); raises SecretsProblem."""
    env = dict(environ)
    origin: dict[str, str] = {}
    for secret_id in dict.fromkeys(secret_ids):
        variables = _variables(secret_id, _fetch(client, secret_id))
        for key, value in variables.items():
            if key in origin:
                report(f"{key} from secret {secret_id} overrides {key} from secret {origin[key]}")
            elif key in env:
                report(f"{key} from secret {secret_id} overrides the {key} already in the environment")
            env[key] = value
            origin[key] = secret_id
        report(f"secret {secret_id}: set {', '.join(variables) or 'nothing (it is an empty object)'}")
    return env


def _client() -> Any:
    try:
        import boto3
    except ImportError:
        raise SecretsProblem("boto3 is not installed (pip install 'cfnkit[aws]')") from None
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client("secretsmanager")
    except BotoCoreError as exc:
        raise SecretsProblem(f"cannot create a Secrets Manager client: {type(exc).__name__}: {exc}") from None


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    execvpe: Exec | None = None,
    client_factory: Callable[[], Any] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Load SECRETS into the environment and exec argv; returns only when it cannot exec.

    Seams for tests: environ (default os.environ), execvpe (default os.execvpe),
    client_factory (default boto3.client("secretsmanager")), stderr.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    err = stderr if stderr is not None else sys.stderr
    source = os.environ if environ is None else environ
    run = execvpe if execvpe is not None else os.execvpe

    def say(text: str) -> None:
        print(f"{PROG}: {text}", file=err, flush=True)

    if args[:1] == ["--"]:
        args = args[1:]
    if args[:1] in (["-h"], ["--help"]):
        err.write(USAGE)
        return 0
    if not args:
        err.write(USAGE)
        say("no command given")
        return EXIT_USAGE
    secret_ids = source.get("SECRETS", "").split()
    env = dict(source)
    if secret_ids:
        try:
            client = client_factory() if client_factory is not None else _client()
            env = load(secret_ids, client, source, say)
        except SecretsProblem as exc:
            say(f"{exc}; not starting {args[0]}")
            return EXIT_SECRETS
    sys.stdout.flush()
    err.flush()
    try:
        run(args[0], args, env)
    except FileNotFoundError:
        say(f"cannot run {args[0]}: command not found")
        return EXIT_NOT_FOUND
    except OSError as exc:
        say(f"cannot run {args[0]}: {exc.strerror or exc}")
        return EXIT_NOT_EXECUTABLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
