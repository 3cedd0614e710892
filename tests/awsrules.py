"""Rules real ECS enforces and moto does not: a wrapper installed on a moto-backed client.

`EcsRules(client)` registers botocore event handlers on one ECS client, so the code under
test talks to moto exactly as before, except where AWS documents behaviour moto lacks:

- ListTasks: "When you specify startedBy as the filter, it must be the only filter that
  you use." (botocore ecs/2014-11-13 service-2.json, ListTasksRequest.startedBy). moto
  accepts any combination; here a combination is an InvalidParameterException.
- ListTasks without desiredStatus lists only tasks whose desired status is RUNNING: "The
  default status filter is RUNNING" (same model, ListTasksRequest.desiredStatus). moto
  lists every task; here the default is applied.
- RunTask's clientToken makes the call idempotent, per cluster, for 24 hours: the same
  token with the same parameters answers with the tasks it started the first time; the
  same token with other parameters is a ConflictException whose resourceIds "are the
  existing task ARNs which are already associated with the clientToken" (same model,
  RunTask documentation and ConflictException.resourceIds; ECS API reference, "Ensuring
  idempotency"). moto ignores the token and starts new tasks every time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError

#: ListTasks parameters that count as filters besides startedBy (`cluster` is a scope, not a filter).
LIST_TASKS_FILTERS = ("containerInstance", "family", "serviceName", "desiredStatus", "launchType")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _reply(status: int, body: dict[str, Any]) -> AWSResponse:
    headers = HTTPHeaders()
    headers["x-amzn-RequestId"] = "ecs-rules"
    headers["Content-Type"] = "application/x-amz-json-1.1"
    return AWSResponse("https://ecs-rules.invalid/", status, headers, _Raw(json.dumps(body).encode()))


@dataclass
class EcsRules:
    """ECS's server-side memory of clientTokens, shared by every client it is installed on.

    `rules.install(client)` for each moto-backed ECS client; `run_task_calls` counts the
    RunTask calls that reached moto (a replayed or conflicting token does not).
    """

    tokens: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    run_task_calls: int = 0
    conflicts: int = 0
    idempotent_replies: int = 0
    _pending: threading.local = field(default_factory=threading.local)

    def install(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-parameter-build.ecs.ListTasks", self._list_tasks)
        # register_first: before moto's own before-send, so a replayed answer never reaches moto.
        events.register_first("before-send.ecs.RunTask", self._run_task)
        events.register("after-call.ecs.RunTask", self._remember)
        return client

    def _list_tasks(self, params: dict[str, Any], **_: Any) -> None:
        others = [name for name in LIST_TASKS_FILTERS if params.get(name) is not None]
        if params.get("startedBy") is not None and others:
            raise ClientError(
                {
                    "Error": {
                        "Code": "InvalidParameterException",
                        "Message": "startedBy must be the only filter (also given: " + ", ".join(others) + ")",
                    }
                },
                "ListTasks",
            )
        params.setdefault("desiredStatus", "RUNNING")

    @staticmethod
    def _key(body: dict[str, Any]) -> tuple[str, str] | None:
        token = body.get("clientToken")
        if not token:
            return None
        cluster = str(body.get("cluster") or "default").rsplit("/", 1)[-1]
        return cluster, str(token)

    def _run_task(self, request: Any, **_: Any) -> AWSResponse | None:
        body = json.loads(request.body or b"{}")
        key = self._key(body)
        self._pending.body = body  # before-send sees no context; calls on one thread are sequential
        if key is None or key not in self.tokens:
            self.run_task_calls += 1
            return None
        first, reply = self.tokens[key]
        request.url = "https://ecs-rules.invalid/"  # keeps moto from also running the call
        same = {k: v for k, v in body.items() if k != "clientToken"} == first
        if same:
            self.idempotent_replies += 1
            return _reply(200, reply)
        self.conflicts += 1
        arns = [task["taskArn"] for task in reply.get("tasks", [])]
        return _reply(
            400,
            {
                "__type": "ConflictException",
                "resourceIds": arns,
                "message": "The specified clientToken is already in use with a different request.",
            },
        )

    def _remember(self, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        body = getattr(self._pending, "body", None) or {}
        self._pending.body = None
        key = self._key(body)
        if key is None or key in self.tokens or http_response.status_code != 200:
            return
        reply = {
            "tasks": [{"taskArn": t["taskArn"]} for t in parsed.get("tasks", [])],
            "failures": list(parsed.get("failures", [])),
        }
        self.tokens[key] = ({k: v for k, v in body.items() if k != "clientToken"}, reply)
