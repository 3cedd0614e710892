"""`cfnkit invoke`: one request through a function of a SAM template, locally."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from .agent_player import AgentPlayer, AgentScript
from .awsenv import MotoAws, RealAws, load_fixture
from .cfn_yaml import TemplateError
from .functions import FunctionSpec, read_function
from .local import Invocation, LocalLambda, Progress, masked
from .term import Term


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
    """The response CloudFormation would receive, as aligned plain lines (NoEcho values masked)."""
    if body is None:
        return ["CloudFormation received no response (the stack would wait until ServiceTimeout)."]
    rows = response_rows(body, show_secrets)
    lines = ["CloudFormation received:", *(f"  {name.ljust(18)}  {value}" for name, value in rows)]
    data = masked(body, show_secrets).get("Data") or {}
    if isinstance(data, Mapping) and data:
        lines.append("  Data")
        width = max(len(str(k)) for k in data)
        lines.extend(f"    {str(key).ljust(width)}  {value}" for key, value in data.items())
    else:
        lines.append("  Data                -")
    return lines


def response_rows(body: Mapping[str, Any], show_secrets: bool = False) -> list[tuple[str, str]]:
    """(field, value) rows of the response CloudFormation would receive (NoEcho values masked)."""
    doc = masked(body, show_secrets)
    data = doc.get("Data") or {}
    hidden = doc.get("NoEcho") and data and not show_secrets
    masked_note = " (values masked; --show-secrets shows them)" if hidden else ""
    return [
        ("Status", str(doc.get("Status"))),
        ("Reason", str(doc.get("Reason") or "-")),
        ("PhysicalResourceId", str(doc.get("PhysicalResourceId"))),
        ("NoEcho", ("true" if doc.get("NoEcho") else "false") + masked_note),
    ]


def format_hop(progress: Progress) -> str:
    return f"  [{progress.elapsed:6.1f}s] invocation {progress.hop + 1}: {progress.detail}"


_PLACEHOLDER = re.compile(r"<(?:import:)?[A-Za-z][\w:.\-]*>")


def placeholders_in(event: Mapping[str, Any]) -> list[str]:
    """Placeholders `cfnkit event` left for values only a deploy knows (<MigrateTaskDefinition>)."""
    found: list[str] = []
    for match in _PLACEHOLDER.finditer(json.dumps(event.get("ResourceProperties") or {})):
        if match.group(0) not in found:
            found.append(match.group(0))
    return found


def event_subnets(event: Mapping[str, Any]) -> list[str]:
    """The awsvpc subnets an ECS task runner event names."""
    props = event.get("ResourceProperties") or {}
    network = props.get("NetworkConfiguration") if isinstance(props, Mapping) else None
    awsvpc = network.get("AwsvpcConfiguration") if isinstance(network, Mapping) else None
    subnets = awsvpc.get("Subnets") if isinstance(awsvpc, Mapping) else None
    return [str(s) for s in subnets] if isinstance(subnets, list) else []


def _task_definition(event: Mapping[str, Any]) -> str:
    props = event.get("ResourceProperties") or {}
    return str(props.get("TaskDefinition") or "") if isinstance(props, Mapping) else ""


def subnet_advice(missing: list[str], known: list[str]) -> str:
    return (
        f"moto has no subnet {', '.join(missing)}, so RunTask fails locally with InvalidSubnetID.NotFound; "
        f"use moto's default subnets instead: cfnkit event ... -p Subnets={','.join(known[:2])} "
        "(or edit NetworkConfiguration.AwsvpcConfiguration.Subnets in the event)"
    )


class _Live:
    """What the live status line shows: elapsed time, invocation number, the function's last step."""

    def __init__(self, term: Term) -> None:
        self.term = term
        self.started = time.monotonic()
        self.hop = 1
        self.activity = "starting"
        self._done = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True, name="cfnkit-progress")

    def __enter__(self) -> _Live:
        if self.term.tty:
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._ticker.is_alive():
            self._ticker.join()

    def _tick(self) -> None:
        while not self._done.wait(0.25):
            self.refresh()

    def refresh(self) -> None:
        self.term.status(f"{time.monotonic() - self.started:5.1f} s  invocation {self.hop}  {self.activity}")

    def saw_log(self, line: str) -> None:
        activity = activity_of(line)
        if activity:
            self.activity = activity


