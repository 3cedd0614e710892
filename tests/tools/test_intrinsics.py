"""Offline intrinsic resolution and CloudFormation YAML short tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnkit_tools.cfn_yaml import TemplateError, load_template
from cfnkit_tools.intrinsics import Resolver, stringify

TEMPLATE = """
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Env: {Type: String, Default: prod}
  Zones: {Type: CommaDelimitedList, Default: "a, b"}
  Secret: {Type: String}
Mappings:
  Sizes:
    prod: {Cpu: 512}
    dev: {Cpu: 256}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-data"
  Thing:
    Type: Custom::Thing
    Properties:
      ServiceToken: !GetAtt Fn.Arn
      Name: !Sub "${Env}-${AWS::Region}-${Bucket}-${!Literal}"
      Mapped: !Sub ["${Prefix}/${Bucket.Arn}", {Prefix: !Ref Env}]
      Joined: !Join [",", !Ref Zones]
      Second: !Select [1, !Split ["/", "a/b/c"]]
      Cpu: !FindInMap [Sizes, !Ref Env, Cpu]
      Chosen: !If [IsProd, big, small]
      Other: !If [NotProd, x, !Ref AWS::NoValue]
      Dotted: !GetAtt Db.Endpoint.Address
      Missing: !Ref Secret
      Flag: true
  Fn:
    Type: AWS::Lambda::Function
  Db:
    Type: AWS::RDS::DBInstance
"""


@pytest.fixture
def template(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "stack.yaml"
    path.write_text(TEMPLATE)
    return load_template(path)


def test_short_tags_load_as_long_forms(template: dict[str, Any]) -> None:
    props = template["Resources"]["Thing"]["Properties"]
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert props["ServiceToken"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert props["Dotted"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert template["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}


def test_every_supported_function_resolves(template: dict[str, Any]) -> None:
    resolver = Resolver(template, {"Fn.Arn": "arn:fn"}, default_stack_name="demo")

    props = stringify(resolver.resolve(template["Resources"]["Thing"]["Properties"]))

    assert props == {
        "ServiceToken": "arn:fn",
        "Name": "prod-us-east-1-demo-data-${Literal}",
        "Mapped": "prod/<Bucket.Arn>",
        "Joined": "a,b",
        "Second": "b",
        "Cpu": "512",
        "Chosen": "big",
        "Dotted": "<Db.Endpoint.Address>",
        "Missing": "<Secret>",
        "Flag": "true",
    }
    assert resolver.placeholders == ["<Bucket.Arn>", "<Db.Endpoint.Address>", "<Secret>"]


def test_overrides_win_over_defaults_and_placeholders(template: dict[str, Any]) -> None:
    resolver = Resolver(template, {"Env": "dev", "Secret": "s", "Db.Endpoint.Address": "db.local", "Fn.Arn": "arn:fn"})

    props = resolver.resolve(template["Resources"]["Thing"]["Properties"])

    assert props["Chosen"] == "small"
    assert props["Other"] == "x"
    assert props["Missing"] == "s"
    assert props["Dotted"] == "db.local"


def test_an_unknown_ref_is_a_template_error(template: dict[str, Any]) -> None:
    with pytest.raises(TemplateError, match="Ref Nope: no such parameter or resource"):
        Resolver(template).resolve({"Ref": "Nope"})


def test_a_file_without_resources_is_not_a_template(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n")

    with pytest.raises(TemplateError, match="is not a CloudFormation template"):
        load_template(path)
