"""What every test tier shares: fake AWS credentials, moto with the ECS agent, a function's app.py.

Fixtures built on these live in tests/conftest.py (`aws_env`, `server`, log isolation);
import the helpers as `from tests.support import ...`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
#: What moto needs to sign requests; no request ever leaves the process.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def use_fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region in the environment, and no profile that could name real ones."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@contextmanager
def moto_ecs() -> Iterator[None]:
    """moto for every service, with the ECS agent emulator holding tasks until a test stops them."""
    from cfnkit_tools.ecs_agent import EcsAgent
    from moto import mock_aws

    with mock_aws():
        EcsAgent.hold()
        try:
            yield
        finally:
            EcsAgent.release()


def load_app(function: str, module_name: str) -> ModuleType:
    """functions/<function>/app.py as a new module named module_name.

    Each function has its own top-level `app`, so they cannot share the name `app`;
    every caller gives its own name and gets a fresh module (its own warm-start state).
    """
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
