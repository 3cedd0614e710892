"""A provider in twenty lines, answering a real local ResponseURL.

Run: python examples/hello/run.py   (stdlib only: works with any Python 3.11+)
It drives one Create, one Update and one Delete through the real HTTP sender to a
local server standing in for CloudFormation's presigned S3 URL, and prints what
CloudFormation would receive. Exit status 0 when every answer is as expected.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "core"))

from cfnkit import CustomResource, Field, InProgress, Integer, Provider, Request, Result, Schema, State, String
from cfnkit.testing import FakeContext, ResponseServer, create_event, delete_event, update_event


class Greeter(Provider):
    """Greets someone after `Steps` polls (to show the waiter)."""

    schema = Schema(
        Name=Field(String(min_length=1), required=True),
        Steps=Field(Integer(minimum=0, maximum=5), default=2),
    )

    def create(self, request: Request) -> InProgress:
        return InProgress({"step": 0}, interval=0.2)

    def poll(self, request: Request, state: State) -> Result | InProgress:
        if state["step"] < request.properties["Steps"]:
            return InProgress({"step": state["step"] + 1}, interval=0.2)
        return Result(data={"Greeting": f"hello, {request.properties['Name']}"})


def main() -> int:
    handler = CustomResource(Greeter(), log_level="WARNING")
    expected = []
    with ResponseServer() as server:
        steps = [
            ("Create", create_event({"Name": "world", "Steps": "2"}, response_url=server.url), "SUCCESS"),
            ("Create (bad)", create_event({"Nmae": "world"}, response_url=server.url), "FAILED"),
        ]
        for label, event, want in steps:
            handler(event, FakeContext(timeout=30))
            expected.append((label, want))
        first_id = server.wait_for(1)[0].json()["PhysicalResourceId"]
        for label, event, want in [
            (
                "Update",
                update_event({"Name": "cfnkit"}, {"Name": "world"}, first_id, response_url=server.url),
                "SUCCESS",
            ),
            ("Delete", delete_event({"Name": "cfnkit"}, first_id, response_url=server.url), "SUCCESS"),
        ]:
            handler(event, FakeContext(timeout=30))
            expected.append((label, want))
        bodies = [put.json() for put in server.wait_for(len(expected))]
    ok = True
    for (label, want), body in zip(expected, bodies, strict=True):
        mark = "ok " if body["Status"] == want else "BAD"
        ok &= body["Status"] == want
        detail = body.get("Data") or body["Reason"]
        print(f"{mark} {label:<13} {body['Status']:<8} {body['PhysicalResourceId']:<45} {detail}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
