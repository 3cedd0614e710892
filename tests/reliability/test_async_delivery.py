"""Lambda's asynchronous delivery, as template.yaml configures the runner, around a long ECS wait.

`AsyncLambda` plays Lambda for one function: it delivers CloudFormation's event and every
continuation the core enqueues, retries an invocation that died up to
MaximumRetryAttempts times (EventInvokeConfig), may deliver an event twice (delivery is
at least once), and under RecursiveLoop Terminate drops the invocation after the 16th of
a chain, silently, as Lambda's recursive loop detection does (Lambda developer guide,
"Asynchronous invocation" and "Use Lambda recursive loop detection"). The settings come
from template.yaml, so these cases are the justification of the ones it ships.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cfnkit import CustomResource
from cfnkit.budget import LOOP_DETECTION_INVOCATIONS
from cfnkit.sender import Delivery, HttpSender
from cfnkit.testing import FakeContext, ResponseServer, ScriptedClock
from cfnkit_tools.cfn_yaml import load_template
from ecs_runner import EcsTaskRunner

from tests.reliability.faults import Killed
from tests.reliability.test_ecs_faults import Ecs, migrate_event
from tests.support import moto_ecs

pytestmark = pytest.mark.functional

RUNNER = load_template(Path(__file__).resolve().parents[2] / "template.yaml")["Resources"]["EcsTaskRunnerFunction"]
SETTINGS = RUNNER["Properties"]["EventInvokeConfig"]
RECURSIVE_LOOP = RUNNER["Properties"]["RecursiveLoop"]


@pytest.fixture
def ecs(aws_env: None) -> Iterator[Ecs]:
    """The fault matrix's moto ECS (tests/reliability/test_ecs_faults.py), with ECS's rules."""
    with moto_ecs():
        yield Ecs()


@dataclass
class Process:
    """One invocation's process: once dead, nothing it sends or enqueues leaves it."""

    alive: bool = True


class GatedSender:
    def __init__(self, inner: Any, process: Process) -> None:
        self.inner, self.process = inner, process

    def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
        if not self.process.alive:
            return Delivery(False, 0, None, "process is dead")
        result: Delivery = self.inner.send(url, body, deadline=deadline)
        return result


@dataclass
class AsyncLambda:
    """Lambda's async invocation of the runner: retries, at-least-once delivery, loop detection."""

    ecs: Ecs
    clock: ScriptedClock
    timeout: float
    max_retries: int = int(SETTINGS["MaximumRetryAttempts"])
    recursive_loop: str = str(RECURSIVE_LOOP)
    #: What the function tells the core (CFNKIT_RECURSIVE_LOOP); the template sets the same.
    core_recursive_loop: str | None = None
    #: Continuation hops delivered twice (at-least-once delivery).
    duplicate_hops: frozenset[int] = frozenset()
    #: (invocation number, seconds into the wait) at which the process dies, once each.
    crashes: list[tuple[int, float]] = field(default_factory=list)
    queue: list[dict[str, Any]] = field(default_factory=list)
    invocations: int = 0
    retries: int = 0
    dropped: int = 0
    lost: int = 0
    _process: Process = field(default_factory=Process)

    def invoke_async(self, function_arn: str, event: Mapping[str, Any]) -> None:
        if self._process.alive:
            copy = json.loads(json.dumps(event))
            self.queue.append(copy)
            if copy["CfnkitContinuation"]["hop"] in self.duplicate_hops:
                self.queue.append(json.loads(json.dumps(event)))

    def run(self, event: dict[str, Any]) -> None:
        self.queue.append(event)
        while self.queue:
            current = self.queue.pop(0)
            number = current.get("CfnkitContinuation", {}).get("hop", 0) + 1  # place in the chain
            if self.recursive_loop == "Terminate" and number > LOOP_DETECTION_INVOCATIONS:
                self.dropped += 1  # Lambda stops the loop; nobody is told
                continue
            for attempt in range(self.max_retries + 1):
                if self._invoke(current, number):
                    break
                if attempt == self.max_retries:
                    self.lost += 1  # retries exhausted: the event is gone
                else:
                    self.retries += 1

    def _invoke(self, event: dict[str, Any], number: int) -> bool:
        """One invocation; False when its process died."""
        self.invocations += 1
        self._process = process = Process()
        for crash_number, at in list(self.crashes):
            if crash_number == number:
                self.crashes.remove((crash_number, at))
                self.clock.at(at, self._kill(process))
        provider = EcsTaskRunner(ecs_client=self.ecs.client, clock=self.clock)
        handler = CustomResource(
            provider,
            clock=self.clock,
            invoker=self,
            sender=GatedSender(HttpSender(clock=self.clock), process),
            recursive_loop=self.core_recursive_loop or self.recursive_loop,
        )
        handler(event, FakeContext(self.timeout, clock=self.clock))
        return process.alive

    @staticmethod
    def _kill(process: Process) -> Callable[[], None]:
        def kill() -> None:
            process.alive = False
            raise Killed

        return kill


