"""`cfnkit new NAME`: a provider project that passes its own checks on the first run.

It writes, into a new folder:

    template.yaml            SAM: the function on the cfnkit core layer, its log group, the ServiceToken export
    src/app.py               the Lambda handler: names the provider (cfnkit.entry.serve), imports nothing that can fail
    src/<module>.py          the provider: a schema and create/update/delete to fill in
    src/requirements.txt     empty: boto3 comes with the runtime, cfnkit with the layer
    stack.yaml               a consumer stack that uses the resource through its ServiceToken
    events/{create,update,delete}.json   made from stack.yaml as `cfnkit event` makes them
    tests/test_<module>.py   tests with cfnkit.testing, through the provider and through app.handler
    pyproject.toml           pytest, ruff and mypy --strict settings

What it generates passes `sam validate --lint`, cfn-lint, ruff, mypy --strict and its
tests, and answers under `cfnkit invoke` (tests/tools/test_scaffold.py checks all of it).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, TextIO

from .cfn_yaml import TemplateError
from .events import ConsumerStack

#: A resource name: letters and digits, words separated by - or _ (kebab, snake or PascalCase).
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*$")
MAX_NAME = 40  # the function is named <stack>-<Name>; Lambda allows 64 characters
REQUEST_IDS = {
    "Create": "7c1e2a4b-0d5f-4e61-9a8b-3c2d1e0f9a01",
    "Update": "7c1e2a4b-0d5f-4e61-9a8b-3c2d1e0f9a02",
    "Delete": "7c1e2a4b-0d5f-4e61-9a8b-3c2d1e0f9a03",
}


class Names:
    """Every spelling of one resource name: Greeting, greeting, Custom::Greeting, GreetingFunction."""

    def __init__(self, name: str) -> None:
        if not _NAME.match(name) or len(name) > MAX_NAME:
            raise TemplateError(
                f"{name!r} is not a resource name: use letters and digits, words separated by - or _, "
                f"starting with a letter, at most {MAX_NAME} characters (for example secure-parameter)"
            )
        words = [w for w in re.split(r"[-_]|(?<=[a-z0-9])(?=[A-Z])", name) if w]
        self.pascal = "".join(w[:1].upper() + w[1:] for w in words)
        self.module = "_".join(w.lower() for w in words)
        self.folder = "-".join(w.lower() for w in words)
        self.resource_type = f"Custom::{self.pascal}"
        self.function = f"{self.pascal}Function"

    def fill(self, text: str) -> str:
        return (
            text.replace("__Pascal__", self.pascal)
            .replace("__module__", self.module)
            .replace("__folder__", self.folder)
            .replace("__Function__", self.function)
        )


def add_parser(commands: Any) -> None:
    """Register `cfnkit new` on the CLI's subcommands."""
    new = commands.add_parser(
        "new",
        help="scaffold a provider: function, SAM template, events and tests that pass on the first run",
        description="Write a new provider project into DIR (default: NAME in kebab-case): a SAM template on "
        "the cfnkit core layer, app.py and the provider module, a consumer stack, Create/Update/"
        "Delete events and tests with cfnkit.testing.",
    )
    new.add_argument(
        "name", metavar="NAME", help="the resource's name, e.g. secure-parameter (Custom::SecureParameter)"
    )
    new.add_argument("--dir", "-d", metavar="DIR", help="where to write it (must not exist or be empty)")


