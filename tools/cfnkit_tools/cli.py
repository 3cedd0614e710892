"""The `cfnkit` command: invoke a handler locally, generate events, run the demo.

Exit codes: 0 SUCCESS, 1 FAILED, 2 no response (invoke); 0/1 for the demo (every step as
expected or not); 3 for a usage or input error (bad option, unreadable template, event or fixture).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from cfnkit import __version__

from .cfn_yaml import TemplateError
from .events import ConsumerStack, load_properties
from .intrinsics import parse_assignments
from .provider_ids import create_physical_id, default_provider_template

USAGE_ERROR = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cfnkit",
        description="Local tools for cfnkit custom resources (no Docker, no AWS needed).",
        epilog="exit codes: 0 SUCCESS (demo: every step as expected), 1 FAILED (demo: a step was not), "
        "2 no response, 3 usage or input error",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    invoke = commands.add_parser(
        "invoke",
        help="run a function of a SAM template locally and show what CloudFormation would receive",
        description="Run FUNCTION's handler in a child process like Lambda (code, layers, environment, timeout "
        "from the template), deliver its response to a local server, follow continued invocations, "
        "and print the response. Exit 0 SUCCESS, 1 FAILED, 2 no response.",
    )
    invoke.add_argument("function", metavar="FUNCTION_LOGICAL_ID")
    invoke.add_argument("--event", "-e", required=True, metavar="FILE", help="event JSON file ('-' for stdin)")
    invoke.add_argument("--template", "-t", default="template.yaml", metavar="FILE", help="SAM template")
    invoke.add_argument("--timeout", type=float, metavar="S", help="the function's timeout (default: the template's)")
    invoke.add_argument(
        "--aws",
        action="store_true",
        help="use the real AWS account of your credential chain instead of the embedded moto",
    )
    invoke.add_argument("--fixture", metavar="FILE", help="JSON file of what to create in moto first")
    invoke.add_argument("--show-secrets", action="store_true", help="show NoEcho values instead of ****")
    invoke.add_argument("--logs", action="store_true", help="also print the function's logs (stderr)")
    invoke.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only the response (no header, progress or notes; warnings still go to stderr)",
    )
    invoke.add_argument(
        "--json",
        action="store_true",
        help="print the response body as one JSON document on stdout (everything else on stderr)",
    )

    event = commands.add_parser(
        "event",
        help="write a custom resource event for a resource of a consumer stack",
        description="Write a protocol-complete Create, Update or Delete event for a custom resource, its "
        "properties resolved from --parameter values, the template's defaults or placeholders.",
    )
    event.add_argument("request_type", choices=["create", "update", "delete"])
    event.add_argument("--template", "-t", required=True, metavar="STACK", help="the consumer stack's template")
    event.add_argument("--resource", "-r", required=True, metavar="LOGICAL_ID")
    event.add_argument(
        "--parameter",
        "-p",
        action="append",
        metavar="K=V",
        help="a parameter, pseudo parameter (AWS::StackName), resource Ref (LogicalId), "
        "GetAtt (LogicalId.Attr) or export name value; repeatable",
    )
    event.add_argument(
        "--physical-id",
        metavar="ID",
        help="PhysicalResourceId for update and delete (default: what the provider answers on Create)",
    )
    event.add_argument(
        "--provider-template",
        metavar="FILE",
        help="the template of the functions behind ServiceToken, asked for the id Create answers "
        "(default: cfnkit's template.yaml)",
    )
    event.add_argument(
        "--old-properties",
        metavar="FILE",
        help="OldResourceProperties for update (JSON properties, or an event): default the same",
    )
    event.add_argument("--response-url", metavar="URL")
    event.add_argument("--request-id", metavar="ID")
    event.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")

    demo = commands.add_parser(
        "demo",
        help="drive the todobackend example's custom resources through a whole lifecycle on moto",
        description="Create, a failing Update, a good Update and Delete of examples/todobackend's custom "
        "resources, on an embedded moto with an emulated ECS agent. Exit 0 when every step ends "
        "as expected.",
    )
    demo.add_argument("--root", default=None, metavar="DIR", help="the cfnkit repository (default: found)")
    demo.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="the runner's Lambda timeout in the demo (default 6 s, so a continuation shows)",
    )
    demo.add_argument("--logs", action="store_true", help="also print the functions' logs (stderr)")
    demo.add_argument("--show-secrets", action="store_true", help="show NoEcho values instead of ****")

    from .scaffold import add_parser as add_new

    add_new(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        if args.command == "event":
            return _event(args, out, err)
        if args.command == "invoke":
            from .invoke import run_invoke

            return run_invoke(args, out, err)
        if args.command == "new":
            from .scaffold import run_new

            return run_new(args, out, err)
        from .demo import run_demo

        return run_demo(args, out, err)
    except TemplateError as exc:
        print(f"cfnkit: error: {exc}", file=err)
        return USAGE_ERROR


def _event(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    values = parse_assignments(args.parameter)
    stack = ConsumerStack.load(args.template, values)
    stack.check_values(values)
    old = load_properties(args.old_properties) if args.old_properties else None
    if old is not None and args.request_type != "update":
        raise TemplateError("--old-properties is for update events only")
    physical_id = args.physical_id
    if physical_id is None and args.request_type != "create":
        # The id the provider really answers on Create, so a local Update is not a replacement.
        create = stack.event("Create", args.resource, response_url=args.response_url, request_id=args.request_id)
        template = Path(args.provider_template) if args.provider_template else default_provider_template()
        physical_id = create_physical_id(create, template).physical_id
    event: dict[str, Any] = stack.event(
        args.request_type.capitalize(),
        args.resource,
        physical_id=physical_id,
        old_properties=old,
        response_url=args.response_url,
        request_id=args.request_id,
    )
    text = json.dumps(event, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        out.write(text)
    placeholders = stack.placeholders_in(event)
    if placeholders:
        print(
            f"note: placeholders for values only a deploy knows: {', '.join(placeholders)} "
            "(set them with --parameter NAME=VALUE)",
            file=err,
        )
    return 0
