"""Account-scale waiting: N runners at once against an ECS API that throttles like the real one.

    .venv/bin/python bench/scale.py                      # N = 1, 25, 40, 50, 100 (about 20 minutes)
    .venv/bin/python bench/scale.py --sizes 25 --handlers cfnkit document --merge
                                                         # one size, two handlers; keep the other rows
    .venv/bin/python bench/scale.py --render             # no measuring: docs from bench/results/scale.json

moto runs ECS in-process; a botocore `before-send` hook on boto3's default session
(so every client, ours and the peers', carries it) answers an ECS call with
`400 ThrottlingException` when its token bucket is empty: the HTTP layer, so each
client's own botocore retry logic (ours: standard mode, one attempt; the peers':
legacy mode, five) meets the throttle as it would in AWS. The buckets and their
sizes are the ECS API Reference's ("Request throttling for the Amazon ECS API",
table "Request Token Bucket Sizes and Refill Rates"), per account and Region:

    cluster resource read   DescribeTasks, ListTasks        100 tokens, refill 20/s
    cluster resource modify RunTask, StopTask               100 tokens, refill 40/s
    task definition read    DescribeTaskDefinition           50 tokens, refill 20/s

N Creates start together (within 1 s). Each task stops at a set time after it
appears, spread over 5-60 s, and every fifth exits 1 (the agent in
cfnkit_tools.ecs_agent stops it). Per handler and N: answered exactly once and
correctly, report delay (response PUT minus the task's stop), ECS read calls per
second (mean, peak), the throttled share of read calls, and Lambda time consumed.

crhelper's poll_create waits on an EventBridge rule (rate(1 minute), its minimum);
the benchmark fires that rule's target every 60 s itself (moto does not run rules).
Writes bench/results/scale.json, docs/benchmarks/scale.md and docs/benchmarks/scale.svg.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, peers
from bench.harness import ROOT

OURS, DOC, CRHELPER = "cfnkit", "document", "crhelper"
HANDLERS = (OURS, DOC, CRHELPER)
RESULTS = ROOT / "bench" / "results" / "scale.json"
DOCS = ROOT / "docs" / "benchmarks"
#: (bucket, capacity, refill per second) by ECS operation: the ECS API Reference's table.
BUCKETS: dict[str, tuple[str, int, float]] = {
    "DescribeTasks": ("cluster resource read", 100, 20.0),
    "ListTasks": ("cluster resource read", 100, 20.0),
    "RunTask": ("cluster resource modify", 100, 40.0),
    "StopTask": ("cluster resource modify", 100, 40.0),
    "DescribeTaskDefinition": ("task definition read", 50, 20.0),
}
READ = "cluster resource read"
LAMBDA_GB = 0.125  # 128 MB, the smallest Lambda: GB-seconds = seconds * 0.125
CRHELPER_RATE_S = 60.0
#: "One runner alone": this many single-runner runs, one after another.
ALONE_RUNS = 6
#: moto's ECS backend is not thread-safe (100 threads calling RunTask and DescribeTasks at once
#: raise "dictionary changed size during iteration" inside moto): every ECS call and the agent's
#: edits go through moto one at a time. Each call takes about a millisecond, far below the
#: seconds the throttle measures.
MOTO_LOCK = threading.Lock()
CLIENTS_LOCK = threading.Lock()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.__stdout__, flush=True)


# -- the throttle ------------------------------------------------------------------------------


class TokenBucket:
    def __init__(self, capacity: int, refill: float) -> None:
        self.capacity = float(capacity)
        self.refill = refill
        self.tokens = float(capacity)
        self.at = time.monotonic()

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.refill)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


class Throttle:
    """The account's ECS buckets, enforced at the HTTP layer of every boto3 client (before-send)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[float, str, bool]] = []  # (monotonic time, operation, throttled)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.buckets = {name: TokenBucket(cap, rate) for name, cap, rate in set(BUCKETS.values())}
            self.calls = []

    def install(self) -> None:
        """Before any client the runs use exists (clients copy the session's handlers when created).

        botocore emits before-send to every handler and uses the first response, so moto's own
        handler would still execute a throttled RunTask: it is replaced by one that leaves the
        ECS operations to this throttle, which hands the calls it lets through to moto itself.
        """
        import boto3
        from moto.core.models import botocore_stubber

        assert boto3.DEFAULT_SESSION is not None
        events = boto3.DEFAULT_SESSION.events
        events.unregister("before-send", botocore_stubber)
        events.register("before-send", self._moto)
        for operation in BUCKETS:
            events.register(f"before-send.ecs.{operation}", self._hook)

    @staticmethod
    def _moto(request: Any, **kwargs: Any) -> Any:
        from moto.core.models import botocore_stubber

        name = str(kwargs.get("event_name", ""))
        if name.startswith("before-send.ecs.") and name.rsplit(".", 1)[-1] in BUCKETS:
            return None  # _hook answered (moto under the lock, or a throttle)
        return botocore_stubber(name, request)

    def _hook(self, request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        operation = str(kwargs.get("event_name", "")).rsplit(".", 1)[-1]
        name = BUCKETS[operation][0]
        now = time.monotonic()
        with self._lock:
            allowed = self.buckets[name].take(now)
            self.calls.append((now, operation, not allowed))
        if allowed:
            from moto.core.models import botocore_stubber

            with MOTO_LOCK:
                return botocore_stubber(str(kwargs.get("event_name")), request)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        headers["x-amzn-RequestId"] = str(uuid.uuid4())
        body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        return AWSResponse(request.url, 400, headers, _Raw(body))


# -- the agent: tasks stop at set times -------------------------------------------------------------


@dataclass
class Plan:
    duration: float
    exit_code: int
    seen: float = 0.0
    stopped: float | None = None


class Agent:
    """Gives every new task of the cluster the next planned (duration, exit code) and stops it then."""

    def __init__(self, world: harness.World, cluster: str, plans: list[Plan]) -> None:
        self.world = world
        self.cluster = cluster
        self.pending = list(plans)
        self.tasks: dict[str, Plan] = {}
        self.known = set(world.agent.task_arns(cluster))
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="agent")

    def start(self) -> Agent:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                with MOTO_LOCK:
                    self._step()
            except Exception as exc:  # a crashed agent would leave every task running
                log(f"agent: {type(exc).__name__}: {exc}")

    def _step(self) -> None:
        now = time.time()
        for arn in self.world.agent.task_arns(self.cluster):
            if arn in self.known:
                continue
            self.known.add(arn)
            if self.pending:
                plan = self.pending.pop(0)
                plan.seen = now
                self.tasks[arn] = plan
        for arn, plan in list(self.tasks.items()):
            if plan.stopped is None and now >= plan.seen + plan.duration:
                self.world.agent.stop(arn, exit_codes={"migrate": plan.exit_code})
                plan.stopped = time.time()


