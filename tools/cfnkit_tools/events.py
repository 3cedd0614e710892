"""Protocol-complete custom resource events from a consumer stack (`cfnkit event`)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .cfn_yaml import TemplateError, load_template
from .intrinsics import Resolver, stringify

REQUEST_TYPES = ("Create", "Update", "Delete")


def default_stack_name(template_path: str | Path) -> str:
    """The template's folder name (examples/todobackend/stack.yaml -> todobackend)."""
    path = Path(template_path).resolve()
    name = path.parent.name if path.stem in {"stack", "template", "main"} else path.stem
    cleaned = "".join(c if c.isalnum() or c == "-" else "-" for c in name).strip("-")
    return cleaned if cleaned and cleaned[0].isalpha() else "demo-stack"


def default_physical_id(stack_id: str, logical_id: str) -> str:
    """What the cfnkit core answers on Create by default (cfnkit.protocol.Request.default_physical_id)."""
    parts = stack_id.split("/")
    stack_name = parts[1] if len(parts) >= 3 else stack_id
    digest = hashlib.sha256(f"{stack_id}\x1f{logical_id}".encode()).hexdigest()[:12]
    return f"{stack_name}-{logical_id}-{digest}"[-200:]


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
            props["ServiceToken"] = (
                f"arn:aws:lambda:{self.resolver.region}:{self.resolver.account}:function:{name}"
            )
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
        if request_type != "Create":
            event["PhysicalResourceId"] = physical_id or default_physical_id(stack_id, logical_id)
        event["ResourceProperties"] = props
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
