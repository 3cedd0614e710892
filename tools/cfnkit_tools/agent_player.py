"""Play the ECS agent for a moto server in this process: stop each new task as a script says.

moto runs no containers. AgentPlayer watches moto for tasks it has not seen, and after the
script's delay stops each with the script's exit codes and writes its log lines to moto's
CloudWatch Logs, through cfnkit_tools.ecs_agent.EcsAgent. The moto server must run in this
process, and this process's boto3 must point at it (MotoAws.in_this_process()).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AgentScript:
    """How long a task runs, how each container exits (others exit 0), and what each logs."""

    seconds: float
    exit_codes: Mapping[str, int | None] = field(default_factory=dict)
    logs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_fixture(cls, doc: Mapping[str, Any]) -> AgentScript:
        """From a fixture's "ecs_agent": {"seconds": 2, "exit_codes": {"migrate": 1}, "logs": {"migrate": [..]}}."""
        return cls(
            seconds=float(doc.get("seconds", 1.0)),
            exit_codes={str(k): (None if v is None else int(v)) for k, v in (doc.get("exit_codes") or {}).items()},
            logs={str(k): tuple(str(line) for line in v) for k, v in (doc.get("logs") or {}).items()},
        )

    def describe(self) -> str:
        codes = ", ".join(f"{name} {code}" for name, code in self.exit_codes.items()) or "every container 0"
        return f"exit codes {codes}"


class AgentPlayer:
    """Stops every new task of the cluster (or of all clusters) after the current script's delay."""

    def __init__(
        self, say: Callable[[str], None], cluster: str | None = None, script: AgentScript | None = None
    ) -> None:
        from .ecs_agent import EcsAgent

        self.agent = EcsAgent()
        self.cluster = cluster
        self.say = say
        self.script = script
        self.errors: list[str] = []
        self._seen: dict[str, float] = {}
        self._done: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="ecs-agent")

    def __enter__(self) -> AgentPlayer:
        self.agent.hold()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.agent.release()

    def _task_arns(self) -> list[str]:
        for _ in range(5):
            try:
                return self.agent.task_arns(self.cluster)
            except RuntimeError:  # moto's dict changed while the server thread added a task
                time.sleep(0.01)
        return []

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for arn in self._task_arns():
                if arn not in self._done:
                    self._tend(arn, time.monotonic())

    def _tend(self, arn: str, now: float) -> None:
        script = self.script
        short = arn.rsplit("/", 1)[-1][:8]
        if arn not in self._seen:
            self._seen[arn] = now
            if script:
                self.say(
                    f"ECS agent (emulated): task {short} RUNNING; it will stop after {script.seconds:g} s "
                    f"with {script.describe()}"
                )
        if script is None or now - self._seen[arn] < script.seconds:
            return
        self._done.add(arn)
        try:
            self.agent.stop(arn, dict(script.exit_codes), logs={k: list(v) for k, v in script.logs.items()})
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            self.say(f"ECS agent (emulated): could not stop task {short}: {type(exc).__name__}: {exc}")
            return
        lines = sum(len(v) for v in script.logs.values())
        self.say(
            f"ECS agent (emulated): task {short} STOPPED with {script.describe()}; "
            f"{lines} log lines written to CloudWatch Logs"
        )