def activity_of(line: str) -> str | None:
    """A short 'what the function is doing' from one of its JSON log lines (None for other lines)."""
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("message"), str):
        return None
    message = doc["message"]
    if message == "RunTask answered" and doc.get("started"):
        return "task " + ", ".join(str(a).rsplit("/", 1)[-1][:8] for a in doc["started"]) + " started; waiting"
    if message == "task stopped" and doc.get("task"):
        codes = doc.get("exit_codes") or {}
        exits = ", ".join(f"{k} {v}" for k, v in codes.items()) if isinstance(codes, dict) else ""
        return f"task {str(doc['task']).rsplit('/', 1)[-1][:8]} STOPPED" + (f" (exit codes {exits})" if exits else "")
    return str(message)


def check_template(path: str) -> None:
    if not Path(path).is_file():
        where = f"in {Path.cwd()}" if not Path(path).is_absolute() else ""
        raise TemplateError(
            f"cannot read template {path}: no such file {where}".rstrip()
            + "; run cfnkit in the folder holding your SAM template, or pass --template PATH "
            "(cfnkit's own is template.yaml at the repository's root)"
        )


def run_invoke(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    check_template(args.template)
    spec = read_function(args.template, args.function)
    event = read_event(args.event)
    if args.timeout is not None and args.timeout <= 0:
        raise TemplateError("--timeout must be a positive number of seconds")
    fixture = load_fixture(args.fixture)
    if args.aws and fixture:
        raise TemplateError("--fixture seeds the embedded moto; it cannot be used with --aws")
    return _Invoke(args, out, err).run(spec, event, fixture)


class _Invoke:
    """One `cfnkit invoke`: what goes where (stdout, stderr, the live line) and what to say."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.warn = Term(err)
        # --json: stdout holds exactly one JSON document, so everything for humans goes to stderr.
        self.human = self.warn if args.json else Term(out)
        # One terminal for both: logs print above the live line, never through it.
        self.logs = self.human if self.human.tty and self.warn.tty else self.warn
        self.chatty = not args.quiet
        self.live = _Live(self.human)
        self.hints: list[str] = []

    def note(self, text: str) -> None:
        if self.chatty:
            self.warn.print(("note: ", "note"), text)

    def warning(self, text: str) -> None:
        self.warn.print(("warning: ", "warning"), text)

    def hint(self, text: str) -> None:
        self.warn.print(("hint: ", "note"), text)

    def say(self, text: str) -> None:
        if self.chatty:
            self.human.print("  ", (text, "dim"))

    def on_progress(self, progress: Progress) -> None:
        if progress.kind == "log":
            self.live.saw_log(progress.detail)
            if self.args.logs:
                self.logs.print(("  | " + progress.detail, "dim"))
        elif progress.kind == "hop-start":
            self.live.hop = progress.hop + 1
            self.live.activity = "running"
        elif progress.kind == "hop-end" and self.chatty:
            self.human.print(format_hop(progress))

    def preflight(self, event: Mapping[str, Any], aws: MotoAws | RealAws) -> None:
        """Warn up front about what will surely fail: placeholders, subnets moto does not have."""
        placeholders = placeholders_in(event)
        if placeholders:
            name = placeholders[0].strip("<>").removeprefix("import:")
            self.warning(
                f"the event still holds placeholders for values only a deploy knows: "
                f"{', '.join(placeholders)}; the provider sees them as they are. Set them when making "
                f"the event (cfnkit event ... -p {name}=VALUE) or edit the event."
            )
            return
        subnets = event_subnets(event)
        if isinstance(aws, MotoAws) and subnets and aws.network_mode(_task_definition(event)) == "awsvpc":
            known = aws.subnets()
            missing = [s for s in subnets if s not in known]
            if missing:
                self.warning(subnet_advice(missing, known))
                self.hints.append(subnet_advice(missing, known))

    def run(self, spec: FunctionSpec, event: Mapping[str, Any], fixture: Mapping[str, Any]) -> int:
        args = self.args
        for text in spec.notes:
            self.note(text)
        aws: MotoAws | RealAws = RealAws() if args.aws else MotoAws(fixture)
        with contextlib.ExitStack() as stack:
            stack.enter_context(aws)
            runner = LocalLambda(spec, aws, timeout=args.timeout, on_progress=self.on_progress)
            if self.chatty:
                self.human.print(
                    (f"{event.get('RequestType', '?')} {event.get('LogicalResourceId', '?')}", "heading"),
                    f" -> {spec.logical_id} ({spec.handler} in {spec.code_dir.name}/, timeout {runner.timeout:g} s, "
                    f"{spec.memory_mb} MB) on {aws.description}",
                )
            self.preflight(event, aws)
            if isinstance(aws, MotoAws) and fixture.get("ecs_agent"):
                stack.enter_context(aws.in_this_process())
                notice = "ECS agent (emulated): moto runs no containers; tasks stop as the fixture's ecs_agent says"
                stack.enter_context(
                    AgentPlayer(_first_saying(self.say, notice), script=AgentScript.from_fixture(fixture["ecs_agent"]))
                )
            stack.enter_context(self.human.live("invocation 1  starting"))
            stack.enter_context(self.live)
            result: Invocation = runner.invoke(event)
        body = result.response
        if args.json:
            self.out.write(json.dumps(masked(body, args.show_secrets) if body else None, indent=2) + "\n")
        else:
            print_response(self.human, body, args.show_secrets)
        self.afterwards(result)
        return result.exit_code

    def afterwards(self, result: Invocation) -> None:
        """What to fix, when the answer names something that cannot work locally."""
        if len(result.responses) > 1:
            self.warning(f"{len(result.responses)} responses were sent for one request; the last is shown")
        reason = str((result.response or {}).get("Reason") or "")
        if "InvalidSubnetID.NotFound" in reason and self.hints:
            self.hint(self.hints[0])
        if "see CloudWatch Logs group" in reason and not self.args.aws:
            self.hint(
                "locally that log group does not exist: the function's logs are what "
                + ("is shown above" if self.args.logs else "--logs shows")
            )
        if result.status is None and not self.args.logs:
            self.hint("run again with --logs to see what the function printed")


def print_response(term: Term, body: Mapping[str, Any] | None, show_secrets: bool) -> None:
    if body is None:
        term.print(("CloudFormation received no response", "FAILED"), " (the stack would wait until ServiceTimeout).")
        return
    term.print(("CloudFormation received:", "heading"))
    rows = response_rows(body, show_secrets)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        style = value if name == "Status" and value in ("SUCCESS", "FAILED") else None
        term.print("  ", name.ljust(width), "  ", (value, style) if style else value)
    data = masked(body, show_secrets).get("Data") or {}
    if isinstance(data, Mapping) and data:
        term.print("  Data")
        term.table([(str(k), str(v)) for k, v in data.items()], indent="    ")
    else:
        term.print("  ", "Data".ljust(width), "  -")


def _first_saying(say: Callable[[str], None], first: str) -> Callable[[str], None]:
    """say(), preceded once by `first` (the agent's notice appears only when a task exists)."""
    said = False

    def wrapped(text: str) -> None:
        nonlocal said
        if not said:
            said = True
            say(first)
        say(text)

    return wrapped
