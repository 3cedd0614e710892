"""The PhysicalResourceId a provider answers on Create, asked of the provider itself (`cfnkit event update`).

An Update or Delete event must carry the id the Create answered; a different one means a
replacement to CloudFormation. The core answers Request.default_physical_id() unless the
provider has its own `physical_id(request)` (the secrets resolver hashes SecretId into it).
So the provider behind the event's ServiceToken is found in the provider template (the
function behind the export or output the token names, e.g. `${AWS::StackName}-SecretsResolver`),
its code folder's one Provider subclass is loaded, and asked.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cfnkit import Provider
from cfnkit.protocol import parse_request

from .cfn_yaml import TemplateError, load_template
from .functions import read_function
from .intrinsics import Resolver

_PROBE = "cfnkit-probe-stack"


def default_provider_template() -> Path | None:
    """cfnkit's own template.yaml, next to the sources of this command (None when installed elsewhere)."""
    path = Path(__file__).resolve().parents[2] / "template.yaml"
    return path if path.is_file() else None


@dataclass(frozen=True)
class CreateId:
    physical_id: str
    #: Where the id comes from, for a note: "SecretsResolver.physical_id", "the core's default (...)".
    source: str


def function_for_token(template_path: Path, service_token: str) -> str | None:
    """The logical id of the template's function a ServiceToken names.

    A consumer's token is an export of the provider stack (`${AWS::StackName}-SecretsResolver`,
    imported), a nested application's output (`Cfnkit.Outputs.SecretsResolverServiceToken`), or
    the function's own name; each is matched by what it ends with, as the stack name is unknown.
    """
    name = service_token.rsplit(":function:", 1)[-1].split(":", 1)[0]
    template = load_template(template_path)
    resolver = Resolver(template, {"AWS::StackName": _PROBE})
    for output, spec in (template.get("Outputs") or {}).items():
        value = spec.get("Value") if isinstance(spec, Mapping) else None
        target = value.get("Fn::GetAtt") if isinstance(value, Mapping) else None
        if not (isinstance(target, list) and target[1:] == ["Arn"]):
            continue
        export = (spec.get("Export") or {}).get("Name")
        suffixes = [f"-{output}"]
        if export is not None:
            resolved = resolver.resolve(export)
            if isinstance(resolved, str) and resolved.startswith(_PROBE):
                suffixes.append(resolved.removeprefix(_PROBE))
        if any(suffix and name.endswith(suffix) and len(name) > len(suffix) for suffix in suffixes):
            return str(target[0])
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        own = read_function(template_path, logical_id, stack_name=_PROBE).function_name
        suffix = own.removeprefix(_PROBE)
        if own == name or (suffix != own and name.endswith(suffix) and len(name) > len(suffix)):
            return str(logical_id)
    return None


def provider_class(code_dir: Path) -> type[Provider] | None:
    """The one Provider subclass a function's code folder defines (app.py is wiring only)."""
    found: list[type[Provider]] = []
    sys.path.insert(0, str(code_dir))
    try:
        for source in sorted(code_dir.glob("*.py")):
            if source.stem == "app":
                continue
            module = importlib.import_module(source.stem)
            found.extend(
                value
                for value in vars(module).values()
                if inspect.isclass(value) and issubclass(value, Provider) and value.__module__ == module.__name__
            )
    finally:
        sys.path.remove(str(code_dir))
    return found[0] if len(found) == 1 else None


def create_physical_id(event: Mapping[str, Any], provider_template: Path | None) -> CreateId:
    """What the provider answers to this event's resource on Create."""
    request = parse_request({**event, "RequestType": "Create"})
    default = CreateId(request.default_physical_id(), "the core's default")
    if provider_template is None or not provider_template.is_file():
        return replace(default, source="the core's default (no provider template to ask)")
    logical_id = function_for_token(provider_template, request.service_token)
    if logical_id is None:
        return replace(
            default,
            source=f"the core's default ({provider_template} has no function "
            f"{request.service_token.rsplit(':', 1)[-1]})",
        )
    cls = provider_class(read_function(provider_template, logical_id).code_dir)
    own = getattr(cls, "physical_id", None) if cls is not None else None
    if cls is None or not callable(own):
        return default
    try:
        if cls.schema is not None:
            request = replace(request, properties=cls.schema.parse(request.properties))
        physical_id = own(cls(), request)
    except Exception as exc:
        raise TemplateError(
            f"{cls.__name__}.physical_id cannot compute the id of {request.logical_id} "
            f"({type(exc).__name__}: {exc}); pass --physical-id"
        ) from exc
    return CreateId(str(physical_id), f"{cls.__name__}.physical_id")
