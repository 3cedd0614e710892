"""Run a Lambda handler the way Lambda would, in child processes, and capture the custom resource's answer.

One invocation = one child process (cfnkit_tools.child) with the function's code and layers
importable, its environment, and a context whose deadline is the function's timeout. The
event's ResponseURL points at a local ResponseServer, so the real sender delivers the real
body. A wait handed to a continued invocation (the core's LambdaInvoker writes the event to
CFNKIT_LOCAL_CONTINUATION_DIR) is started as the next hop, with a new full timeout, until
no hop continues.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from cfnkit.budget import MAX_HOPS
from cfnkit.testing import ResponseServer
from cfnkit.waiter import LOCAL_CONTINUATION_ENV

from .functions import FunctionSpec

#: Lambda's init phase may take this long before the handler's own timeout starts.
INIT_ALLOWANCE_S = 10.0
#: A runaway guard for the emulator itself: one invocation more than the core ever
#: chains (hop 0 plus MAX_HOPS continuations), so the core's own limit is what shows.
MAX_LOCAL_HOPS = MAX_HOPS + 1
MASK = "****"


class AwsTarget(Protocol):
    region: str
    account: str

    @property
    def description(self) -> str: ...

    def child_environment(self, base: Mapping[str, str]) -> dict[str, str]: ...


@dataclass(frozen=True)
class Progress:
    """Something that happened during an invocation (for live output)."""

    kind: str  # "hop-start" | "log" | "hop-end"
    hop: int
    elapsed: float
    detail: str


@dataclass(frozen=True)
class Hop:
    number: int
    elapsed: float
    seconds: float
    #: "answered", "continued", "returned without answering", "killed at the timeout", "error: ..."
    outcome: str


@dataclass
class Invocation:
    """What one request produced: the hops and the body (or bodies) CloudFormation received."""

    hops: list[Hop] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def response(self) -> dict[str, Any] | None:
        return self.responses[-1] if self.responses else None

    @property
    def status(self) -> str | None:
        body = self.response
        return str(body.get("Status")) if body else None

    @property
    def exit_code(self) -> int:
        """0 SUCCESS, 1 FAILED, 2 no response."""
        return {"SUCCESS": 0, "FAILED": 1}.get(self.status or "", 2)


def masked(body: Mapping[str, Any], show_secrets: bool = False) -> dict[str, Any]:
    """The body with every Data value masked when NoEcho is set (unless show_secrets)."""
    doc = dict(body)
    if doc.get("NoEcho") and isinstance(doc.get("Data"), Mapping) and not show_secrets:
        doc["Data"] = dict.fromkeys(doc["Data"], MASK)
    return doc


def lambda_environment(spec: FunctionSpec, region: str, timeout: float) -> dict[str, str]:
    """The variables the Lambda runtime sets, then the template's own."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **spec.environment,
    }