def run_new(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    names = Names(args.name)
    target = Path(args.dir) if args.dir else Path(names.folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TemplateError(f"{target} already exists and is not empty; choose another --dir")
    written = generate(names, target)
    print(f"Created {names.resource_type} in {target}/:", file=out)
    for path in written:
        print(f"  {path.relative_to(target)}", file=out)
    print(
        f"""
Next, in {target}/ (with cfnkit installed in your virtualenv):
  python -m pytest                                  # the provider's tests
  cfnkit invoke {names.function} --event events/create.json
  sam validate --lint && cfn-lint template.yaml stack.yaml
  sam build && sam deploy --guided --capabilities CAPABILITY_IAM \\
      --parameter-overrides CoreLayerArn=<the CoreLayerArn output of the cfnkit stack>
Then fill in src/{names.module}.py: the guide is docs/guide/writing-a-provider.md.""",
        file=out,
    )
    return 0


def generate(names: Names, target: Path) -> list[Path]:
    """Write the project; the paths written, in order."""
    files = {
        "template.yaml": TEMPLATE,
        "stack.yaml": STACK,
        "pyproject.toml": PYPROJECT,
        "src/app.py": APP,
        f"src/{names.module}.py": PROVIDER,
        "src/requirements.txt": REQUIREMENTS,
        f"tests/test_{names.module}.py": TESTS,
    }
    written = []
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(names.fill(text).lstrip("\n"), encoding="utf-8")
        written.append(path)
    stack = ConsumerStack.load(target / "stack.yaml")
    old = {"Name": "cfnkit"}
    for request_type, request_id in REQUEST_IDS.items():
        event = stack.event(
            request_type, names.pascal, request_id=request_id, old_properties=old if request_type == "Update" else None
        )
        path = target / "events" / f"{request_type.lower()}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: >-
  Custom::__Pascal__, a CloudFormation custom resource provider on the cfnkit core layer.
  Stacks use it with ServiceToken !ImportValue <this stack's name>-__Pascal__.

Parameters:
  CoreLayerArn:
    Type: String
    AllowedPattern: "^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$"
    ConstraintDescription: a Lambda layer version ARN
    Description: >-
      The cfnkit core layer version (python3.13, arm64): the CoreLayerArn output of the
      cfnkit stack.
  LogLevel:
    Type: String
    Default: INFO
    AllowedValues: [DEBUG, INFO, WARNING, ERROR]
    Description: CFNKIT_LOG_LEVEL of the function; secrets are masked at every level
  LogRetentionDays:
    Type: Number
    Default: 30
    AllowedValues: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                    2922, 3288, 3653]
    Description: How long the function's logs are kept

Resources:
  __Pascal__LogGroup:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Properties:
      LogGroupName: !Sub /aws/lambda/${AWS::StackName}-__Pascal__
      RetentionInDays: !Ref LogRetentionDays

  __Function__:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub ${AWS::StackName}-__Pascal__
      Description: cfnkit provider of Custom::__Pascal__
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.13
      Architectures: [arm64]
      Layers: [!Ref CoreLayerArn]
      Timeout: 300
      MemorySize: 256
      LoggingConfig:
        LogGroup: !Ref __Pascal__LogGroup
      Environment:
        Variables:
          CFNKIT_LOG_LEVEL: !Ref LogLevel
      Policies:
        - Version: "2012-10-17"
          Statement:
            # A wait longer than one invocation continues in a new asynchronous invocation
            # of this function. Add the AWS permissions your provider needs below this one.
            - Effect: Allow
              Action: lambda:InvokeFunction
              Resource: !Sub >-
                arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-__Pascal__

Outputs:
  ServiceToken:
    Description: ServiceToken of Custom::__Pascal__ resources (ImportValue <stack>-__Pascal__)
    Value: !GetAtt __Function__.Arn
    Export:
      Name: !Sub ${AWS::StackName}-__Pascal__
"""

STACK = """
AWSTemplateFormatVersion: "2010-09-09"
Description: A stack that uses Custom::__Pascal__ (deploy the provider's template.yaml first).

Parameters:
  ProviderStackName:
    Type: String
    Default: __folder__
    Description: The stack of template.yaml, whose export is the ServiceToken

Resources:
  __Pascal__:
    Type: Custom::__Pascal__
    Properties:
      ServiceToken: !ImportValue
        Fn::Sub: ${ProviderStackName}-__Pascal__
      ServiceTimeout: 300
      Name: world

Outputs:
  Message:
    Description: An attribute of the custom resource
    Value: !GetAtt __Pascal__.Message
"""

APP = '''
"""Lambda entry point of Custom::__Pascal__ (Handler: app.handler).

The provider is named, not imported: cfnkit imports __module__ and builds __Pascal__ on the
first request, inside the guarantee that CloudFormation gets exactly one answer. An error
in __module__.py (at import or in __init__) is then a FAILED with the file and line in its
Reason, not an hour-long wait.
"""

from cfnkit.entry import serve

handler = serve("__module__:__Pascal__")
'''

PROVIDER = '''
"""Custom::__Pascal__: what the resource creates, updates and deletes."""

from __future__ import annotations

from cfnkit import Field, Provider, Request, Result, Schema, String, get_logger

log = get_logger("__module__")  # JSON lines as cfnkit.__module__; secrets are masked in them


class __Pascal__(Provider):
    """Greets Name. Replace the bodies with your resource's work.

    CloudFormation may deliver a request more than once: make create and delete
    idempotent (request.token() is a stable key for one request). Boto3 clients are
    constructor arguments, so tests pass fakes or moto-backed clients.
    """

    schema = Schema(
        Name=Field(String(min_length=1, max_length=64), required=True, description="who to greet"),
    )

    def create(self, request: Request) -> Result:
        name = request.properties["Name"]
        log.info("greeting", extra={"fields": {"logical_id": request.logical_id}})
        return Result(data={"Message": f"hello, {name}"})

    def update(self, request: Request) -> Result:
        # The same PhysicalResourceId is kept; return Result(physical_id=...) to replace.
        return self.create(request)

    def delete(self, request: Request) -> Result:
        # Delete must succeed when the resource is already gone (a retry, a failed Create).
        return Result()
'''

REQUIREMENTS = """
# Nothing to install: boto3 comes with the Lambda Python runtime and cfnkit with the
# core layer (CoreLayerArn). List here only what your provider adds.
"""

TESTS = '''
"""Custom::__Pascal__: each request type answers once, with the exact response."""

from __future__ import annotations

from typing import Any

from cfnkit import CustomResource
from cfnkit.testing import (
    FakeClock,
    FakeContext,
    RecordingSender,
    ResponseServer,
    create_event,
    delete_event,
    update_event,
)

import app
from __module__ import __Pascal__

TYPE = "Custom::__Pascal__"


def answer(event: dict[str, Any]) -> dict[str, Any]:
    """The one response the provider's handler sends for event."""
    sender = RecordingSender()
    CustomResource(__Pascal__(), sender=sender, clock=FakeClock())(event, FakeContext())
    return sender.only


def test_create_answers_with_the_message() -> None:
    body = answer(create_event({"Name": "world"}, resource_type=TYPE))

    assert (body["Status"], body["Data"]) == ("SUCCESS", {"Message": "hello, world"})


def test_a_missing_name_fails_with_what_was_expected() -> None:
    body = answer(create_event({}, resource_type=TYPE))

    assert body["Status"] == "FAILED"
    assert body["Reason"] == "Invalid properties: Name: required; expected a non-empty string"


def test_update_keeps_the_physical_id() -> None:
    body = answer(update_event({"Name": "cfnkit"}, {"Name": "world"}, "the-id", resource_type=TYPE))

    assert (body["Status"], body["PhysicalResourceId"], body["Data"]) == (
        "SUCCESS", "the-id", {"Message": "hello, cfnkit"})


def test_delete_succeeds() -> None:
    body = answer(delete_event({"Name": "world"}, "the-id", resource_type=TYPE))

    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", "the-id")


def test_app_handler_answers_over_http() -> None:
    with ResponseServer() as server:
        app.handler(create_event({"Name": "world"}, resource_type=TYPE, response_url=server.url), FakeContext())
        body = server.wait_for(1)[0].json()

    assert (body["Status"], body["Data"]) == ("SUCCESS", {"Message": "hello, world"})
'''

PYPROJECT = """
# Settings of the tools that check this provider. cfnkit itself is installed in your
# virtualenv from the cfnkit repository: pip install -e '<path to cfnkit>[dev]'.

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
addopts = ["-ra", "--strict-markers", "--import-mode=importlib"]

[tool.ruff]
line-length = 120
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "N", "S", "SIM", "RET", "PT", "RUF"]
ignore = ["S101"]  # assert is how pytest tests

[tool.mypy]
strict = true
python_version = "3.11"
mypy_path = ["src"]
explicit_package_bases = true
"""
