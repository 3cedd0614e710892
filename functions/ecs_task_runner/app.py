"""Lambda entry point of Custom::EcsTask: wiring only (see ecs_runner.py)."""

from __future__ import annotations

from typing import Any

from cfnkit import CustomResource

# Lambda puts this directory on sys.path; mypy checks ecs_runner itself (with
# MYPYPATH=functions/ecs_task_runner), so an unresolved import here is not an error.
from ecs_runner import EcsTaskRunner  # type: ignore[import-not-found, unused-ignore]


def handler(event: dict[str, Any], context: Any) -> None:
    # Clients are created on first use inside the provider, never at import time.
    CustomResource(EcsTaskRunner())(event, context)