class LocalLambda:
    """Invoke one function of a template locally (see the module docstring)."""

    def __init__(
        self,
        spec: FunctionSpec,
        aws: AwsTarget,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        base_environment: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.aws = aws
        self.timeout = float(timeout if timeout is not None else spec.timeout)
        self.on_progress = on_progress or (lambda _progress: None)
        self.base_environment = dict(os.environ if base_environment is None else base_environment)
        self.function_arn = f"arn:aws:lambda:{aws.region}:{aws.account}:function:{spec.function_name}"

    def invoke(self, event: Mapping[str, Any]) -> Invocation:
        result = Invocation()
        started = time.monotonic()
        with ResponseServer() as server, tempfile.TemporaryDirectory(prefix="cfnkit-invoke-") as work:
            name = quote(f"{event.get('LogicalResourceId') or 'resource'}/{event.get('RequestId') or 'request'}")
            pending: list[dict[str, Any]] = [{**event, "ResponseURL": server.url_for(name)}]
            while pending and len(result.hops) < MAX_LOCAL_HOPS:
                hop_event = pending.pop(0)
                number = len(result.hops)
                hop_dir = Path(work) / f"hop-{number}"
                continuations = hop_dir / "continuations"
                continuations.mkdir(parents=True)
                hop_started = time.monotonic()
                self.on_progress(
                    Progress(
                        "hop-start",
                        number,
                        hop_started - started,
                        f"invocation {number + 1} started (timeout {self.timeout:g} s)",
                    )
                )
                outcome = self._run_child(hop_event, hop_dir, continuations, number, started)
                next_events = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(continuations.glob("*.json"))]
                pending.extend(next_events)
                answered = len(server.puts) > len(result.responses)
                result.responses = [put.json() for put in server.puts]
                if outcome is None:
                    outcome = (
                        "answered"
                        if answered
                        else (
                            f"handed the wait to invocation {number + 2}"
                            if next_events
                            else "returned without answering"
                        )
                    )
                elif answered:
                    outcome = f"answered, then {outcome}"
                now = time.monotonic()
                hop = Hop(number, hop_started - started, now - hop_started, outcome)
                result.hops.append(hop)
                self.on_progress(Progress("hop-end", number, now - started, outcome))
            result.seconds = time.monotonic() - started
        return result

    def _run_child(
        self, event: Mapping[str, Any], hop_dir: Path, continuations: Path, number: int, started: float
    ) -> str | None:
        event_file = hop_dir / "event.json"
        result_file = hop_dir / "result.json"
        spec_file = hop_dir / "spec.json"
        started_file = hop_dir / "started"
        event_file.write_text(json.dumps(event), encoding="utf-8")
        spec_file.write_text(
            json.dumps(
                {
                    "code_dir": str(self.spec.code_dir),
                    "layer_paths": [str(p) for p in self.spec.layer_paths],
                    "module": self.spec.module,
                    "attribute": self.spec.attribute,
                    "function_name": self.spec.function_name,
                    "function_arn": self.function_arn,
                    "memory_mb": self.spec.memory_mb,
                    "timeout": self.timeout,
                    "event_file": str(event_file),
                    "result_file": str(result_file),
                    "started_file": str(started_file),
                }
            ),
            encoding="utf-8",
        )
        env = self.aws.child_environment(self.base_environment)
        env.update(lambda_environment(self.spec, self.aws.region, self.timeout))
        env[LOCAL_CONTINUATION_ENV] = str(continuations)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", "from cfnkit_tools.child import main; main()", str(spec_file)],
            cwd=str(self.spec.code_dir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        reader = threading.Thread(target=self._forward, args=(process, number, started), daemon=True)
        reader.start()
        finished = self._wait(process, started_file)
        if not finished:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
        if not finished:
            return f"killed at the timeout (Task timed out after {self.timeout:g} seconds)"
        if not result_file.exists():
            return f"error: the process exited with code {process.returncode} before the handler returned"
        outcome = json.loads(result_file.read_text(encoding="utf-8"))
        if "error" in outcome:
            for line in str(outcome.get("traceback", "")).splitlines():
                self.on_progress(Progress("log", number, time.monotonic() - started, line))
            return f"error: {outcome['error']}"
        return None

    def _wait(self, process: subprocess.Popen[str], started_file: Path) -> bool:
        """Wait for the child; False when it outlived its deadline (as Lambda measures it)."""
        deadline = time.monotonic() + INIT_ALLOWANCE_S + self.timeout
        handler_started = False
        while True:
            try:
                process.wait(timeout=0.05)
                return True
            except subprocess.TimeoutExpired:
                pass
            if not handler_started and started_file.exists():
                handler_started = True
                deadline = time.monotonic() + self.timeout
            if time.monotonic() >= deadline:
                return False

    def _forward(self, process: subprocess.Popen[str], number: int, started: float) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.on_progress(Progress("log", number, time.monotonic() - started, line.rstrip("\n")))
