"""The benchmark's world: moto ECS/Secrets Manager in-process, response servers, bounded runs.

Everything here is for bench/run.py; nothing talks to anything but moto (in-process)
and 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import platform
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
CLUSTER = "bench"
FAMILY = "migrate"

for _path in (ROOT / "layers/core", ROOT / "tools", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from cfnkit.testing import ResponseServer  # noqa: E402


def aws_env() -> None:
    """moto credentials and region (crhelper reads AWS_REGION)."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "uname": " ".join(platform.uname()[:3]) + " " + platform.machine(),
        "cpu": f"{cpu} ({os.cpu_count()} CPUs)",
        "python": platform.python_version(),
    }


def load_app(function_dir: str, name: str) -> types.ModuleType:
    """A function's app.py under a unique module name, its directory on sys.path (as in Lambda)."""
    directory = ROOT / "functions" / function_dir
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    spec = importlib.util.spec_from_file_location(name, directory / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- servers --------------------------------------------------------------------------


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (crhelper only speaks HTTPS)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class TlsResponseServer(ResponseServer):
    """cfnkit.testing.ResponseServer behind TLS: the stand-in for S3's https:// presigned URL."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        httpd = self._httpd
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)

        original = httpd.finish_request

        def finish_request(request: Any, client_address: Any) -> None:
            try:
                request.settimeout(10)
                request.do_handshake()
            except (OSError, ssl.SSLError):
                return
            original(request, client_address)

        httpd.finish_request = finish_request  # type: ignore[method-assign]

    def url_for(self, name: str = "response") -> str:
        return super().url_for(name).replace("http://", "https://", 1)


def closed_port_url() -> str:
    """A ResponseURL on a port nobody listens on (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/response?X-Amz-Signature=0123456789abcdef"


def puts_for(server: ResponseServer, name: str) -> list[Any]:
    return [p for p in list(server.puts) if p.path.startswith(f"/{name}?")]


def wait_put(server: ResponseServer, name: str, timeout: float) -> Any | None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = puts_for(server, name)
        if found:
            return found[0]
        time.sleep(0.005)
    return None


# -- bounded runs ------------------------------------------------------------------------


@dataclass
class Run:
    """A handler call in a daemon thread that can be abandoned."""

    thread: threading.Thread
    started: float
    returned_at: list[float] = field(default_factory=list)
    error: list[BaseException] = field(default_factory=list)

    def returned_after(self) -> float | None:
        return self.returned_at[0] - self.started if self.returned_at else None

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()


def start(handler: Callable[[Any, Any], Any], event: Mapping[str, Any], context: Any, name: str = "run") -> Run:
    run = Run(thread=threading.Thread(daemon=True, name=name), started=time.time())

    def target() -> None:
        try:
            handler(dict(event), context)
        except BaseException as exc:
            run.error.append(exc)
        finally:
            run.returned_at.append(time.time())

    run.thread = threading.Thread(target=target, daemon=True, name=name)
    run.started = time.time()
    run.thread.start()
    return run


# -- moto world ----------------------------------------------------------------------------


class DescribeCounter:
    """Counts DescribeTasks calls per task ARN, whoever's client makes them.

    Registered on boto3's default session before any client exists, so every client
    created later (ours lazily, the peers at import) carries the hook.
    """

    def __init__(self) -> None:
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def install(self) -> None:
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-parameter-build.ecs.DescribeTasks", self._hook)

    def _hook(self, params: Mapping[str, Any], **_: Any) -> None:
        with self._lock:
            for arn in params.get("tasks", []):
                self.calls[str(arn)] += 1


class Faults:
    """Process-wide fault switches on RunTask (boto3 default-session hooks)."""

    def __init__(self) -> None:
        self.raise_on_run_task = False
        self.block_on_run_task = False
        self.release = threading.Event()

    def install(self) -> None:
        import boto3

        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call.ecs.RunTask", self._hook)

    def _hook(self, **_: Any) -> None:
        if self.block_on_run_task:
            self.release.wait(120)
        if self.raise_on_run_task:
            raise RuntimeError("injected fault: the ECS call raised")


class World:
    """moto's ECS cluster (EC2 launch type, container instances), a task definition, secrets."""

    def __init__(self) -> None:
        import boto3
        from cfnkit_tools.ecs_agent import EcsAgent

        self.ecs = boto3.client("ecs", region_name=REGION)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.sm = boto3.client("secretsmanager", region_name=REGION)
        #: One cluster per concurrent run, so a run finds its task by cluster.
        self.clusters = [f"{CLUSTER}{i}" for i in range(8)]
        for cluster in self.clusters:
            self.ecs.create_cluster(clusterName=cluster)
            instance = self.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
            identity = json.dumps(
                {
                    "instanceId": instance["InstanceId"],
                    "region": REGION,
                    "availabilityZone": f"{REGION}a",
                    "instanceType": "t3.large",
                }
            )
            self.ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=identity)
        # A tiny memory reservation: moto does not give it back when the agent stops a task.
        self.ecs.register_task_definition(
            family=FAMILY,
            containerDefinitions=[{"name": "migrate", "image": "todobackend", "memory": 4, "essential": True}],
        )
        self.agent = EcsAgent(REGION)
        self.agent.hold()

    def new_task(self, known: set[str], cluster: str, timeout: float = 10.0) -> str | None:
        """The first task ARN of cluster not in known, waiting for it to be started."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for arn in self.agent.task_arns(cluster):
                if arn not in known:
                    known.add(arn)
                    return arn
            time.sleep(0.005)
        return None


@contextmanager
def moto_world() -> Iterator[World]:
    from moto import mock_aws

    with mock_aws():
        world = World()
        try:
            yield world
        finally:
            world.agent.release()


# -- subprocess timing -------------------------------------------------------------------


def time_import(code: str, env: Mapping[str, str]) -> float:
    """Seconds measured inside a fresh interpreter by `code` (which prints them)."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(env), timeout=60, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return float(result.stdout.strip().splitlines()[-1])


def temp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="cfnkit-bench-"))