# -- one run: N Creates by one handler ------------------------------------------------------------


@dataclass
class Runner:
    name: str
    event: dict[str, Any]
    handler: Callable[[Any, Any], Any]
    runs: list[harness.Run] = field(default_factory=list)


class Scale:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.throttle = Throttle()
        self.results: dict[str, Any] = {"machine": harness.machine(), "runs": []}
        self.run_index = 0
        self.tmp = harness.temp_dir()
        self.cert, self.key = harness.make_certificate(self.tmp)
        os.environ["SSL_CERT_FILE"] = str(self.cert)  # crhelper verifies the server with the default context

    def handler_for(self, who: str) -> Callable[[Any, Any], Any]:
        if who == OURS:
            from cfnkit.testing import RecordingInvoker

            app = self.ecs_app
            ecs_runner = sys.modules["ecs_runner"]

            # boto3's default session is not thread-safe when 100 threads create clients at once (in
            # Lambda each runner has its own process): each runner's ECS client (app.py's production
            # config) is made before the clock starts, one at a time, like the peers' module clients.
            ecs_client = ecs_runner.EcsTaskRunner._boto3_client("ecs", None)

            def client(service: str, region: str | None) -> Any:
                if service == "ecs":
                    return ecs_client
                with CLIENTS_LOCK:
                    return ecs_runner.EcsTaskRunner._boto3_client(service, region)

            def ours(event: Any, context: Any) -> None:
                # app.py's wiring; a wait longer than the Lambda's 900 s would continue (none here does).
                provider = app.EcsTaskRunner(client_factory=client)
                app.CustomResource(provider, invoker=RecordingInvoker(), log_level="ERROR")(event, context)

            return ours
        # One module (and so one boto3 client and one crhelper object) per runner, as one Lambda
        # environment per concurrent invocation has.
        with CLIENTS_LOCK:
            return peers.load("doc_ecs_runner" if who == DOC else "crhelper_ecs").handler  # type: ignore[no-any-return]

    def one(self, world: harness.World, who: str, n: int, seed: int) -> dict[str, Any]:
        from cfnkit.testing import FakeContext, ResponseServer, create_event

        rng = random.Random(seed)
        plans = [Plan(rng.uniform(5.0, 60.0), 1 if i % 5 == 4 or (n == 1 and seed % 5 == 4) else 0) for i in range(n)]
        rng.shuffle(plans)
        # A cluster of its own per run: a task left over from an earlier run is never planned again.
        self.run_index += 1
        cluster = world.clusters[self.run_index % len(world.clusters)]
        server: Any = harness.TlsResponseServer(self.cert, self.key) if who == CRHELPER else ResponseServer()
        server.start()
        runners = []
        for i in range(n):
            name = f"S{who[:2]}{n}x{i}"
            # Timeout bounds cfnkit's wait (the peers ignore it), so no runner outlives its run.
            props = {"Cluster": cluster, "TaskDefinition": harness.FAMILY, "Timeout": "180"}
            event = create_event(
                props,
                response_url=server.url_for(name),
                logical_id=name,
                request_id=str(uuid.uuid4()),
                resource_type="Custom::Migrate",
            )
            runners.append(Runner(name, event, self.handler_for(who)))
        agent = Agent(world, cluster, plans).start()
        self.throttle.reset()
        started = time.monotonic()
        wall_started = time.time()
        offsets = sorted(rng.uniform(0.0, 1.0) for _ in runners)
        for runner, offset in zip(runners, offsets, strict=True):
            time.sleep(max(0.0, wall_started + offset - time.time()))
            runner.runs.append(
                harness.start(runner.handler, runner.event, FakeContext(900, function_name="bench-fn"), runner.name)
            )
        if who == CRHELPER:
            self.fire_rules(runners, server, wall_started)
        deadline = time.time() + 200
        for runner in runners:
            for run in runner.runs:
                run.join(max(0.1, deadline - time.time()))
        time.sleep(1.0)  # a late second answer would show here
        elapsed = time.monotonic() - started
        agent.stop()
        calls = list(self.throttle.calls)
        server.stop()
        seen = self.world_tasks(world, cluster)
        log(
            f"agent: {len(agent.tasks)} planned tasks, {len(seen)} tasks in the cluster, "
            f"{sum(1 for p in agent.tasks.values() if p.stopped)} stopped; startedBy of unplanned: "
            f"{[world.agent.task(a).started_by for a in seen if a not in agent.tasks][:3]}"
        )
        return self.measure(who, n, runners, server, agent, calls, started, elapsed)

    def alone(self, world: harness.World, who: str) -> dict[str, Any]:
        """One runner at a time, ALONE_RUNS times (tasks of 5-60 s, one failing): a single row."""
        rows = [self.one(world, who, 1, seed=2000 + i) for i in range(ALONE_RUNS)]
        delays = sorted(d for r in rows for d in r["delays"])
        merged: dict[str, Any] = {"handler": who, "n": 1, "runs": ALONE_RUNS, "delays": delays}
        for key in (
            "elapsed_s",
            "correct",
            "exactly_once",
            "more_than_once",
            "unanswered",
            "failed_by_throttling",
            "read_calls",
            "read_throttled",
            "lambda_s",
            "lambda_gb_s",
            "invocations",
            "other_throttled",
        ):
            merged[key] = sum(r[key] for r in rows)
        merged["wrong"] = [w for r in rows for w in r["wrong"]]
        merged["delay_p50"] = statistics.median(delays) if delays else None
        merged["delay_p95"] = delays[min(len(delays) - 1, max(0, round(0.95 * len(delays)) - 1))] if delays else None
        merged["delay_max"] = delays[-1] if delays else None
        merged["read_mean_per_s"] = merged["read_calls"] / merged["elapsed_s"]
        merged["read_peak_per_s"] = max(r["read_peak_per_s"] for r in rows)
        merged["throttled_share"] = merged["read_throttled"] / merged["read_calls"] if merged["read_calls"] else 0.0
        return merged

    @staticmethod
    def world_tasks(world: harness.World, cluster: str) -> list[str]:
        with MOTO_LOCK:
            return world.agent.task_arns(cluster)

    def fire_rules(self, runners: list[Runner], server: Any, wall_started: float) -> None:
        """EventBridge for crhelper: each runner's rule target fires every 60 s until the runner answered."""
        import boto3
        from cfnkit.testing import FakeContext

        events = boto3.client("events")
        for runner in runners:
            runner.runs[0].join(30)
        targets: dict[str, dict[str, Any]] = {}
        rules = [r for page in events.get_paginator("list_rules").paginate() for r in page["Rules"]]  # 50 a page
        for rule in rules:
            for runner in runners:
                # crhelper names its rule after the logical id plus 8 random characters.
                if rule["Name"][:-8] == runner.name:
                    target = events.list_targets_by_rule(Rule=rule["Name"])["Targets"][0]
                    targets[runner.name] = json.loads(target["Input"])
        created = {r.name: r.runs[0].started for r in runners}
        fired = dict.fromkeys(targets, 0)
        end = wall_started + 200
        while time.time() < end:
            open_runners = [r for r in runners if r.name in targets and not harness.puts_for(server, r.name)]
            if not open_runners:
                break
            now = time.time()
            for runner in open_runners:
                due = created[runner.name] + CRHELPER_RATE_S * (fired[runner.name] + 1)
                if now >= due:
                    fired[runner.name] += 1
                    runner.runs.append(
                        harness.start(
                            runner.handler,
                            targets[runner.name],
                            FakeContext(300, function_name="bench-fn"),
                            f"{runner.name}-poll{fired[runner.name]}",
                        )
                    )
            time.sleep(0.05)

    def measure(
        self,
        who: str,
        n: int,
        runners: list[Runner],
        server: Any,
        agent: Agent,
        calls: list[tuple[float, str, bool]],
        started: float,
        elapsed: float,
    ) -> dict[str, Any]:
        arn_pattern = re.compile(r"arn:aws:ecs:[a-z0-9-]+:[0-9]+:task/[A-Za-z0-9_-]+/[0-9a-f-]+")
        delays: list[float] = []
        wrong: list[str] = []
        answers: list[int] = []
        throttle_failed = 0
        for runner in runners:
            puts = harness.puts_for(server, runner.name)
            answers.append(len(puts))
            if not puts:
                wrong.append(f"{runner.name}: no answer")
                continue
            body = puts[0].json()
            text = json.dumps(body)
            if "Throttl" in str(body.get("Reason", "")) or "Rate exceeded" in str(body.get("Reason", "")):
                throttle_failed += 1
            found = [a for a in arn_pattern.findall(text) if a in agent.tasks]
            if not found:
                wrong.append(f"{runner.name}: {body['Status']} naming no task ({str(body.get('Reason'))[:120]})")
                continue
            plan = agent.tasks[found[0]]
            expected = "SUCCESS" if plan.exit_code == 0 else "FAILED"
            if body["Status"] != expected:
                wrong.append(f"{runner.name}: {body['Status']}, expected {expected} ({str(body.get('Reason'))[:160]})")
                continue
            if plan.stopped is not None:
                delays.append(puts[0].at - plan.stopped)
        read = [(t, throttled) for t, op, throttled in calls if BUCKETS[op][0] == READ]
        per_second: dict[int, int] = defaultdict(int)
        for t, _ in read:
            per_second[int(t - started)] += 1
        lambda_s = sum((r.returned_after() or 0.0) for runner in runners for r in runner.runs)
        invocations = sum(len(runner.runs) for runner in runners)
        ordered = sorted(delays)

        def pct(p: float) -> float | None:
            if not ordered:
                return None
            return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]

        row = {
            "handler": who,
            "n": n,
            "elapsed_s": elapsed,
            "correct": n - len(wrong),
            "exactly_once": sum(1 for a in answers if a == 1),
            "more_than_once": sum(1 for a in answers if a > 1),
            "unanswered": sum(1 for a in answers if a == 0),
            "failed_by_throttling": throttle_failed,
            "wrong": wrong[:10],
            "delays": ordered,
            "delay_p50": statistics.median(ordered) if ordered else None,
            "delay_p95": pct(0.95),
            "delay_max": ordered[-1] if ordered else None,
            "read_calls": len(read),
            "read_throttled": sum(1 for _, t in read if t),
            "read_mean_per_s": len(read) / elapsed if elapsed else 0.0,
            "read_peak_per_s": max(per_second.values()) if per_second else 0,
            "read_throttled_by_op": {
                op: sum(1 for _, o, t in calls if t and o == op) for op in BUCKETS if BUCKETS[op][0] == READ
            },
            "read_throttled_by_10s": [
                sum(1 for t, op, th in calls if th and BUCKETS[op][0] == READ and k * 10 <= t - started < (k + 1) * 10)
                for k in range(10)
            ],
            "other_calls": {op: sum(1 for _, o, _t in calls if o == op) for op in BUCKETS if BUCKETS[op][0] != READ},
            "other_throttled": sum(1 for _, op, t in calls if t and BUCKETS[op][0] != READ),
            "lambda_s": lambda_s,
            "lambda_gb_s": lambda_s * LAMBDA_GB,
            "invocations": invocations,
        }
        row["throttled_share"] = row["read_throttled"] / row["read_calls"] if row["read_calls"] else 0.0
        log(
            f"{who} N={n}: correct {row['correct']}/{n}, once {row['exactly_once']}, "
            f"p50 {fmt(row['delay_p50'])} p95 {fmt(row['delay_p95'])} max {fmt(row['delay_max'])}, "
            f"reads {row['read_calls']} ({row['read_mean_per_s']:.1f}/s, peak {row['read_peak_per_s']}), "
            f"throttled {row['throttled_share']:.1%}, lambda {lambda_s:.0f} s"
            + (f"; wrong: {wrong[:3]}" if wrong else "")
        )
        return row

    def run(self) -> None:
        harness.aws_env()
        # The peers print every event and response body (cfnresponse does): keep them out of the report.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the whole run
        with harness.moto_world() as world:
            import boto3

            self.throttle.install()
            iam = boto3.client("iam")
            role = iam.create_role(
                RoleName="bench-scale",
                AssumeRolePolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                            }
                        ],
                    }
                ),
            )
            # crhelper adds a Lambda permission for its rule: the function must exist.
            boto3.client("lambda").create_function(
                FunctionName="bench-fn",
                Runtime="python3.13",
                Role=role["Role"]["Arn"],
                Handler="index.handler",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            )
            self.ecs_app = harness.load_app("ecs_task_runner", "bench_scale_ecs_app")
            for n in self.args.sizes:
                for who in self.args.handlers:
                    if n == 1 and who != OURS:
                        continue
                    log(f"{who}: {n} concurrent Creates")
                    if n == 1:
                        self.results["runs"].append(self.alone(world, who))
                    else:
                        self.results["runs"].append(self.one(world, who, n, seed=1000 + n))
                    RESULTS.write_text(json.dumps(self.results, indent=1))


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


