"""`cfnkit invoke`: one request through a function of a SAM template, locally."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from .agent_player import AgentPlayer, AgentScript
from .awsenv import MotoAws, RealAws, load_fixture
from .cfn_yaml import TemplateError
from .functions import read_function
from .local import Invocation, LocalLambda, Progress, masked


def read_event(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        event = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        raise TemplateError(f"cannot read event {path}: {exc}") from exc
    if not isinstance(event, dict):
        raise TemplateError(f"event {path} must be a JSON object")
    return event


def format_response(body: Mapping[str, Any] | None, show_secrets: bool = False) -> list[str]:
    """The response CloudFormation would receive, as aligned lines (NoEcho values masked)."""
    if body is None:
        return ["CloudFormation received no response (the stack would wait until ServiceTimeout)."]
    doc = masked(body, show_secrets)
    data = doc.get("Data") or {}
    lines = [
        "CloudFormation received:",
        f"  Status              {doc.get('Status')}",
        f"  Reason              {doc.get('Reason') or '-'}",
        f"  PhysicalResourceId  {doc.get('PhysicalResourceId')}",
        f"  NoEcho              {'true' if doc.get('NoEcho') else 'false'}"
        + (" (values masked; --show-secrets shows them)" if doc.get("NoEcho") and data and not show_secrets else ""),
    ]
    if isinstance(data, Mapping) and data:
        lines.append("  Data")
        width = max(len(str(k)) for k in data)
        lines.extend(f"    {str(key).ljust(width)}  {value}" for key, value in data.items())
    else:
        lines.append("  Data                -")
    return lines


def format_hop(progress: Progress) -> str:
    return f"  [{progress.elapsed:6.1f}s] invocation {progress.hop + 1}: {progress.detail}"


def run_invoke(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    spec = read_function(args.template, args.function)
    event = read_event(args.event)
    if args.timeout is not None and args.timeout <= 0:
        raise TemplateError("--timeout must be a positive number of seconds")
    fixture = load_fixture(args.fixture)
    if args.aws and fixture:
        raise TemplateError("--fixture seeds the embedded moto; it cannot be used with --aws")
    for note in spec.notes:
        print(f"note: {note}", file=err)

    def on_progress(progress: Progress) -> None:
        if progress.kind == "log":
            if not args.quiet:
                print(progress.detail, file=err, flush=True)
        elif progress.kind == "hop-end":
            print(format_hop(progress), file=out, flush=True)

    def say(text: str) -> None:
        print(f"  {text}", file=out, flush=True)

    aws: MotoAws | RealAws = RealAws() if args.aws else MotoAws(fixture)
    with contextlib.ExitStack() as stack:
        stack.enter_context(aws)
        runner = LocalLambda(spec, aws, timeout=args.timeout, on_progress=on_progress)
        print(
            f"{event.get('RequestType', '?')} {event.get('LogicalResourceId', '?')} -> {spec.logical_id} "
            f"({spec.handler} in {spec.code_dir.name}/, timeout {runner.timeout:g} s, {spec.memory_mb} MB) "
            f"on {aws.description}",
            file=out, flush=True,
        )
        if isinstance(aws, MotoAws) and fixture.get("ecs_agent"):
            stack.enter_context(aws.in_this_process())
            say("ECS agent (emulated): moto runs no containers; tasks stop as the fixture's ecs_agent says")
            stack.enter_context(AgentPlayer(say, script=AgentScript.from_fixture(fixture["ecs_agent"])))
        result: Invocation = runner.invoke(event)
    if args.json:
        body = result.response
        out.write(json.dumps(masked(body, args.show_secrets) if body else None, indent=2) + "\n")
    else:
        for line in format_response(result.response, args.show_secrets):
            print(line, file=out)
        if len(result.responses) > 1:
            print(f"warning: {len(result.responses)} responses were sent for one request; the last is shown",
                  file=out)
    return result.exit_code
