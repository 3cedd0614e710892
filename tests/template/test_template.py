"""template.yaml: the layer, the functions, their log groups and the exported ServiceTokens."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import Any

import pytest

EXPECTED_FUNCTIONS = {
    "EcsTaskRunnerFunction": ("functions/ecs_task_runner", "EcsTaskRunner"),
    "SecretsResolverFunction": ("functions/secrets_resolver", "SecretsResolver"),
}


def test_template_is_sam_with_exactly_the_two_functions(template: dict[str, Any], functions: dict[str, Any]) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert set(functions) == set(EXPECTED_FUNCTIONS)


def test_core_layer_is_built_by_its_makefile_for_python313_arm64(template: dict[str, Any]) -> None:
    layer = template["Resources"]["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    props = layer["Properties"]
    assert props["ContentUri"] == "layers/core"
    assert props["CompatibleRuntimes"] == ["python3.13"]
    assert props["CompatibleArchitectures"] == ["arm64"]
    # layers/core/Makefile copies the Lambda side of the core into python/cfnkit.
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"


def test_core_layer_makefile_has_the_target_sam_build_runs_and_installs_nothing(root: Path) -> None:
    makefile = (root / "layers/core/Makefile").read_text()
    assert "\nbuild-CoreLayer:\n" in makefile  # sam build runs build-<logical id>
    assert "NOT_IN_LAYER := cfnkit/testing.py cfnkit/secrets_exec.py" in makefile
    recipe = [line.strip() for line in makefile.splitlines() if line.startswith("\t")]
    assert [line.split()[0] for line in recipe] == ["mkdir", "cp"]  # copies; installs nothing
    assert not (root / "layers/core/requirements.txt").exists()  # the core is stdlib only


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_function_uses_layer_runtime_arch_and_own_folder(functions: dict[str, Any], name: str) -> None:
    props = functions[name]["Properties"]
    folder, _ = EXPECTED_FUNCTIONS[name]
    assert props["CodeUri"].rstrip("/") == folder
    assert props["Layers"] == [{"Ref": "CoreLayer"}]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "app.handler"


def test_runner_timeout_is_lambdas_maximum_and_resolver_short(functions: dict[str, Any]) -> None:
    assert functions["EcsTaskRunnerFunction"]["Properties"]["Timeout"] == 900
    assert functions["SecretsResolverFunction"]["Properties"]["Timeout"] <= 120


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_handler_resolves_to_a_callable_taking_event_and_context(
    functions: dict[str, Any], root: Path, name: str
) -> None:
    props = functions[name]["Properties"]
    module_name, _, attribute = props["Handler"].partition(".")
    path = root / props["CodeUri"] / f"{module_name}.py"
    assert path.is_file(), f"{path} is missing"
    spec = importlib.util.spec_from_file_location(f"cfnkit_template_test_{name}_{module_name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, attribute)
    assert callable(handler)
    assert len(inspect.signature(handler).parameters) == 2


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_function_has_no_fixed_name_and_its_own_log_group_with_retention(
    template: dict[str, Any], functions: dict[str, Any], name: str
) -> None:
    _, suffix = EXPECTED_FUNCTIONS[name]
    props = functions[name]["Properties"]
    # A fixed name (<stack>-<suffix>, at most 64 characters) limited stack names to 48.
    assert "FunctionName" not in props
    group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    group = template["Resources"][group_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{suffix}"}
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


#: Names the template builds from the stack name, and their AWS limits: a log group name
#: 512 characters (CloudWatch Logs CreateLogGroup), a layer name 140 (Lambda
#: PublishLayerVersion), an export name 255 (CloudFormation Export.Name).
NAME_LIMITS = {
    "AWS::Logs::LogGroup": ("LogGroupName", 512),
    "AWS::Serverless::LayerVersion": ("LayerName", 140),
    "AWS::Serverless::Function": ("FunctionName", 64),
    "AWS::Lambda::Function": ("FunctionName", 64),
    "AWS::IAM::Role": ("RoleName", 64),
}


def test_every_name_fits_its_limit_for_the_longest_stack_name(template: dict[str, Any]) -> None:
    from cfnkit_tools.intrinsics import Resolver

    resolver = Resolver(template, {"AWS::StackName": "s" * 128})  # CloudFormation's longest stack name
    checked = []
    for logical_id, resource in template["Resources"].items():
        prop, limit = NAME_LIMITS.get(resource["Type"], ("", 0))
        if prop in resource.get("Properties", {}):
            name = resolver.resolve(resource["Properties"][prop])
            assert len(name) <= limit, f"{logical_id}.{prop} is {len(name)} characters; the limit is {limit}"
            checked.append(logical_id)
    for output in template["Outputs"].values():
        if "Export" in output:
            assert len(resolver.resolve(output["Export"]["Name"])) <= 255
    assert sorted(checked) == ["CoreLayer", "EcsTaskRunnerLogGroup", "SecretsResolverLogGroup"]


def test_log_retention_parameter_offers_only_cloudwatch_values(template: dict[str, Any]) -> None:
    param = template["Parameters"]["LogRetentionDays"]
    assert param["Type"] == "Number"
    assert param["Default"] in param["AllowedValues"]
    assert set(param["AllowedValues"]) <= {
        1,
        3,
        5,
        7,
        14,
        30,
        60,
        90,
        120,
        150,
        180,
        365,
        400,
        545,
        731,
        1096,
        1827,
        2192,
        2557,
        2922,
        3288,
        3653,
    }


@pytest.mark.parametrize(
    ("output", "function", "export"),
    [
        ("EcsTaskRunnerServiceToken", "EcsTaskRunnerFunction", "${AWS::StackName}-EcsTaskRunner"),
        ("SecretsResolverServiceToken", "SecretsResolverFunction", "${AWS::StackName}-SecretsResolver"),
    ],
)
def test_service_tokens_are_exported_under_stack_name(
    template: dict[str, Any], output: str, function: str, export: str
) -> None:
    out = template["Outputs"][output]
    assert out["Value"] == {"Fn::GetAtt": [function, "Arn"]}
    assert out["Export"]["Name"] == {"Fn::Sub": export}


def test_layer_arn_is_an_output_but_not_an_export(template: dict[str, Any]) -> None:
    """A new core publishes a new layer version; an imported export could not change with it."""
    out = template["Outputs"]["CoreLayerArn"]
    assert out["Value"] == {"Ref": "CoreLayer"}
    assert "Export" not in out


def test_only_the_service_tokens_are_exported(template: dict[str, Any]) -> None:
    exported = {name for name, out in template["Outputs"].items() if "Export" in out}
    assert exported == {"EcsTaskRunnerServiceToken", "SecretsResolverServiceToken"}


def test_example_imports_exactly_the_exported_names(template: dict[str, Any], example: dict[str, Any]) -> None:
    exported = {
        out["Export"]["Name"]["Fn::Sub"].replace("${AWS::StackName}", "${CfnkitStackName}")
        for out in template["Outputs"].values()
        if "Export" in out
    }
    tokens = {
        name: resource["Properties"]["ServiceToken"]
        for name, resource in example["Resources"].items()
        if resource["Type"].startswith("Custom::")
    }
    assert tokens == {
        "MigrateTask": {"Fn::ImportValue": {"Fn::Sub": "${CfnkitStackName}-EcsTaskRunner"}},
        "Secrets": {"Fn::ImportValue": {"Fn::Sub": "${CfnkitStackName}-SecretsResolver"}},
    }
    assert {token["Fn::ImportValue"]["Fn::Sub"] for token in tokens.values()} <= exported


def test_the_continuing_function_allows_its_recursive_loop_and_tells_the_core(functions: dict[str, Any]) -> None:
    # Lambda drops the ~16th invocation of a chain of Lambda invocations unless RecursiveLoop
    # is Allow (Lambda developer guide, "Use Lambda recursive loop detection"); the runner's
    # continuation is such a chain. The core reads CFNKIT_RECURSIVE_LOOP to know its budget.
    runner = functions["EcsTaskRunnerFunction"]["Properties"]
    assert runner["RecursiveLoop"] == "Allow"
    assert runner["Environment"]["Variables"]["CFNKIT_RECURSIVE_LOOP"] == "Allow"
    resolver = functions["SecretsResolverFunction"]["Properties"]
    assert resolver["RecursiveLoop"] == "Terminate"
    assert "CFNKIT_RECURSIVE_LOOP" not in resolver["Environment"]["Variables"]


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_async_retries_are_explicit_and_outlive_no_wait(functions: dict[str, Any], name: str) -> None:
    config = functions[name]["Properties"]["EventInvokeConfig"]
    # A crashed invocation is delivered again (tests/reliability/test_async_delivery.py shows
    # the answer still arrives); an event older than ServiceTimeout's maximum has no listener.
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 3600