def bodies(server: ResponseServer, count: int = 1) -> list[dict[str, Any]]:
    """The answers, once `count` have arrived (the server records a PUT after answering it)."""
    return [put.json() for put in server.wait_for(count, timeout=5)]


def test_template_retries_and_loop_setting_are_what_these_cases_use() -> None:
    assert (SETTINGS["MaximumRetryAttempts"], SETTINGS["MaximumEventAgeInSeconds"], RECURSIVE_LOOP) == (
        2,
        3600,
        "Allow",
    )


def test_a_continuation_that_dies_mid_wait_is_retried_and_answers(
    ecs: Ecs, server: ResponseServer, matrix: Callable[..., None]
) -> None:
    matrix("Continuation dies mid-wait (60 s Lambda, task stops at 100 s)", "Lambda's retry resumes; 1 task, 1 SUCCESS")
    clock = ScriptedClock()
    clock.at(100, ecs.stop_all)
    lam = AsyncLambda(ecs, clock, timeout=60, crashes=[(2, 70)])
    lam.run(migrate_event(server.url))
    answers = bodies(server)
    matrix(
        observed=f"{lam.invocations} invocations, {lam.retries} retry, {len(ecs.tasks())} task, "
        f"answers {[b['Status'] for b in answers]}"
    )
    assert (lam.retries, lam.lost, lam.dropped, len(ecs.tasks())) == (1, 0, 0, 1)
    assert [b["Status"] for b in answers] == ["SUCCESS"]


def test_without_retries_the_same_crash_leaves_cloudformation_waiting(
    ecs: Ecs, server: ResponseServer, matrix: Callable[..., None]
) -> None:
    matrix("Same crash with MaximumRetryAttempts 0", "no answer: why the template keeps 2 retries")
    clock = ScriptedClock()
    clock.at(100, ecs.stop_all)
    lam = AsyncLambda(ecs, clock, timeout=60, crashes=[(2, 70)], max_retries=0)
    lam.run(migrate_event(server.url))
    matrix(observed=f"{lam.lost} event lost, {len(server.puts)} answers")
    assert lam.lost == 1
    with pytest.raises(TimeoutError):
        server.wait_for(1, timeout=0.5)


def test_a_create_event_that_dies_before_run_task_answers_is_retried_without_a_second_task(
    ecs: Ecs, server: ResponseServer, matrix: Callable[..., None]
) -> None:
    matrix("CloudFormation's event dies 2 s into the wait", "retried; ListTasks adopts; 1 task, 1 SUCCESS")
    clock = ScriptedClock()
    clock.at(10, ecs.stop_all)
    lam = AsyncLambda(ecs, clock, timeout=900, crashes=[(1, 2)])
    lam.run(migrate_event(server.url))
    matrix(
        observed=f"{lam.retries} retry, {len(ecs.tasks())} task, {ecs.rules.run_task_calls} RunTask, "
        f"answers {[b['Status'] for b in bodies(server)]}"
    )
    assert (lam.retries, len(ecs.tasks()), ecs.rules.run_task_calls) == (1, 1, 1)
    assert [b["Status"] for b in bodies(server)] == ["SUCCESS"]


def test_a_continuation_delivered_twice_answers_the_same_twice(
    ecs: Ecs, server: ResponseServer, matrix: Callable[..., None]
) -> None:
    matrix("Continuation delivered twice (two live chains)", "same Status and PhysicalResourceId")
    clock = ScriptedClock()
    clock.at(100, ecs.stop_all)
    lam = AsyncLambda(ecs, clock, timeout=60, duplicate_hops=frozenset({1}))
    lam.run(migrate_event(server.url))
    answers = bodies(server, 2)
    matrix(observed=f"{len(answers)} answers {sorted({(b['Status'], b['PhysicalResourceId']) for b in answers})}")
    assert len(answers) == 2
    assert {(b["Status"], b["PhysicalResourceId"], json.dumps(b.get("Data"))) for b in answers} == {
        ("SUCCESS", answers[0]["PhysicalResourceId"], json.dumps(answers[0]["Data"]))
    }


