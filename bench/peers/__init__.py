"""Peers for comparison only (excluded from ruff): the tools users have today.

- cfnresponse.py: AWS's cfnresponse module as the Lambda Python runtime ships it
  (inline ZipFile functions), reproduced faithfully.
- doc_ecs_runner.py / doc_secrets.py: the source document's handlers (chapters 8-9).
- crhelper_ecs.py / crhelper_secrets.py: the same providers written with crhelper,
  the way its README recommends (poll_create for long work).

Each module creates its boto3 clients at import, as the originals do, so the
benchmark loads a fresh copy inside each moto session (bench.peers.load).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
_count = 0


def load(name: str) -> types.ModuleType:
    """A fresh copy of bench/peers/<name>.py (its module-level clients are created now)."""
    global _count
    _count += 1
    # The peers `import cfnresponse` as a top-level module, as Lambda provides it.
    if "cfnresponse" not in sys.modules:
        spec = importlib.util.spec_from_file_location("cfnresponse", HERE / "cfnresponse.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["cfnresponse"] = module
        spec.loader.exec_module(module)
    spec = importlib.util.spec_from_file_location(f"_peer_{name}_{_count}", HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
