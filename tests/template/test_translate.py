"""The SAM translator turns template.yaml into plain CloudFormation offline."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The translator asks IAM for AWS managed policies only when a function uses SAM policy names."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture
def translated(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    doc = copy.deepcopy(template)
    for name, resource in doc["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in props:  # what `sam package` would put there
                props[key] = f"s3://cfnkit-artifacts/{name}.zip"
    result: dict[str, Any] = transform(doc, {}, NoManagedPolicies())
    return result


def test_translation_yields_plain_cloudformation(translated: dict[str, Any]) -> None:
    types = {resource["Type"] for resource in translated["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::Serverless::")}
    assert "Transform" not in translated


def test_functions_become_lambda_functions_on_the_layer_version(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    layers = [name for name, r in resources.items() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert len(layers) == 1
    for name in ("EcsTaskRunnerFunction", "SecretsResolverFunction"):
        props = resources[name]["Properties"]
        assert resources[name]["Type"] == "AWS::Lambda::Function"
        assert props["Layers"] == [{"Ref": layers[0]}]
        assert props["Code"] == {"S3Bucket": "cfnkit-artifacts", "S3Key": f"{name}.zip"}
        assert props["Architectures"] == ["arm64"]


def test_translation_adds_no_roles_of_its_own(translated: dict[str, Any]) -> None:
    roles = sorted(name for name, r in translated["Resources"].items() if r["Type"] == "AWS::IAM::Role")
    assert roles == ["EcsTaskRunnerRole", "SecretsResolverRole"]


def test_outputs_survive_translation_with_the_layer_reference_rewritten(translated: dict[str, Any]) -> None:
    outputs = translated["Outputs"]
    assert outputs["EcsTaskRunnerServiceToken"]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-EcsTaskRunner"}
    assert outputs["SecretsResolverServiceToken"]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-SecretsResolver"}
    layer_ref = outputs["CoreLayerArn"]["Value"]["Ref"]
    assert translated["Resources"][layer_ref]["Type"] == "AWS::Lambda::LayerVersion"