# -- the page and the chart -------------------------------------------------------------------------


COLOURS = {OURS: "#1f77b4", DOC: "#ff7f0e", CRHELPER: "#2ca02c"}


def svg_chart(rows: list[Mapping[str, Any]]) -> str:
    """Report delay (p50 solid, p95 dashed) against N, one colour per handler, on a log scale (0.1-100 s).

    Log, because crhelper's half-minute delays would flatten the others' sub-second ones.
    """
    width, height, left, bottom, top, right = 640, 360, 60, 50, 30, 150
    sizes = sorted({int(r["n"]) for r in rows})
    import math

    low, high = -1.0, 2.0  # log10 of 0.1 s and 100 s

    def x(n: int) -> float:
        if len(sizes) == 1:
            return left + (width - left - right) / 2
        return left + (width - left - right) * (n - sizes[0]) / (sizes[-1] - sizes[0])

    def y(v: float) -> float:
        scaled = (math.log10(max(v, 0.1)) - low) / (high - low)
        return height - bottom - (height - bottom - top) * min(1.0, scaled)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18" font-size="14">Report delay against concurrent Creates (ECS throttled)</text>',
    ]
    for v in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g} s</text>')
    for n in sizes:
        out.append(f'<text x="{x(n):.1f}" y="{height - bottom + 18}" text-anchor="middle">{n}</text>')
    out.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle">'
        "N (concurrent Creates)</text>"
    )
    legend_y = top + 10
    for who in HANDLERS:
        mine = sorted((r for r in rows if r["handler"] == who and r.get("delay_p50") is not None), key=lambda r: r["n"])
        if not mine:
            continue
        colour = COLOURS[who]
        for key, dash in (("delay_p50", ""), ("delay_p95", ' stroke-dasharray="5,4"')):
            points = " ".join(f"{x(int(r['n'])):.1f},{y(float(r[key])):.1f}" for r in mine)
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            for r in mine:
                out.append(f'<circle cx="{x(int(r["n"])):.1f}" cy="{y(float(r[key])):.1f}" r="3" fill="{colour}"/>')
        out.append(
            f'<line x1="{width - right + 15}" x2="{width - right + 40}" y1="{legend_y}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<text x="{width - right + 45}" y="{legend_y + 4}">{who}</text>')
        legend_y += 20
    out.append(f'<text x="{width - right + 15}" y="{legend_y + 10}">solid: p50</text>')
    out.append(f'<text x="{width - right + 15}" y="{legend_y + 26}">dashed: p95</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def table(rows: list[Mapping[str, Any]]) -> str:
    def size(r: Mapping[str, Any]) -> str:
        return f"1 (x{r['runs']})" if r["n"] == 1 else str(r["n"])

    lines = [
        "| N | handler | correct | exactly once | FAILED by throttling | delay p50 | p95 | max | "
        "ECS reads/s mean | peak | throttled share | Lambda s (GB-s at 128 MB) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["n"], HANDLERS.index(r["handler"]))):
        lines.append(
            f"| {size(r)} | {r['handler']} | {r['correct']}/{r['n'] * r.get('runs', 1)} | "
            f"{r['exactly_once']}/{r['n'] * r.get('runs', 1)} | "
            f"{r['failed_by_throttling']} | {fmt(r['delay_p50'])} | {fmt(r['delay_p95'])} | {fmt(r['delay_max'])} | "
            f"{r['read_mean_per_s']:.1f} | {r['read_peak_per_s']} | {r['throttled_share']:.1%} | "
            f"{r['lambda_s']:.0f} ({r['lambda_gb_s']:.0f}) |"
        )
    return "\n".join(lines) + "\n"


def render(results: Mapping[str, Any]) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    rows = list(results["runs"])
    (DOCS / "scale.svg").write_text(svg_chart([r for r in rows if r["n"] > 1]))
    page = (DOCS / "scale.md").read_text() if (DOCS / "scale.md").exists() else ""
    start, end = "<!-- scale:start -->", "<!-- scale:end -->"
    machine = results.get("machine", {})
    block = (
        f"{start}\n_Measured {machine.get('date', '?')} on {machine.get('cpu', '?')}, Python "
        f"{machine.get('python', '?')}; `bench/scale.py`._\n\n{table(rows)}{end}"
    )
    if start in page and end in page:
        page = page[: page.index(start)] + block + page[page.index(end) + len(end) :]
    else:
        page = page + "\n" + block + "\n"
    (DOCS / "scale.md").write_text(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 25, 40, 50, 100])
    parser.add_argument("--handlers", nargs="+", default=list(HANDLERS), choices=HANDLERS)
    parser.add_argument("--render", action="store_true", help="measure nothing: re-render the docs from scale.json")
    parser.add_argument("--merge", action="store_true", help="keep rows of scale.json for sizes/handlers not run now")
    args = parser.parse_args()
    if args.render:
        render(json.loads(RESULTS.read_text()))
        return
    scale = Scale(args)
    if args.merge and RESULTS.exists():
        old = json.loads(RESULTS.read_text())["runs"]
        scale.results["runs"] = [r for r in old if not (r["n"] in args.sizes and r["handler"] in args.handlers)]
    scale.run()
    render(scale.results)


if __name__ == "__main__":
    main()
