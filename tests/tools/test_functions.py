"""Reading a function's settings from a SAM template, like sam local invoke."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnkit_tools.cfn_yaml import TemplateError
from cfnkit_tools.functions import intrinsic_text, read_function

REPO = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "sample" / "template.yaml"


def test_the_runner_function_of_the_project_template() -> None:
    spec = read_function(REPO / "template.yaml", "EcsTaskRunnerFunction")

    assert spec.code_dir == REPO / "functions" / "ecs_task_runner"
    assert spec.handler == "app.handler"
    assert spec.layer_paths == (REPO / "layers" / "core",)
    assert spec.environment == {"CFNKIT_LOG_LEVEL": "INFO", "CFNKIT_RECURSIVE_LOOP": "Allow"}
    assert spec.timeout == 900
    assert spec.memory_mb == 256
    # No FunctionName in the template: CloudFormation would add a random suffix, locally <stack>-<id>.
    assert spec.function_name == "cfnkit-EcsTaskRunnerFunction"


def test_globals_are_merged_and_the_function_wins() -> None:
    spec = read_function(SAMPLE, "SampleFunction", stack_name="tests")

    assert spec.timeout == 4
    assert spec.memory_mb == 192
    assert spec.environment == {"SAMPLE_GLOBAL": "from-globals", "SAMPLE_GREETING": "hello"}
    assert spec.function_name == "tests-Sample"


def test_a_built_layer_is_imported_from_python(tmp_path: Path) -> None:
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "src").mkdir()
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n"
        "  L: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layer}}\n"
        "  F: {Type: AWS::Serverless::Function, Properties: {CodeUri: src, Handler: a.b, Layers: [!Ref L]}}\n"
    )

    spec = read_function(template, "F")

    assert spec.layer_paths == (tmp_path / "layer" / "python",)
    assert spec.timeout == 3


def test_an_unknown_function_lists_the_functions() -> None:
    functions = "BrokenFunction, SampleFunction, SilentFunction, SleepyFunction"
    with pytest.raises(TemplateError, match=f"its functions: {functions}"):
        read_function(SAMPLE, "Nope")


def test_a_layer_from_a_parameter_is_named_as_the_template_writes_it(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    template = tmp_path / "template.yaml"
    template.write_text(
        "Parameters:\n"
        "  CoreLayerArn: {Type: String}\n"
        "Resources:\n"
        "  F:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: src, Handler: a.b, Layers: [!Ref CoreLayerArn]}\n"
    )

    spec = read_function(template, "F")

    assert spec.layer_paths == ()
    assert spec.notes == (
        "layer !Ref CoreLayerArn is not a layer of this template, so its code is not loaded; the packages "
        "installed with cfnkit (the cfnkit core among them) are importable",
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"Ref": "CoreLayerArn"}, "!Ref CoreLayerArn"),
        ({"Fn::ImportValue": "cfnkit-CoreLayerArn"}, "!ImportValue cfnkit-CoreLayerArn"),
        ({"Fn::GetAtt": ["Layer", "Arn"]}, "!GetAtt Layer.Arn"),
        ({"Fn::Sub": ["${A}", {"A": "x"}]}, '!Sub ["${A}", {"A": "x"}]'),
        ("arn:aws:lambda:us-east-1:1:layer:x:1", "arn:aws:lambda:us-east-1:1:layer:x:1"),
    ],
)
def test_intrinsics_read_as_their_short_form(value: object, text: str) -> None:
    assert intrinsic_text(value) == text
