"""The package surface: every public name resolves, and `import cfnkit` stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cfnkit
import pytest

CORE = Path(__file__).resolve().parents[3] / "layers" / "core"


def test_every_name_in_all_resolves() -> None:
    for name in cfnkit.__all__:
        assert getattr(cfnkit, name) is not None, name
    assert set(cfnkit.__all__) <= set(dir(cfnkit))


def test_lazy_names_are_the_modules_own() -> None:
    from cfnkit import awsparams, schema

    assert cfnkit.Schema is schema.Schema
    assert cfnkit.not_both is schema.not_both
    assert cfnkit.api_params is awsparams.api_params


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = cfnkit.Nope


def test_import_cfnkit_loads_no_heavy_or_optional_module() -> None:
    code = (
        "import sys, json, logging, re, dataclasses; before = set(sys.modules); import cfnkit; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], env={"PYTHONPATH": str(CORE)}, check=True, capture_output=True, text=True
        ).stdout.split()
    )
    assert {"cfnkit", "cfnkit.handler"} <= loaded
    heavy = {
        "cfnkit.schema",
        "cfnkit.awsparams",
        "cfnkit.testing",
        "botocore",
        "boto3",
        "difflib",
        "hashlib",
        "random",
        "tempfile",
        "datetime",
        "http.client",
        "ssl",
        "uuid",
        "urllib.parse",
    }
    assert loaded & heavy == set()


def test_the_clock_seam_is_exported_and_its_old_path_still_imports() -> None:
    from cfnkit import clock, sender

    assert cfnkit.Clock is clock.Clock is sender.Clock
    assert cfnkit.SystemClock is clock.SystemClock is sender.SystemClock
    assert isinstance(cfnkit.SystemClock().now(), float)
