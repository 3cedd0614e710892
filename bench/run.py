"""cfnkit against the tools users have today, side by side, in one run.

    .venv/bin/python bench/run.py            # everything (about 6-8 minutes)
    .venv/bin/python bench/run.py --quick    # fewer repetitions, for a smoke run
    .venv/bin/python bench/run.py --render   # no measuring: tables from bench/results/latest.json

Writes bench/results/latest.md and latest.json, and replaces the text between
`<!-- bench:start -->` and `<!-- bench:end -->` in docs/benchmarks.md (nothing else).
That page of the documentation site says what each table means.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, peers
from bench.harness import ROOT

OURS, DOC, CRHELPER = "cfnkit", "document (cfnresponse + tasks_stopped waiter)", "crhelper"
LAMBDA_TIMEOUT = 5.0
SLOW_FAULTS = ("http", "block", "refused", "stall")


def log(message: str) -> None:
    # sys.__stdout__: the document's secrets handler leaves sys.stdout set to a closed devnull.
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.__stdout__, flush=True)


def event(props: Mapping[str, Any], url: str, name: str) -> dict[str, Any]:
    from cfnkit.testing import create_event

    return create_event(
        props, response_url=url, logical_id=name, request_id=str(uuid.uuid4()), resource_type="Custom::Bench"
    )


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(20261126)
        self.results: dict[str, Any] = {"machine": harness.machine()}
        self.counter = harness.DescribeCounter()
        self.faults = harness.Faults()
        self.tmp = harness.temp_dir()
        cert, key = harness.make_certificate(self.tmp)
        # crhelper verifies the server with the default context: trust our certificate.
        os.environ["SSL_CERT_FILE"] = str(cert)
        self.cert, self.key = cert, key
        self._names = 0

    def name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    # -- participants --------------------------------------------------------------------

    def ours_ecs(self, invoker: Any = None) -> Callable[[Any, Any], None]:
        from cfnkit.testing import RecordingInvoker

        app = self.ecs_app
        chosen = invoker if invoker is not None else RecordingInvoker()

        def handler(event: Any, context: Any) -> None:
            # app.py's wiring, with the continuation seam the benchmark drives itself.
            app.CustomResource(app.EcsTaskRunner(), invoker=chosen)(event, context)

        return handler

    # -- 1. report delay -------------------------------------------------------------------

    def delay_one(self, world: harness.World, server: Any, who: str, cluster: str, offset: float) -> dict[str, Any]:
        from cfnkit.testing import FakeContext

        name = self.name("Delay")
        props = {"Cluster": cluster, "TaskDefinition": harness.FAMILY}
        handler = self.ours_ecs() if who == OURS else peers.load("doc_ecs_runner").handler
        known = set(world.agent.task_arns(cluster))
        run = harness.start(handler, event(props, server.url_for(name), name), FakeContext(300), name)
        arn = world.new_task(known, cluster)
        if arn is None:
            return {"who": who, "error": "no task started"}
        started = time.time()
        time.sleep(max(0.0, started + offset - time.time()))
        before = time.time()
        world.agent.stop(arn)
        stopped = (before + time.time()) / 2
        put = harness.wait_put(server, name, 30)
        run.join(5)
        if put is None:
            return {"who": who, "error": "no answer in 30 s"}
        waited = put.at - started
        calls = self.counter.calls.get(arn, 0)
        return {
            "who": who,
            "offset": offset,
            "delay": put.at - stopped,
            "describe_calls": calls,
            "waited": waited,
            "per_minute": calls / waited * 60,
            "status": put.json()["Status"],
        }

    def delay_continuation_one(self, world: harness.World, server: Any, cluster: str, offset: float) -> dict[str, Any]:
        from cfnkit.testing import FakeContext, RecordingInvoker

        name = self.name("Cont")
        props = {"Cluster": cluster, "TaskDefinition": harness.FAMILY}
        invoker = RecordingInvoker()
        handler = self.ours_ecs(invoker)
        known = set(world.agent.task_arns(cluster))
        timeout = 6.0
        run = harness.start(handler, event(props, server.url_for(name), name), FakeContext(timeout), name)
        arn = world.new_task(known, cluster)
        if arn is None:
            return {"error": "no task started"}
        started = time.time()
        stop_times: list[float] = []

        def stopper() -> None:
            time.sleep(max(0.0, started + offset - time.time()))
            before = time.time()
            world.agent.stop(arn)
            stop_times.append((before + time.time()) / 2)

        threading.Thread(target=stopper, daemon=True).start()
        hops = 0
        handoffs: list[float] = []
        end = time.time() + 40
        while time.time() < end:
            if harness.puts_for(server, name):
                break
            if run.join(0.002) and len(invoker.calls) > hops:
                # Lambda starts the continued invocation as soon as the async Invoke is accepted.
                handoffs.append(time.time())
                next_event = invoker.calls[hops][1]
                hops += 1
                run = harness.start(handler, next_event, FakeContext(timeout), f"{name}-hop{hops}")
        put = harness.wait_put(server, name, 1)
        if put is None or not stop_times:
            return {"error": "no answer in 40 s"}
        stopped = stop_times[0]
        return {
            "offset": offset,
            "delay": put.at - stopped,
            "hops": hops,
            "stopped_after_handoff": bool(handoffs and stopped >= handoffs[0]),
            "status": put.json()["Status"],
        }

    def report_delay(self, world: harness.World) -> None:
        from cfnkit.testing import ResponseServer

        runs = self.args.runs
        slots = 4
        log(f"report delay: {runs} pairs (cfnkit, document), {slots} at a time")
        rows: list[dict[str, Any]] = []
        with ResponseServer() as server:
            offsets = [self.rng.uniform(1.0, 7.0) for _ in range(runs)]
            for batch_start in range(0, runs, slots):
                threads = []
                for slot, i in enumerate(range(batch_start, min(runs, batch_start + slots))):
                    order = (OURS, DOC) if i % 2 == 0 else (DOC, OURS)
                    for p, who in enumerate(order):
                        cluster = world.clusters[2 * slot + p]

                        def work(who: str = who, cluster: str = cluster, offset: float = offsets[i]) -> None:
                            rows.append(self.delay_one(world, server, who, cluster, offset))

                        thread = threading.Thread(target=work, daemon=True)
                        thread.start()
                        threads.append(thread)
                for thread in threads:
                    thread.join(60)
            log(f"continuation: {runs} runs of cfnkit, 6 s Lambda timeout, stop around the hand-off")
            cont: list[dict[str, Any]] = []
            cont_offsets = [self.rng.uniform(3.0, 6.5) for _ in range(runs)]
            for batch_start in range(0, runs, slots * 2):
                threads = []
                for slot, i in enumerate(range(batch_start, min(runs, batch_start + slots * 2))):
                    cluster = world.clusters[slot]

                    def work_c(cluster: str = cluster, offset: float = cont_offsets[i]) -> None:
                        cont.append(self.delay_continuation_one(world, server, cluster, offset))

                    thread = threading.Thread(target=work_c, daemon=True)
                    thread.start()
                    threads.append(thread)
                for thread in threads:
                    thread.join(60)
        self.results["report_delay"] = {"short": rows, "continuation": cont}

    def crhelper_poll_probe(self, world: harness.World) -> None:
        """What crhelper's poll_create does in moto (one run; EventBridge emulated at its rate)."""
        import boto3
        from cfnkit.testing import FakeContext

        log("crhelper poll_create probe (EventBridge rule emulated at rate(1 minute))")
        iam = boto3.client("iam")
        role = iam.create_role(
            RoleName="bench-lambda",
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
        probe: dict[str, Any] = {}
        server = harness.TlsResponseServer(self.cert, self.key).start()
        try:
            name = self.name("CrPoll")
            cluster = world.clusters[0]
            props = {"Cluster": cluster, "TaskDefinition": harness.FAMILY}
            context = FakeContext(300)
            # Without the function in moto, AddPermission fails and crhelper answers FAILED at once.
            first = peers.load("crhelper_ecs")
            known = set(world.agent.task_arns(cluster))
            run = harness.start(first.handler, event(props, server.url_for(name), name), context, name)
            put = harness.wait_put(server, name, 10)
            run.join(5)
            probe["without_function"] = put.json().get("Reason") if put else "no answer in 10 s"
            for started in world.agent.task_arns(cluster):
                if started not in known:
                    world.agent.stop(started)
            boto3.client("lambda").create_function(
                FunctionName=context.function_name,
                Runtime="python3.13",
                Role=role["Role"]["Arn"],
                Handler="index.handler",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            )
            name = self.name("CrPoll")
            module = peers.load("crhelper_ecs")
            known = set(world.agent.task_arns(cluster))
            run = harness.start(module.handler, event(props, server.url_for(name), name), context, name)
            run.join(10)
            arn = world.new_task(known, cluster)
            events = boto3.client("events")
            rules = [r for r in events.list_rules()["Rules"] if r["Name"].startswith(name)]
            probe["rule"] = rules[0]["ScheduleExpression"] if rules else None
            probe["answered_before_poll"] = bool(harness.puts_for(server, name))
            if not rules or arn is None:
                probe["result"] = "no rule or no task"
                self.results["crhelper_poll"] = probe
                return
            created = time.time()
            offset = self.rng.uniform(1.0, 7.0)
            time.sleep(offset)
            world.agent.stop(arn)
            stopped = time.time()
            target = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"][0]
            fire_at = created + 60.0
            probe["fires_in_moto"] = False
            while time.time() < fire_at:
                if harness.puts_for(server, name):
                    probe["fires_in_moto"] = True
                    break
                time.sleep(0.05)
            harness.start(module.handler, json.loads(target["Input"]), FakeContext(300), f"{name}-poll")
            put = harness.wait_put(server, name, 15)
            probe["delay"] = None if put is None else put.at - stopped
            probe["status"] = None if put is None else put.json()["Status"]
            probe["rules_left"] = len([r for r in events.list_rules()["Rules"] if r["Name"].startswith(name)])
        finally:
            server.stop()
        self.results["crhelper_poll"] = probe

    def long_wait(self, world: harness.World) -> None:
        """DescribeTasks per minute of waiting, from one long task per handler (started together)."""
        from cfnkit.testing import ResponseServer

        seconds = 15.0 if self.args.quick else 60.0
        log(f"polling rate: one {seconds:.0f} s task each for cfnkit and the document, side by side")
        rows: list[dict[str, Any]] = []
        with ResponseServer() as server:
            threads = []
            for p, who in enumerate((OURS, DOC)):
                cluster = world.clusters[6 + p]

                def work(who: str = who, cluster: str = cluster) -> None:
                    rows.append(self.delay_one(world, server, who, cluster, seconds))

                thread = threading.Thread(target=work, daemon=True)
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join(seconds + 40)
        self.results["long_wait"] = rows

    def leaks(self, world: harness.World) -> None:
        """Does a secret value reach the function's output? (Lambda's root log handler emulated.)"""
        import logging
        import tempfile

        from cfnkit.testing import FakeContext, ResponseServer

        log("secret values in the output of each secrets handler")
        found: dict[str, Any] = {}
        plain = ResponseServer().start()
        tls = harness.TlsResponseServer(self.cert, self.key).start()
        # The Lambda Python runtime puts a handler on the root logger; what reaches it is in CloudWatch.
        root_handler = logging.StreamHandler(sys.stderr)
        logging.getLogger().addHandler(root_handler)
        try:
            for who in (OURS, DOC, CRHELPER):
                # One secret per handler: cfnkit's redactor masks every value it has seen in every log record
                # of the process, which would hide a peer's leak of the same value in this shared process.
                name = self.name("Leak")
                canary = f"canary-{uuid.uuid4().hex[:12]}"
                world.sm.create_secret(Name=f"bench/{name}", SecretString=json.dumps({"MYSQL_PASSWORD": canary}))
                server = tls if who == CRHELPER else plain
                handler = (
                    self.secrets_app.handler
                    if who == OURS
                    else peers.load("doc_secrets" if who == DOC else "crhelper_secrets").handler
                )
                with tempfile.TemporaryFile() as sink:
                    _flush()
                    saved = os.dup(1), os.dup(2)
                    os.dup2(sink.fileno(), 1)
                    os.dup2(sink.fileno(), 2)
                    try:
                        run = harness.start(
                            handler,
                            event({"SecretId": f"bench/{name}"}, server.url_for(name), name),
                            FakeContext(LAMBDA_TIMEOUT),
                            name,
                        )
                        harness.wait_put(server, name, 10)
                        run.join(10)
                        sys.stdout = sys.__stdout__
                        _flush()
                    finally:
                        os.dup2(saved[0], 1)
                        os.dup2(saved[1], 2)
                        os.close(saved[0])
                        os.close(saved[1])
                    sink.seek(0)
                    output = sink.read().decode(errors="replace")
                lines = [line for line in output.splitlines() if canary in line]
                excerpt = ""
                if lines:
                    at = lines[0].index(canary)
                    excerpt = ("…" if at > 60 else "") + lines[0][max(0, at - 60) : at + 60].replace(canary, "<SECRET>")
                found[who] = {"lines_with_secret": len(lines), "first": excerpt}
        finally:
            logging.getLogger().removeHandler(root_handler)
            plain.stop()
            tls.stop()
        self.results["leaks"] = found

    def client_cost(self) -> None:
        """What building the provider's boto3 client costs in a warm process (app.py does it per request)."""
        import boto3

        samples: dict[str, list[float]] = {"ecs": [], "secretsmanager": []}
        for _ in range(7):
            for service, times in samples.items():
                started = time.perf_counter()
                boto3.client(service)  # type: ignore[call-overload]
                times.append(time.perf_counter() - started)
        self.results["client_cost"] = samples

    # -- 2. time to FAILED -------------------------------------------------------------------

    def failed_scenarios(self, world: harness.World) -> None:
        from cfnkit.testing import FakeContext, ResponseServer

        reps = self.args.reps
        bound = LAMBDA_TIMEOUT + 5.0
        world.sm.create_secret(Name="bench/db", SecretString=json.dumps({"MYSQL_PASSWORD": "canary-bench-1"}))
        ecs_ok = {"Cluster": world.clusters[0], "TaskDefinition": harness.FAMILY}
        scenarios: list[tuple[str, str, dict[str, Any], str]] = [
            ("unknown cluster", "ecs", {"Cluster": "no-such-cluster", "TaskDefinition": harness.FAMILY}, ""),
            ("unknown secret", "secrets", {"SecretId": "bench/no-such-secret"}, ""),
            (
                "unknown secret, http:// ResponseURL for crhelper too",
                "secrets",
                {"SecretId": "bench/no-such-secret"},
                "http",
            ),
            ("invalid properties (no TaskDefinition)", "ecs", {"Cluster": world.clusters[0]}, ""),
            ("exception in the provider (RunTask raises)", "ecs", ecs_ok, "raise"),
            ("provider blocks until the Lambda deadline", "ecs", ecs_ok, "block"),
            ("ResponseURL refuses connections", "secrets", {"SecretId": "bench/db"}, "refused"),
            ("ResponseURL accepts but never answers", "secrets", {"SecretId": "bench/db"}, "stall"),
        ]
        table: list[dict[str, Any]] = []
        servers: dict[str, Any] = {}
        plain = ResponseServer().start()
        tls = harness.TlsResponseServer(self.cert, self.key).start()
        stall_plain = ResponseServer().start()
        stall_tls = harness.TlsResponseServer(self.cert, self.key).start()
        stall_plain.stall_next(10**6, 60)
        stall_tls.stall_next(10**6, 60)
        try:
            for title, kind, props, fault in scenarios:
                count = reps if fault in SLOW_FAULTS else reps + 2
                log(f"time to FAILED: {title} x{count}")
                for rep in range(count):
                    participants = [OURS, DOC, CRHELPER]
                    participants = participants[rep % 3 :] + participants[: rep % 3]
                    self.faults.raise_on_run_task = fault == "raise"
                    self.faults.block_on_run_task = fault == "block"
                    known = {c: set(world.agent.task_arns(c)) for c in world.clusters}
                    # Fast cases run one handler at a time (threads would compete for the GIL and time
                    # each other's work); the slow ones, which mostly wait, run side by side.
                    parallel = fault in SLOW_FAULTS
                    for group in [participants] if parallel else [[p] for p in participants]:
                        jobs = []
                        for who in group:
                            name = self.name("Fail")
                            server = tls if who == CRHELPER and fault != "http" else plain
                            if fault == "stall":
                                server = stall_tls if who == CRHELPER else stall_plain
                            url = server.url_for(name)
                            if fault == "refused":
                                url = harness.closed_port_url()
                                if who == CRHELPER:
                                    url = url.replace("http://", "https://", 1)
                            if kind == "ecs":
                                handler = (
                                    self.ecs_app.handler
                                    if who == OURS
                                    else peers.load("doc_ecs_runner" if who == DOC else "crhelper_ecs").handler
                                )
                            else:
                                handler = (
                                    self.secrets_app.handler
                                    if who == OURS
                                    else peers.load("doc_secrets" if who == DOC else "crhelper_secrets").handler
                                )
                            run = harness.start(handler, event(props, url, name), FakeContext(LAMBDA_TIMEOUT), name)
                            jobs.append((who, name, server, run))
                        end = time.time() + bound
                        outcome: dict[str, dict[str, Any]] = {}
                        while time.time() < end and len(outcome) < len(jobs):
                            for who, name, server, run in jobs:
                                if who in outcome:
                                    continue
                                found = harness.puts_for(server, name)
                                if fault in ("refused", "stall"):
                                    if run.returned_at:
                                        outcome[who] = {"returned": run.returned_after(), "answered": bool(found)}
                                elif found:
                                    body = found[0].json()
                                    outcome[who] = {
                                        "time": found[0].at - run.started,
                                        "status": body["Status"],
                                        "reason": body.get("Reason", ""),
                                        "physical_id": body.get("PhysicalResourceId", ""),
                                    }
                            time.sleep(0.005)
                        for who, name, server, _run in jobs:
                            row = outcome.get(who) or {"none": True}
                            if fault in ("refused", "stall") and "none" in row:
                                row = {"returned": None, "answered": False}
                            if "none" in row:
                                row["waited"] = bound
                            row.update(scenario=title, who=who, rep=rep, name=name)
                            table.append(row)
                            servers[name] = server
                    sys.stdout = sys.__stdout__  # undo the document's devnull swap (see log())
                    # Let blocked handlers go, stop what they started, so nothing leaks into the next case.
                    self.faults.block_on_run_task = False
                    self.faults.raise_on_run_task = False
                    self.faults.release.set()
                    time.sleep(0.2)
                    self.faults.release.clear()
                    for cluster, before in known.items():
                        for arn in world.agent.task_arns(cluster):
                            if arn not in before:
                                world.agent.stop(arn)
            # Count every answer each request got, late ones included (a timer and a handler may both send).
            time.sleep(1.0)
            for row in table:
                row["answers"] = len(harness.puts_for(servers.pop(row["name"]), row["name"]))
        finally:
            for srv in (plain, tls, stall_plain, stall_tls):
                srv.stop()
        self.results["time_to_failed"] = table

    # -- 3. cold start ---------------------------------------------------------------------

    def cold_start(self) -> None:
        runs = self.args.cold
        log(f"cold start: {runs} fresh interpreters per module, interleaved")
        env = dict(
            os.environ,
            AWS_DEFAULT_REGION=harness.REGION,
            AWS_REGION=harness.REGION,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            PYTHONDONTWRITEBYTECODE="1",
        )
        core = str(ROOT / "layers/core")
        peers_dir = str(ROOT / "bench/peers")

        def module_code(paths: list[str], file: Path, extra: str = "") -> str:
            return (
                "import sys, time\n"
                f"sys.path[:0] = {paths!r}\n"
                "t = time.perf_counter()\n"
                "import importlib.util\n"
                f"spec = importlib.util.spec_from_file_location('handler_module', {str(file)!r})\n"
                "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
                f"{extra}"
                "print(time.perf_counter() - t)\n"
            )

        cases = {
            "import boto3": "import time\nt = time.perf_counter()\nimport boto3\nprint(time.perf_counter() - t)\n",
            "import boto3 + one client": (
                "import time\nt = time.perf_counter()\nimport boto3\n"
                "boto3.client('ecs')\nprint(time.perf_counter() - t)\n"
            ),
            "cfnkit ecs_task_runner/app.py": module_code(
                [core, str(ROOT / "functions/ecs_task_runner")], ROOT / "functions/ecs_task_runner/app.py"
            ),
            "cfnkit secrets_resolver/app.py": module_code(
                [core, str(ROOT / "functions/secrets_resolver")], ROOT / "functions/secrets_resolver/app.py"
            ),
            "cfnkit ecs app.py + its boto3 client": module_code(
                [core, str(ROOT / "functions/ecs_task_runner")],
                ROOT / "functions/ecs_task_runner/app.py",
                "import ecs_runner\necs_runner.EcsTaskRunner().ecs\n",
            ),
            "document ECS runner": module_code([peers_dir], ROOT / "bench/peers/doc_ecs_runner.py"),
            "document secrets": module_code([peers_dir], ROOT / "bench/peers/doc_secrets.py"),
            "crhelper ECS runner": module_code([peers_dir], ROOT / "bench/peers/crhelper_ecs.py"),
            "crhelper secrets": module_code([peers_dir], ROOT / "bench/peers/crhelper_secrets.py"),
        }
        samples: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(runs):
            for label, code in cases.items():
                samples[label].append(harness.time_import(code, env))
        self.results["cold_start"] = samples

    # -- 4. sizes ------------------------------------------------------------------------------

    def sizes(self) -> None:
        log("artifact sizes: sam build")
        build_dir = self.tmp / "sam-build"
        note = ""
        sam = Path(sys.executable).parent / "sam"
        py313 = _python313_bin()
        built = False
        if sam.exists() and py313 is not None:
            env = dict(os.environ, SAM_CLI_TELEMETRY="0", PATH=f"{py313}{os.pathsep}{os.environ['PATH']}")
            result = subprocess.run(
                [str(sam), "build", "--template-file", str(ROOT / "template.yaml"), "--build-dir", str(build_dir)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            built = result.returncode == 0
            if not built:
                log("sam build failed: " + (result.stdout + result.stderr)[-800:])
                note = "sam build failed; sizes are of the source directories zipped as SAM would"
        else:
            note = "sam or python3.13 missing; sizes are of the source directories zipped as SAM would"
        artifacts: dict[str, dict[str, int]] = {}
        if built:
            for name in ("CoreLayer", "EcsTaskRunnerFunction", "SecretsResolverFunction"):
                artifacts[f"cfnkit {name}"] = _zip_size(build_dir / name)
        else:
            artifacts["cfnkit CoreLayer"] = _zip_size(ROOT / "layers/core", prefix="python/")
            artifacts["cfnkit EcsTaskRunnerFunction"] = _zip_size(ROOT / "functions/ecs_task_runner")
            artifacts["cfnkit SecretsResolverFunction"] = _zip_size(ROOT / "functions/secrets_resolver")
        artifacts["document ECS runner (inline ZipFile)"] = _zip_size(ROOT / "bench/peers", only={"doc_ecs_runner.py"})
        artifacts["document secrets (inline ZipFile)"] = _zip_size(ROOT / "bench/peers", only={"doc_secrets.py"})
        import crhelper

        crhelper_dir = Path(crhelper.__file__).parent
        for label, file in (
            ("crhelper ECS runner (handler + crhelper)", "crhelper_ecs.py"),
            ("crhelper secrets (handler + crhelper)", "crhelper_secrets.py"),
        ):
            own = _zip_size(ROOT / "bench/peers", only={file})
            lib = _zip_size(crhelper_dir, prefix="crhelper/")
            artifacts[label] = {k: own[k] + lib[k] for k in own}
        self.results["sizes"] = {"artifacts": artifacts, "note": note, "built_with_sam": built}
        shutil.rmtree(build_dir, ignore_errors=True)

    # -- driving ------------------------------------------------------------------------------

    def run(self) -> None:
        harness.aws_env()
        started = time.time()
        with harness.moto_world() as world:
            # After mock_aws started (it resets boto3's default session), before any client we time exists.
            self.counter.install()
            self.faults.install()
            self.ecs_app = harness.load_app("ecs_task_runner", "bench_ecs_app")
            self.secrets_app = harness.load_app("secrets_resolver", "bench_secrets_app")
            self.report_delay(world)
            self.failed_scenarios(world)
            self.leaks(world)
            # The long wait (polling rate) runs while crhelper's 60 s poll probe waits.
            long_wait = threading.Thread(target=self.long_wait, args=(world,), daemon=True)
            long_wait.start()
            if not self.args.quick:
                self.crhelper_poll_probe(world)
            long_wait.join(120)
            self.client_cost()
        self.cold_start()
        self.sizes()
        self.results["duration_s"] = time.time() - started
        log(f"done in {self.results['duration_s']:.0f} s")


def _flush() -> None:
    for stream in (sys.__stdout__, sys.__stderr__, sys.stderr):
        if stream is not None:
            stream.flush()


def _python313_bin() -> str | None:
    candidates: list[Path] = []
    on_path = shutil.which("python3.13")
    if on_path:
        candidates.append(Path(on_path).parent)
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        if root:
            candidates += sorted(Path(root).glob("versions/3.13*/bin"), reverse=True)
    for directory in candidates:
        probe = subprocess.run(
            [str(directory / "python3.13"), "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 13)":
            return str(directory)
    return None


def _zip_size(directory: Path, prefix: str = "", only: set[str] | None = None) -> dict[str, int]:
    import io

    buffer = io.BytesIO()
    unzipped = files = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            if only is not None and path.name not in only:
                continue
            unzipped += path.stat().st_size
            files += 1
            archive.write(path, prefix + str(path.relative_to(directory)))
    return {"files": files, "unzipped": unzipped, "zipped": len(buffer.getvalue())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run, not for the docs)")
    parser.add_argument(
        "--no-docs", "--no-readme", dest="no_docs", action="store_true", help="do not touch docs/benchmarks.md"
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="measure nothing: re-render latest.md and docs/benchmarks.md from latest.json",
    )
    args = parser.parse_args()
    if args.render:
        from bench import report

        results = json.loads((report.RESULTS / "latest.json").read_text())
        results.pop("cfnkit_slower", None)
        report.write(results, page=not args.no_docs)
        return
    args.runs = 4 if args.quick else 20
    args.reps = 1 if args.quick else 3
    args.cold = 3 if args.quick else 9
    bench = Bench(args)
    bench.run()
    from bench import report

    report.write(bench.results, page=not args.no_docs and not args.quick)


if __name__ == "__main__":
    main()
