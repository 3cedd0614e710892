"""An ECS agent for moto: decides when in-process moto ECS tasks stop, and how.

moto runs no containers: a task walks RUNNING -> ... -> STOPPED one step per
DescribeTasks call, reports a single container (the task definition's first) with
exit code 0, and never writes logs. EcsAgent takes that over, inside `mock_aws`:

    with mock_aws():
        agent = EcsAgent()          # region us-east-1, moto's default account
        agent.hold()                # tasks stay RUNNING until the agent stops them
        ...                         # run the task (RunTask through boto3)
        agent.stop(task_arn, exit_codes={"migrate": 1},
                   logs={"migrate": ["Applying todo.0001_initial...", "boom"]})
        ...
        agent.release()             # moto's own state progression again

stop() replaces the task's containers with one per container definition of its
task definition (name, essential order kept), sets each exit code (None: no exit
code, as when the image could not be pulled), the task's stopCode and
stoppedReason, and writes the given log lines to the container's awslogs stream
(`prefix/container/task-id`) in moto CloudWatch Logs. It works only with moto in
the same process (it edits moto's backend objects).

fargate_world() makes what a Fargate task needs in moto (a VPC and subnet, a cluster, a
task definition with one essential container) and returns the runner's properties for it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ContainerState", "EcsAgent", "fargate_world"]

MODEL_NAME = "ecs::task"
#: moto's default account id (what boto3 clients see inside mock_aws).
DEFAULT_ACCOUNT = "123456789012"


@dataclass
class ContainerState:
    """A container as DescribeTasks reports it (moto serializes these attributes)."""

    name: str
    container_arn: str
    task_arn: str
    image: str = ""
    last_status: str = "STOPPED"
    exit_code: int | None = 0
    reason: str | None = None
    cpu: str = "0"
    memory: str | None = None
    network_interfaces: list[dict[str, Any]] = field(default_factory=list)
    health_status: str = "UNKNOWN"


class EcsAgent:
    """Plays the ECS agent for in-process moto: stops tasks with chosen outcomes and writes their logs."""

    def __init__(self, region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT) -> None:
        self.region = region
        self.account_id = account_id

    @staticmethod
    def hold() -> None:
        """Keep every task RUNNING however often it is described, until stop() is called."""
        from moto.moto_api import state_manager

        state_manager.set_transition(model_name=MODEL_NAME, transition={"progression": "manual", "times": 10**9})

    @staticmethod
    def release() -> None:
        """Give task state progression back to moto (one step per DescribeTasks)."""
        from moto.moto_api import state_manager

        state_manager.unset_transition(MODEL_NAME)

    @property
    def backend(self) -> Any:
        from moto.ecs.models import ecs_backends

        return ecs_backends[self.account_id][self.region]

    def task_arns(self, cluster: str | None = None) -> list[str]:
        """Every task moto knows, optionally of one cluster (name or ARN), in start order."""
        name = cluster.rsplit("/", 1)[-1] if cluster else None
        # Copies: moto's server thread may add a task while we look.
        return [
            arn
            for cluster_name, tasks in list(self.backend.tasks.items())
            if name in (None, cluster_name)
            for arn in list(tasks)
        ]

    def task(self, task_arn: str) -> Any:
        """moto's Task object for an ARN or task id."""
        wanted = task_arn.rsplit("/", 1)[-1]
        for tasks in list(self.backend.tasks.values()):
            for arn, task in list(tasks.items()):
                if arn.rsplit("/", 1)[-1] == wanted:
                    return task
        raise KeyError(f"moto has no task {task_arn}")

    def stop(
        self,
        task_arn: str,
        exit_codes: Mapping[str, int | None] | None = None,
        *,
        stop_code: str = "EssentialContainerExited",
        stopped_reason: str = "Essential container in task exited",
        reasons: Mapping[str, str] | None = None,
        logs: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Stop a task the way ECS reports it.

        exit_codes: per container name (missing names exit 0; None means no exit code);
        reasons: per container reason (e.g. "CannotPullContainerError: ...");
        logs: per container lines written to its awslogs stream before the task stops.
        """
        task = self.task(task_arn)
        definition = self.backend.describe_task_definition(task.task_definition_arn)
        codes = dict(exit_codes or {})
        notes = dict(reasons or {})
        for name, lines in (logs or {}).items():
            self.write_logs(definition, name, task.task_arn, lines)
        task.containers = [
            ContainerState(
                name=str(spec["name"]),
                container_arn=f"{task.task_arn.replace(':task/', ':container/')}/{spec['name']}",
                task_arn=task.task_arn,
                image=str(spec.get("image", "")),
                exit_code=codes.get(str(spec["name"]), 0),
                reason=notes.get(str(spec["name"])),
                memory=str(spec["memory"]) if spec.get("memory") is not None else None,
            )
            for spec in definition.container_definitions
        ]
        task.stop_code = stop_code
        task.stopped_reason = stopped_reason
        task.desired_status = "STOPPED"
        task.last_status = "STOPPED"

    def write_logs(self, definition: Any, container: str, task_arn: str, lines: Sequence[str]) -> str:
        """Write lines to the container's awslogs stream in moto's Logs backend; returns the stream name.

        The backend is written directly (no API call), so this never reaches real AWS
        whatever the process's credentials or endpoint settings are.
        """
        from moto.logs.models import logs_backends

        spec = next(c for c in definition.container_definitions if c["name"] == container)
        options = (spec.get("logConfiguration") or {}).get("options") or {}
        group = options["awslogs-group"]
        stream = f"{options['awslogs-stream-prefix']}/{container}/{task_arn.rsplit('/', 1)[-1]}"
        backend = logs_backends[self.account_id][options.get("awslogs-region") or self.region]
        if group not in backend.groups:
            backend.create_log_group(group, tags={})
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        if lines:
            start = int(time.time() * 1000)
            backend.put_log_events(
                group, stream, [{"timestamp": start + i, "message": line} for i, line in enumerate(lines)]
            )
        return stream


def fargate_world(region: str, cluster: str, family: str = "migrate") -> dict[str, Any]:
    """A cluster and a Fargate task definition `family` (container `migrate`) in moto, inside
    mock_aws; the Custom::EcsTask properties that run it (add Timeout and the like)."""
    import boto3

    ecs = boto3.client("ecs", region_name=region)
    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's awsvpc tasks need it
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",  # moto's Fargate needs each container's memory too
        containerDefinitions=[{"name": "migrate", "image": "todobackend", "memory": 256, "essential": True}],
    )
    return {
        "Cluster": cluster,
        "TaskDefinition": family,
        "LaunchType": "FARGATE",
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": [subnet], "SecurityGroups": []}},
    }
