"""Load CloudFormation/SAM templates (YAML with short tags such as !Ref, or JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

#: Short tag -> the long form's key. GetAtt and Condition are special-cased below.
_FUNCTIONS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "ToJsonString",
    "Length",
)


class TemplateError(ValueError):
    """The template cannot be read or does not have what was asked for."""


class _Loader(yaml.SafeLoader):
    pass


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unsupported YAML node {node!r}")


def _long_form(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {name: _node_value(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        # `!GetAtt A.B.C` splits at the first dot only: resource A, attribute B.C.
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": value}


_Loader.add_constructor("!Ref", _long_form("Ref"))
_Loader.add_constructor("!Condition", _long_form("Condition"))
_Loader.add_constructor("!GetAtt", _get_att)
for _name in _FUNCTIONS:
    _Loader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))


def _no_timestamps() -> None:
    # CloudFormation reads 2010-09-09 as a string; so do we.
    for first, resolvers in list(_Loader.yaml_implicit_resolvers.items()):
        _Loader.yaml_implicit_resolvers[first] = [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]


_no_timestamps()


def load_template(path: str | Path) -> dict[str, Any]:
    """The template as plain data, short tags turned into their long forms."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {file}: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_Loader)  # noqa: S506
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise TemplateError(f"cannot parse template {file}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise TemplateError(f"{file} is not a CloudFormation template (no Resources section)")
    return doc