def test_two_chains_at_the_deadline_both_answer_failed(
    ecs: Ecs, server: ResponseServer, matrix: Callable[..., None]
) -> None:
    matrix("Two live chains reach the deadline; the task exits 0 when stopped", "both FAILED, same id")
    event = migrate_event(server.url)
    event["ResourceProperties"]["Timeout"] = "100"

    def exits_zero_on_stop(params: dict[str, Any], **_: Any) -> None:
        # The container handles SIGTERM and exits 0; the stop reason stays the first stopper's.
        ecs.agent.stop(
            str(params["task"]),
            exit_codes={"migrate": 0},
            stop_code="UserInitiated",
            stopped_reason=str(params["reason"]),
        )

    ecs.client.meta.events.register("before-parameter-build.ecs.StopTask", exits_zero_on_stop)
    clock = ScriptedClock()
    lam = AsyncLambda(ecs, clock, timeout=60, duplicate_hops=frozenset({1}))
    lam.run(event)
    answers = bodies(server, 2)
    matrix(observed=f"{len(answers)} answers {sorted({(b['Status'], b['PhysicalResourceId']) for b in answers})}")
    assert len(answers) == 2
    assert {(b["Status"], b["PhysicalResourceId"]) for b in answers} == {
        ("FAILED", f"cfnkit-failed-create-{event['RequestId']}")
    }


def test_a_wait_longer_than_terminate_allows_answers_in_time_and_no_hop_is_dropped(
    ecs: Ecs, server: ResponseServer, matrix: Callable[..., None]
) -> None:
    matrix("20 s Lambda, RecursiveLoop Terminate, task runs 600 s", "FAILED naming the limit; nothing dropped")
    clock = ScriptedClock()
    clock.at(600, ecs.stop_all)
    lam = AsyncLambda(ecs, clock, timeout=20, recursive_loop="Terminate")
    lam.run(migrate_event(server.url))
    [answer] = bodies(server)
    matrix(observed=f"{lam.invocations} invocations, {lam.dropped} dropped, {answer['Status']}")
    assert (lam.invocations, lam.dropped) == (15, 0)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "the wait needs more than 15 invocations of this function, and Lambda's "
        "recursive loop detection stops a chain of about 16"
    )
    assert answer["Reason"].endswith(
        "set its RecursiveLoop to Allow and its environment variable CFNKIT_RECURSIVE_LOOP to Allow; task stopped"
    )


def test_with_recursive_loop_allow_the_same_wait_succeeds(
    ecs: Ecs, server: ResponseServer, matrix: Callable[..., None]
) -> None:
    matrix("20 s Lambda, RecursiveLoop Allow (the template's), task runs 600 s", "SUCCESS after >16 invocations")
    clock = ScriptedClock()
    clock.at(600, ecs.stop_all)
    lam = AsyncLambda(ecs, clock, timeout=20)
    lam.run(migrate_event(server.url))
    [answer] = bodies(server)
    matrix(observed=f"{lam.invocations} invocations, {lam.dropped} dropped, {answer['Status']}")
    assert lam.invocations > LOOP_DETECTION_INVOCATIONS
    assert (lam.dropped, answer["Status"]) == (0, "SUCCESS")


def test_a_core_told_allow_on_a_function_that_terminates_loses_the_chain(
    ecs: Ecs, server: ResponseServer, matrix: Callable[..., None]
) -> None:
    matrix("Core told Allow, function left at Terminate", "hop 16 dropped, no answer: set both together")
    clock = ScriptedClock()
    clock.at(600, ecs.stop_all)
    lam = AsyncLambda(ecs, clock, timeout=20, recursive_loop="Terminate", core_recursive_loop="Allow")
    lam.run(migrate_event(server.url))
    matrix(observed=f"{lam.invocations} invocations, {lam.dropped} dropped, {len(server.puts)} answers")
    assert (lam.invocations, lam.dropped) == (LOOP_DETECTION_INVOCATIONS, 1)
    with pytest.raises(TimeoutError):
        server.wait_for(1, timeout=0.5)
