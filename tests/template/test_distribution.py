"""cfnkit as something people install: the SAR metadata, one version everywhere, the nested example."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import cfnkit
import pytest
from cfnkit_tools.cli import run
from cfnlint.decode import cfn_yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
NESTED = ROOT / "examples" / "nested" / "stack.yaml"


def load_template(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(path))))
    return doc


def pyproject_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version


def sar(template: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = template["Metadata"]["AWS::ServerlessRepo::Application"]
    return metadata


def test_the_version_is_one_number_everywhere(template: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    version = pyproject_version()
    with pytest.raises(SystemExit) as exited:
        run(["--version"])
    changelog = (ROOT / "CHANGELOG.md").read_text()
    latest = re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)

    assert re.fullmatch(r"\d+\.\d+\.\d+", version)  # SAR takes semantic versions only
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"cfnkit {version}\n"
    assert cfnkit.__version__ == version
    assert sar(template)["SemanticVersion"] == version
    assert latest is not None
    assert latest.group(1) == version


def test_the_nested_example_deploys_the_version_this_is(template: dict[str, Any]) -> None:
    nested = load_template(NESTED)

    location = nested["Resources"]["Cfnkit"]["Properties"]["Location"]
    assert location["SemanticVersion"] == sar(template)["SemanticVersion"]


def test_the_sar_metadata_names_its_files_and_license(template: dict[str, Any]) -> None:
    metadata = sar(template)

    assert metadata["Name"] == "cfnkit"
    assert metadata["Author"]
    assert metadata["Description"]
    assert metadata["SpdxLicenseId"] == "Apache-2.0"
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "Apache-2.0"}
    # sam package uploads these local files; a missing one fails the package step.
    for key in ("LicenseUrl", "ReadmeUrl"):
        assert (ROOT / metadata[key]).is_file(), key
    assert "Apache License\n                           Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()
    assert metadata["SourceCodeUrl"].startswith("https://")


def test_the_nested_example_passes_every_parameter_cfnkit_requires(template: dict[str, Any]) -> None:
    nested = load_template(NESTED)
    required = {name for name, spec in template["Parameters"].items() if "Default" not in spec}

    given = set(nested["Resources"]["Cfnkit"]["Properties"]["Parameters"])

    assert required <= given
    assert given <= set(template["Parameters"])


@pytest.mark.parametrize("logical_id", ["Secrets", "MigrateTask"])
def test_the_nested_examples_service_tokens_are_cfnkit_outputs(template: dict[str, Any], logical_id: str) -> None:
    nested = load_template(NESTED)

    token = nested["Resources"][logical_id]["Properties"]["ServiceToken"]

    app, attribute = token["Fn::GetAtt"]
    output = attribute.removeprefix("Outputs.")
    assert app == "Cfnkit"
    assert template["Outputs"][output]["Value"]["Fn::GetAtt"][1] == "Arn"


@pytest.mark.slow
def test_sam_validate_lints_the_nested_example() -> None:
    sam = Path(sys.executable).parent / "sam"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}

    done = subprocess.run(
        [str(sam), "validate", "--lint", "--template-file", str(NESTED)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


def pins(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version
    return found


@pytest.mark.parametrize("extra", ["dev", "cli", "aws"])
def test_constraints_pin_every_declared_dependency_inside_its_range(extra: str) -> None:
    pinned = pins(ROOT / "constraints.txt")
    declared = [
        Requirement(r)
        for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][extra]
    ]

    missing = [str(r) for r in declared if canonicalize_name(r.name) not in pinned]
    outside = [
        f"{r} (pinned {pinned[canonicalize_name(r.name)]})"
        for r in declared
        if canonicalize_name(r.name) in pinned and pinned[canonicalize_name(r.name)] not in r.specifier
    ]
    assert missing == [], "refresh constraints.txt (docs/contributing.md)"
    assert outside == []
    assert "cfnkit" not in pinned  # the project itself is installed from the checkout


def test_the_lambda_sdk_pins_are_one_boto3_botocore_pair_older_than_development() -> None:
    lambda_sdk = pins(ROOT / "constraints" / "lambda-python3.13.txt")
    development = pins(ROOT / "constraints.txt")

    assert set(lambda_sdk) == {"boto3", "botocore"}
    assert lambda_sdk["boto3"] == lambda_sdk["botocore"]  # released together, same number
    assert Version(lambda_sdk["boto3"]) <= Version(development["boto3"])
