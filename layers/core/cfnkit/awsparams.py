"""AWS pass-through parameters, typed by botocore's own service model.

`api_params("ecs", "RunTask", {"Cluster": "c", "Count": "2"})` gives
`{"cluster": "c", "count": 2}`: keys are matched to the operation's members without
regard to case (CloudFormation uses PascalCase, the APIs often camelCase), and
scalars CloudFormation sent as strings are coerced by the member's shape, through
nested structures, lists and maps. Unknown names and wrong types become the same
InvalidProperties problems as schemas (path and expectation, never the value).

botocore is imported only when this is called (it is in the Lambda runtime).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import Any

from .errors import InvalidProperties, Problem
from .schema import Boolean, Integer, Number, String, Type, describe, did_you_mean, parse_at

#: Scalars CloudFormation sends as strings are coerced exactly as a schema would.
_SCALARS: dict[str, Type] = {
    "integer": Integer(),
    "long": Integer(),
    "float": Number(),
    "double": Number(),
    "boolean": Boolean(),
}


@functools.lru_cache(maxsize=16)
def _operation(service: str, operation: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(operation)


def _scalar(shape: Any) -> Type | None:
    """The schema type a scalar member is coerced by (None: passed as given)."""
    if shape.type_name == "string":
        return String(choices=tuple(getattr(shape, "enum", None) or ()))
    return _SCALARS.get(shape.type_name)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


class _Converter:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def structure(self, shape: Any, value: Any, path: str, allowed: Collection[str] | None = None) -> Any:
        if not isinstance(value, Mapping):
            self.problems.append(Problem(path, f"expected an object, got {describe(value)}"))
            return None
        members = {name.lower(): name for name in shape.members}
        if allowed is not None:
            members = {k: v for k, v in members.items() if _pascal(v) in allowed or v in allowed}
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = members.get(str(key).lower())
            sub = _join(path, str(key))
            if member is None:
                names = [_pascal(m) for m in members.values()]
                self.problems.append(Problem(sub, "unknown property" + did_you_mean(str(key), names)))
                continue
            out[member] = self.value(shape.members[member], item, sub)
        for required in getattr(shape, "required_members", []):
            if required not in out and (allowed is None or required.lower() in members):
                expected = self.expected(shape.members[required])
                self.problems.append(Problem(_join(path, _pascal(required)), f"required; expected {expected}"))
        return out

    def expected(self, shape: Any) -> str:
        kind = shape.type_name
        if kind == "structure":
            return "an object"
        if kind == "list":
            return "a list"
        if kind == "map":
            return "an object"
        scalar = _scalar(shape)
        return scalar.expected if scalar is not None else "a string"

    def value(self, shape: Any, value: Any, path: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, value, path)
        if kind == "list":
            if not isinstance(value, list | tuple):
                self.problems.append(Problem(path, f"expected a list, got {describe(value)}"))
                return None
            return [self.value(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]
        if kind == "map":
            if not isinstance(value, Mapping):
                self.problems.append(Problem(path, f"expected an object, got {describe(value)}"))
                return None
            return {str(k): self.value(shape.value, v, _join(path, str(k))) for k, v in value.items()}
        scalar = _scalar(shape)
        if scalar is None:  # blob, timestamp: passed as given
            return value
        return parse_at(scalar, value, path, self.problems)


def api_params(
    service: str,
    operation: str,
    properties: Mapping[str, Any],
    *,
    allowed: Collection[str] | None = None,
    path: str = "",
) -> dict[str, Any]:
    """Turn CloudFormation-style properties into `operation`'s parameters.

    allowed: the top-level names (PascalCase) a provider lets through; None for all.
    Raises InvalidProperties with every problem found.
    """
    model = _operation(service, operation)
    converter = _Converter()
    out = converter.structure(model.input_shape, properties, path, allowed)
    if converter.problems:
        raise InvalidProperties(converter.problems)
    result: dict[str, Any] = out
    return result
