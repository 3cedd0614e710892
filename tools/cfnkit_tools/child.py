"""The emulated Lambda process: `python -c "from cfnkit_tools.child import main; main()" SPEC.json`.

SPEC.json names the code folder, the layers' folders, the handler, the timeout and the
files to read the event from and write the outcome to. sys.path is set as Lambda sets
it (the code first, then the layers), the working directory is the code folder, and the
context's deadline starts when the handler is called. Stdlib only: nothing of cfnkit_tools
but this module is imported here.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any


class LocalContext:
    """The Lambda context object, with a real deadline."""

    def __init__(
        self,
        *,
        function_name: str,
        function_arn: str,
        memory_mb: int,
        timeout: float,
        log_group: str,
        log_stream: str,
        request_id: str,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = log_group
        self.log_stream_name = log_stream
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return repr(value)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    code_dir = str(spec["code_dir"])
    layers = [str(p) for p in spec["layer_paths"]]
    here = {"", os.getcwd(), str(Path(__file__).resolve().parent)}
    sys.path[:] = [code_dir, *layers, *(p for p in sys.path if p not in here and p not in layers)]
    os.chdir(code_dir)
    event = json.loads(Path(spec["event_file"]).read_text(encoding="utf-8"))
    try:
        module = importlib.import_module(spec["module"])
        handler = getattr(module, spec["attribute"])
    except Exception as exc:
        return {
            "error": f"Runtime.ImportModuleError: cannot load {spec['module']}.{spec['attribute']}: "
            f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    context = LocalContext(
        function_name=spec["function_name"],
        function_arn=spec["function_arn"],
        memory_mb=int(spec["memory_mb"]),
        timeout=float(spec["timeout"]),
        log_group=f"/aws/lambda/{spec['function_name']}",
        log_stream=time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
        request_id=str(uuid.uuid4()),
    )
    # Lambda's timeout starts with the handler, after the init phase (imports).
    Path(spec["started_file"]).write_text(str(time.time()), encoding="utf-8")
    try:
        value = handler(event, context)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    return {"returned": _jsonable(value)}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    outcome = run(spec)
    sys.stdout.flush()
    Path(spec["result_file"]).write_text(json.dumps(outcome), encoding="utf-8")
