"""What `sam local invoke` reads from a SAM template: a function's code, handler, layers, env, limits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cfn_yaml import TemplateError, load_template
from .intrinsics import Resolver

#: Lambda's defaults when neither the function nor Globals.Function set them.
DEFAULT_TIMEOUT_S = 3
DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    function_name: str
    code_dir: Path
    module: str
    attribute: str
    #: Directories that make the layers' code importable, in the order Lambda puts them.
    layer_paths: tuple[Path, ...]
    environment: Mapping[str, str]
    timeout: float
    memory_mb: int
    runtime: str
    notes: tuple[str, ...] = field(default=())

    @property
    def handler(self) -> str:
        return f"{self.module}.{self.attribute}"


def read_function(template_path: str | Path, logical_id: str, stack_name: str = "cfnkit") -> FunctionSpec:
    """The function's settings, Globals.Function merged in, paths relative to the template."""
    path = Path(template_path)
    template = load_template(path)
    resources = template["Resources"]
    resource = resources.get(logical_id)
    functions = sorted(
        k
        for k, v in resources.items()
        if isinstance(v, Mapping) and v.get("Type") in {"AWS::Serverless::Function", "AWS::Lambda::Function"}
    )
    if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::Serverless::Function":
        raise TemplateError(
            f"{path} has no AWS::Serverless::Function {logical_id}; its functions: {', '.join(functions) or 'none'}"
        )
    resolver = Resolver(template, {"AWS::StackName": stack_name})
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    props: dict[str, Any] = {**globals_, **(resource.get("Properties") or {})}
    env: dict[str, Any] = {}
    for source in (globals_, resource.get("Properties") or {}):
        variables = ((source.get("Environment") or {}).get("Variables")) or {}
        env.update(variables)
    notes: list[str] = []
    environment: dict[str, str] = {}
    for key, value in resolver.resolve(env).items():
        environment[str(key)] = value if isinstance(value, str) else str(value)
    if resolver.placeholders:
        notes.append(f"unresolved in Environment: {', '.join(resolver.placeholders)}")

    code_uri = props.get("CodeUri")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id}: CodeUri must be a local path (got {code_uri!r})")
    code_dir = (path.parent / code_uri).resolve()
    if not code_dir.is_dir():
        raise TemplateError(f"{logical_id}: CodeUri {code_uri} is not a directory next to {path}")
    handler = props.get("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: Handler must look like module.function (got {handler!r})")
    module, _, attribute = handler.rpartition(".")

    layer_paths: list[Path] = []
    for layer in props.get("Layers") or []:
        target = layer.get("Ref") if isinstance(layer, Mapping) else None
        layer_resource = resources.get(target) if isinstance(target, str) else None
        if not isinstance(layer_resource, Mapping):
            notes.append(
                f"layer {intrinsic_text(layer)} is not a layer of this template, so its code is not "
                "loaded; the packages installed with cfnkit (the cfnkit core among them) are importable"
            )
            continue
        content = (layer_resource.get("Properties") or {}).get("ContentUri")
        if not isinstance(content, str):
            notes.append(
                f"layer {target}: ContentUri {intrinsic_text(content)} is not a local path, so its code is not loaded"
            )
            continue
        root = (path.parent / content).resolve()
        # A built layer holds python/; a source folder such as layers/core holds the package itself.
        layer_paths.append(root / "python" if (root / "python").is_dir() else root)

    function_name = props.get("FunctionName")
    resolved_name = resolver.resolve(function_name) if function_name is not None else None
    return FunctionSpec(
        logical_id=logical_id,
        function_name=resolved_name if isinstance(resolved_name, str) else f"{stack_name}-{logical_id}",
        code_dir=code_dir,
        module=module,
        attribute=attribute,
        layer_paths=tuple(layer_paths),
        environment=environment,
        timeout=_number(resolver.resolve(props.get("Timeout", DEFAULT_TIMEOUT_S)), "Timeout", logical_id),
        memory_mb=int(_number(resolver.resolve(props.get("MemorySize", DEFAULT_MEMORY_MB)), "MemorySize", logical_id)),
        runtime=str(props.get("Runtime", "python3")),
        notes=tuple(notes),
    )


def intrinsic_text(value: Any) -> str:
    """A template value as its YAML short form reads (!Ref CoreLayerArn), not as a Python dict."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, arg),) = value.items()
        tag = "!" + str(name).removeprefix("Fn::")
        if name == "Fn::GetAtt" and isinstance(arg, list):
            return f"{tag} {'.'.join(str(a) for a in arg)}"
        if isinstance(arg, str):
            return f"{tag} {arg}"
        return f"{tag} {json.dumps(arg)}"
    return value if isinstance(value, str) else json.dumps(value)


def _number(value: Any, name: str, logical_id: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"{logical_id}: {name} must be a number (got {value!r})") from exc
    if number <= 0:
        raise TemplateError(f"{logical_id}: {name} must be positive (got {value!r})")
    return number
