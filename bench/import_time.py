"""Import time of the cfnkit core: median of fresh interpreters, minus a baseline.

    .venv/bin/python bench/import_time.py [--runs 15] [--python PATH]

Baselines: an empty interpreter (`pass`), and one that already imported what the
Lambda Python runtime loads before the handler module (json, logging, re,
dataclasses). The core is imported from layers/core, as the layer ships it.
Also prints the slowest modules `-X importtime` attributes to `import cfnkit`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PRELOAD = "import json, logging, re, dataclasses"
CASES = {
    "empty": "pass",
    "runtime baseline": RUNTIME_PRELOAD,
    "import cfnkit": "import cfnkit",
    "runtime + import cfnkit": f"{RUNTIME_PRELOAD}; import cfnkit",
    "runtime + handler names": f"{RUNTIME_PRELOAD}; from cfnkit import CustomResource, Provider, Result, Schema",
    "runtime + cfnkit.testing": f"{RUNTIME_PRELOAD}; import cfnkit.testing",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "layers" / "core")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(python: str, code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one fresh interpreter."""
    start = time.perf_counter()
    child = subprocess.Popen([python, "-c", code], env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{code!r} failed")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def medians(python: str, runs: int) -> dict[str, tuple[float, float]]:
    """Per case, the median wall and CPU ms. Cases are interleaved round by round so a
    burst of load on the machine hits every case alike rather than one."""
    env = _env()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    for code in CASES.values():
        _run(python, code, env)  # warm the bytecode cache
    for _ in range(runs):
        for name, code in CASES.items():
            samples[name].append(_run(python, code, env))
    return {
        name: (statistics.median(s[0] for s in values), statistics.median(s[1] for s in values))
        for name, values in samples.items()
    }


def slowest_modules(python: str, code: str, top: int = 8) -> list[tuple[int, str]]:
    """The slowest modules (self time, us) imported by the final `import cfnkit` of code."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", code], env=_env(), check=True, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].startswith("import time:") and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    # -X importtime lists a module after everything it imported, indented deeper.
    end = max(i for i, (_, name) in enumerate(rows) if name.strip() == "cfnkit")
    depth = len(rows[end][1]) - len(rows[end][1].lstrip())
    start = end
    while start > 0 and len(rows[start - 1][1]) - len(rows[start - 1][1].lstrip()) > depth:
        start -= 1
    return sorted(((micros, name.strip()) for micros, name in rows[start : end + 1]), reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    result = medians(args.python, args.runs)
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"Python {version}, median of {args.runs} fresh interpreters (ms):")
    print(f"  {'':28} {'wall':>7} {'cpu':>7}")
    for name, (wall, cpu) in result.items():
        print(f"  {name:28} {wall:7.1f} {cpu:7.1f}")
    print("cfnkit adds (wall / cpu, ms):")
    for label, case, base in (
        ("import cfnkit - empty", "import cfnkit", "empty"),
        ("import cfnkit - runtime baseline", "runtime + import cfnkit", "runtime baseline"),
        ("handler names - runtime baseline", "runtime + handler names", "runtime baseline"),
    ):
        wall = result[case][0] - result[base][0]
        cpu = result[case][1] - result[base][1]
        print(f"  {label:36} {wall:6.1f} / {cpu:6.1f}")
    print("slowest modules under `import cfnkit` after the runtime preload (self time, us):")
    for micros, name in slowest_modules(args.python, f"{RUNTIME_PRELOAD}; import cfnkit"):
        print(f"  {micros:7d}  {name}")


if __name__ == "__main__":
    main()
