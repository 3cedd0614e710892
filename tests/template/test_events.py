"""events/: protocol-complete Create/Update/Delete events that match the example stack."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cfnkit import Provider
from cfnkit.protocol import RequestType, parse_request

FUNCTIONS = {
    "ecs_task_runner": ("MigrateTask", "Custom::EcsTask", "ecs_runner"),
    "secrets_resolver": ("Secrets", "Custom::SecretsResolver", "secret_resolver"),
}
KINDS = {"create": "Create", "update": "Update", "delete": "Delete"}
EVENT_FILES = [f"{function}/{kind}.json" for function in FUNCTIONS for kind in KINDS]
REQUIRED = {
    "RequestType",
    "ServiceToken",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "ResourceType",
    "ResourceProperties",
}


def read_event(root: Path, relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((root / "events" / relative).read_text())
    return event


def provider_class(module_name: str) -> type[Provider]:
    module = importlib.import_module(module_name)
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, Provider) and value.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{module_name} should define one Provider, found {found}"
    return found[0]


def cfn_string(value: Any) -> Any:
    """What CloudFormation sends for a literal template value: every scalar as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [cfn_string(v) for v in value]
    if isinstance(value, dict):
        return {k: cfn_string(v) for k, v in value.items()}
    return value


def is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def assert_literals_match(template_value: Any, event_value: Any, path: str) -> None:
    if is_intrinsic(template_value):
        return  # resolved at deploy time; the event holds a plausible resolved value
    if isinstance(template_value, dict):
        assert isinstance(event_value, dict), path
        assert set(template_value) == set(event_value), path
        for key, value in template_value.items():
            assert_literals_match(value, event_value[key], f"{path}.{key}")
    elif isinstance(template_value, list):
        assert isinstance(event_value, list), path
        assert len(event_value) == len(template_value), path
        for index, value in enumerate(template_value):
            assert_literals_match(value, event_value[index], f"{path}[{index}]")
    else:
        assert event_value == cfn_string(template_value), path


def test_every_function_has_create_update_delete_events(root: Path) -> None:
    present = sorted(str(p.relative_to(root / "events")) for p in (root / "events").glob("*/*.json"))
    assert present == sorted(EVENT_FILES)


@pytest.mark.parametrize("relative", EVENT_FILES)
def test_event_is_protocol_complete(root: Path, relative: str) -> None:
    event = read_event(root, relative)
    kind = KINDS[Path(relative).stem]
    assert set(event) >= REQUIRED
    assert event["RequestType"] == kind
    props = event["ResourceProperties"]
    assert props["ServiceToken"] == event["ServiceToken"]
    assert 1 <= int(props["ServiceTimeout"]) <= 3600
    assert ("PhysicalResourceId" in event) == (kind != "Create")
    assert ("OldResourceProperties" in event) == (kind == "Update")
    if kind == "Update":
        assert event["OldResourceProperties"]["ServiceToken"] == event["ServiceToken"]
        assert event["OldResourceProperties"] != props
    request = parse_request(event)
    assert request.request_type is RequestType(kind)
    assert request.service_timeout == int(props["ServiceTimeout"])


@pytest.mark.parametrize("relative", EVENT_FILES)
def test_response_url_looks_presigned_and_never_resolves(root: Path, relative: str) -> None:
    url = urlsplit(read_event(root, relative)["ResponseURL"])
    assert url.scheme == "https"
    # RFC 2606: .invalid never resolves, on any machine, in or out of `sam local invoke`.
    assert (url.hostname or "").endswith(".s3.amazonaws.com.invalid")
    assert {"X-Amz-Algorithm", "X-Amz-Signature", "X-Amz-Expires"} <= set(parse_qs(url.query))


def test_request_ids_are_unique(root: Path) -> None:
    ids = [read_event(root, relative)["RequestId"] for relative in EVENT_FILES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("relative", EVENT_FILES)
def test_event_matches_its_resource_in_the_example_stack(root: Path, example: dict[str, Any], relative: str) -> None:
    event = read_event(root, relative)
    logical_id, resource_type, _ = FUNCTIONS[relative.split("/", maxsplit=1)[0]]
    assert event["LogicalResourceId"] == logical_id
    resource = example["Resources"][logical_id]
    assert event["ResourceType"] == resource["Type"] == resource_type
    template_props = {k: v for k, v in resource["Properties"].items() if k != "ServiceToken"}
    event_props = {k: v for k, v in event["ResourceProperties"].items() if k != "ServiceToken"}
    assert_literals_match(template_props, event_props, logical_id)
    stack_name = event["StackId"].split("/")[1]
    function = "EcsTaskRunner" if resource_type == "Custom::EcsTask" else "SecretsResolver"
    assert event["ServiceToken"].endswith(f":function:cfnkit-{function}")  # CfnkitStackName default
    assert stack_name == "todobackend"


@pytest.mark.parametrize("relative", EVENT_FILES)
def test_event_properties_pass_the_providers_schema(root: Path, relative: str) -> None:
    event = read_event(root, relative)
    _, _, module_name = FUNCTIONS[relative.split("/", maxsplit=1)[0]]
    schema = provider_class(module_name).schema
    assert schema is not None
    request = parse_request(event)
    schema.parse(request.properties)
    if request.old_properties is not None:
        schema.parse(request.old_properties)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_update_and_delete_carry_the_id_create_answers(root: Path, function: str) -> None:
    create = parse_request(read_event(root, f"{function}/create.json"))
    _, _, module_name = FUNCTIONS[function]
    provider = provider_class(module_name)
    schema = provider.schema
    assert schema is not None
    from dataclasses import replace

    create = replace(create, properties=schema.parse(create.properties))
    own_id = getattr(provider, "physical_id", None)
    expected = own_id(provider(), create) if callable(own_id) else create.default_physical_id()
    for kind in ("update", "delete"):
        assert read_event(root, f"{function}/{kind}.json")["PhysicalResourceId"] == expected
