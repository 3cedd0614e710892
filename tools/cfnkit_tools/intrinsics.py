"""Resolve CloudFormation intrinsic functions offline, the way a deploy would, with placeholders.

Values come from, in order: `--parameter K=V` overrides (K is a template parameter, a
pseudo parameter such as AWS::StackName, a resource's logical id for its Ref, `Logical.Attr`
for a GetAtt, or an export name for ImportValue), the template's parameter defaults and
resource names the template itself sets (an ECS cluster's ClusterName, a log group's
LogGroupName, ...), the pseudo parameters' defaults, and otherwise a readable placeholder
such as `<VpcId>`, `<ApplicationDatabase.Endpoint.Address>` or `<import:cfnkit-EcsTaskRunner>`.
Every placeholder used is recorded in `Resolver.placeholders`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .cfn_yaml import TemplateError

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

#: Resource types whose Ref is a name the template sets in a property.
_NAME_PROPERTY = {
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::SNS::Topic": "TopicName",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def stack_id_for(name: str, region: str, account: str) -> str:
    """A deterministic, ARN-shaped StackId for a stack name."""
    digest = uuid.UUID(hashlib.sha256(f"{region}/{account}/{name}".encode()).hexdigest()[:32])
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{digest}"


def parse_assignments(pairs: list[str] | None) -> dict[str, str]:
    """`K=V` strings to a dict; raises TemplateError naming a malformed one."""
    values: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise TemplateError(f"--parameter {pair!r}: expected KEY=VALUE")
        values[key] = value
    return values


@dataclass
class Resolver:
    template: Mapping[str, Any]
    overrides: Mapping[str, str] = field(default_factory=dict)
    default_stack_name: str = "demo-stack"
    placeholders: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.region = self.overrides.get("AWS::Region", DEFAULT_REGION)
        self.account = self.overrides.get("AWS::AccountId", DEFAULT_ACCOUNT)
        self.stack_name = self.overrides.get("AWS::StackName", self.default_stack_name)
        self.stack_id = self.overrides.get("AWS::StackId", stack_id_for(self.stack_name, self.region, self.account))
        self._conditions: dict[str, bool] = {}
        section = self.template.get("Parameters") or {}
        self._parameters: Mapping[str, Any] = section if isinstance(section, Mapping) else {}
        resources = self.template.get("Resources") or {}
        self._resources: Mapping[str, Any] = resources if isinstance(resources, Mapping) else {}

    # -- values -----------------------------------------------------------------

    def _placeholder(self, text: str) -> str:
        value = f"<{text}>"
        if value not in self.placeholders:
            self.placeholders.append(value)
        return value

    def pseudo(self, name: str) -> Any:
        partition = "aws-cn" if self.region.startswith("cn-") else "aws"
        values: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::Partition": partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]

    def parameter(self, name: str) -> Any:
        spec = self._parameters.get(name)
        kind = str(spec.get("Type", "String")) if isinstance(spec, Mapping) else "String"
        is_list = kind.startswith("List<") or kind == "CommaDelimitedList"
        if name in self.overrides:
            raw: Any = self.overrides[name]
        elif isinstance(spec, Mapping) and "Default" in spec:
            raw = spec["Default"]
        else:
            return [self._placeholder(name)] if is_list else self._placeholder(name)
        if is_list:
            if isinstance(raw, list):
                return [str(item) for item in raw]
            return [item.strip() for item in str(raw).split(",")] if str(raw) else []
        return _scalar(raw)

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.overrides.get(name, self.pseudo(name)) if name != "AWS::NoValue" else NO_VALUE
        if name in self._parameters:
            return self.parameter(name)
        if name in self.overrides:
            return self.overrides[name]
        resource = self._resources.get(name)
        if not isinstance(resource, Mapping):
            raise TemplateError(f"Ref {name}: no such parameter or resource")
        prop = _NAME_PROPERTY.get(str(resource.get("Type")))
        props = resource.get("Properties") or {}
        if prop and isinstance(props, Mapping) and prop in props:
            return self.resolve(props[prop])
        return self._placeholder(name)

    def get_att(self, resource: str, attribute: str) -> Any:
        key = f"{resource}.{attribute}"
        if key in self.overrides:
            return self.overrides[key]
        if resource not in self._resources:
            raise TemplateError(f"Fn::GetAtt {key}: no such resource")
        return self._placeholder(key)

    def import_value(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise TemplateError("Fn::ImportValue needs a string export name")
        if name in self.overrides:
            return self.overrides[name]
        return self._placeholder(f"import:{name}")

    # -- conditions -----------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            section = self.template.get("Conditions") or {}
            if not isinstance(section, Mapping) or name not in section:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(section[name]))
        return self._conditions[name]

    # -- the walk ---------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Condition":
                return self.condition(str(arg))
            if isinstance(key, str) and key.startswith("Fn::"):
                return self._function(key[4:], arg)
        result = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in result.items() if v is not NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Sub":
            return self._sub(arg)
        if name == "GetAtt":
            parts = self.resolve(arg) if not isinstance(arg, str) else arg.split(".", 1)
            if not isinstance(parts, list) or len(parts) != 2:
                raise TemplateError(f"Fn::GetAtt needs [resource, attribute], got {arg!r}")
            return self.get_att(str(parts[0]), str(parts[1]))
        if name == "ImportValue":
            return self.import_value(self.resolve(arg))
        if name == "If":
            if not isinstance(arg, list) or len(arg) != 3:
                raise TemplateError("Fn::If needs [condition, value if true, value if false]")
            return self.resolve(arg[1] if self.condition(str(arg[0])) else arg[2])
        args = self.resolve(arg)
        if name == "Join":
            delimiter, items = _pair(args, "Fn::Join")
            return str(delimiter).join(_text(item) for item in _as_list(items, "Fn::Join"))
        if name == "Select":
            index, items = _pair(args, "Fn::Select")
            return _as_list(items, "Fn::Select")[int(index)]
        if name == "Split":
            delimiter, text = _pair(args, "Fn::Split")
            return str(text).split(str(delimiter))
        if name == "Equals":
            left, right = _pair(args, "Fn::Equals")
            return _text(left) == _text(right)
        if name == "Not":
            return not _as_list(args, "Fn::Not")[0]
        if name == "And":
            return all(_as_list(args, "Fn::And"))
        if name == "Or":
            return any(_as_list(args, "Fn::Or"))
        if name == "Base64":
            return base64.b64encode(str(args).encode()).decode()
        if name == "GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if name == "FindInMap":
            items = _as_list(args, "Fn::FindInMap")
            try:
                return self.template["Mappings"][items[0]][items[1]][items[2]]
            except (KeyError, IndexError, TypeError) as exc:
                raise TemplateError(f"Fn::FindInMap {items!r}: not in Mappings") from exc
        if name == "ToJsonString":
            return json.dumps(args, separators=(",", ":"))
        if name == "Length":
            return len(_as_list(args, "Fn::Length"))
        return self._placeholder(f"Fn::{name}")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, str):
            text, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], Mapping):
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            raise TemplateError(f"Fn::Sub needs a string or [string, variables], got {arg!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return _text(self.get_att(resource, attribute))
            return _text(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return _scalar(value)


def _as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise TemplateError(f"{where} needs a list, got {value!r}")
    return value


def _pair(value: Any, where: str) -> tuple[Any, Any]:
    items = _as_list(value, where)
    if len(items) != 2:
        raise TemplateError(f"{where} needs two arguments, got {len(items)}")
    return items[0], items[1]


def stringify(value: Any) -> Any:
    """Properties as CloudFormation sends them: every scalar a string."""
    if isinstance(value, Mapping):
        return {str(k): stringify(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [stringify(item) for item in value if item is not None]
    return _scalar(value)
