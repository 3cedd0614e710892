"""Protocol-complete custom resource events from a consumer stack (`cfnkit event`)."""

from __future__ import annotations

import difflib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cfnkit.protocol import parse_request

from .cfn_yaml import TemplateError, load_template
from .intrinsics import Resolver, stringify

REQUEST_TYPES = ("Create", "Update", "Delete")


def default_stack_name(template_path: str | Path) -> str:
    """The template's folder name (examples/todobackend/stack.yaml -> todobackend)."""
    path = Path(template_path).resolve()
    name = path.parent.name if path.stem in {"stack", "template", "main"} else path.stem
    cleaned = "".join(c if c.isalnum() or c == "-" else "-" for c in name).strip("-")
    return cleaned if cleaned and cleaned[0].isalpha() else "demo-stack"


def presigned_like_url(region: str, stack_id: str, logical_id: str, request_id: str) -> str:
    """A ResponseURL shaped like CloudFormation's presigned S3 URL (not reachable: .invalid)."""
    key = quote(f"{stack_id}|{logical_id}|{request_id}", safe="")
    return (
        f"https://cloudformation-custom-resource-response-{region.replace('-', '')}.s3.amazonaws.com.invalid/"
        f"{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )


@dataclass
class ConsumerStack:
    """A consumer stack's template and the values its intrinsics resolve with."""

    path: Path
    template: Mapping[str, Any]
    resolver: Resolver

    @classmethod
    def load(cls, path: str | Path, overrides: Mapping[str, str] | None = None) -> ConsumerStack:
        template = load_template(path)
        resolver = Resolver(template, dict(overrides or {}), default_stack_name=default_stack_name(path))
        return cls(Path(path), template, resolver)

    def check_values(self, names: Iterable[str]) -> None:
        """Every --parameter name must be something the template can use; a typo is an error, never ignored."""
        parameters = [str(p) for p in self.template.get("Parameters") or {}]
        resources = [str(r) for r in self.template["Resources"]]
        exports = self.export_names()
        for name in names:
            if name.startswith("AWS::"):
                self.resolver.pseudo(name)  # raises for an unknown pseudo parameter
                continue
            head, dot, _ = name.partition(".")
            if name in parameters or name in resources or name in exports or (dot and head in resources):
                continue
            close = difflib.get_close_matches(name, [*parameters, *resources, *exports], n=1, cutoff=0.6)
            raise TemplateError(
                f"--parameter {name}: {self.path} has no parameter, resource or export of that name"
                + (f"; did you mean {close[0]}?" if close else "")
                + f" (its parameters: {', '.join(parameters) or 'none'})"
            )

    def export_names(self) -> list[str]:
        """The names the template's Fn::ImportValue calls import (resolved with the current values)."""
        found: list[str] = []
        probe = Resolver(self.template, self.resolver.overrides, default_stack_name=self.resolver.stack_name)

        def walk(node: Any) -> None:
            if isinstance(node, Mapping):
                for key, value in node.items():
                    if key == "Fn::ImportValue":
                        name = probe.resolve(value)
                        if isinstance(name, str):
                            found.append(name)
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.template["Resources"])
        walk(self.template.get("Outputs") or {})
        return found

    def custom_resource(self, logical_id: str) -> tuple[str, dict[str, Any]]:
        """(ResourceType, resolved properties with every scalar a string)."""
        resources = self.template["Resources"]
        resource = resources.get(logical_id)
        if not isinstance(resource, Mapping):
            customs = sorted(k for k, v in resources.items() if _is_custom(v))
            raise TemplateError(
                f"{self.path} has no resource {logical_id}; its custom resources: {', '.join(customs) or 'none'}"
            )
        if not _is_custom(resource):
            raise TemplateError(f"{logical_id} is {resource.get('Type')}, not a custom resource")
        props = self.resolver.resolve(resource.get("Properties") or {})
        if not isinstance(props, dict) or "ServiceToken" not in props:
            raise TemplateError(f"{logical_id} has no ServiceToken property")
        token = props["ServiceToken"]
        if isinstance(token, str) and not token.startswith("arn:"):
            # An unresolved ImportValue of a cfnkit export: the export and the function share the name.
            name = token.strip("<>").removeprefix("import:")
            nested, _, output = name.partition(".Outputs.")
            if output:  # a nested cfnkit application's output: <stack>-<App>-<Output>, asked of by output name
                name = f"{self.resolver.stack_name}-{nested}-{output}"
            props["ServiceToken"] = f"arn:aws:lambda:{self.resolver.region}:{self.resolver.account}:function:{name}"
        return str(resource["Type"]), stringify(props)

    def placeholders_in(self, event: Mapping[str, Any]) -> list[str]:
        """The placeholders that ended up in the event (an unresolved ServiceToken import is not one)."""
        text = json.dumps(event)
        return [p for p in self.resolver.placeholders if json.dumps(p)[1:-1] in text]

    def event(
        self,
        request_type: str,
        logical_id: str,
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
        response_url: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        if request_type not in REQUEST_TYPES:
            raise TemplateError(f"request type must be one of {', '.join(REQUEST_TYPES)}")
        resource_type, props = self.custom_resource(logical_id)
        stack_id = self.resolver.stack_id
        request_id = request_id or str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": props["ServiceToken"],
            "ResponseURL": response_url or presigned_like_url(self.resolver.region, stack_id, logical_id, request_id),
            "StackId": stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
        }
        event["ResourceProperties"] = props
        if request_type != "Create":
            # Without an id: the core's default, what a provider without its own physical_id answers.
            create = parse_request(event | {"RequestType": "Create"})
            event["PhysicalResourceId"] = physical_id or create.default_physical_id()
        if request_type == "Update":
            old = dict(stringify(old_properties)) if old_properties is not None else json.loads(json.dumps(props))
            old.setdefault("ServiceToken", props["ServiceToken"])
            event["OldResourceProperties"] = old
        return event


def _is_custom(resource: Any) -> bool:
    kind = resource.get("Type") if isinstance(resource, Mapping) else None
    return isinstance(kind, str) and (kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource")


def load_properties(path: str | Path) -> dict[str, Any]:
    """OldResourceProperties from a JSON file: the properties object, or an event holding ResourceProperties."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TemplateError(f"cannot read properties from {path}: {exc}") from exc
    if isinstance(doc, dict) and isinstance(doc.get("ResourceProperties"), dict):
        doc = doc["ResourceProperties"]
    if not isinstance(doc, dict):
        raise TemplateError(f"{path} must hold a JSON object of properties")
    return doc
