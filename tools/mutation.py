"""Mutation testing of the core: python tools/mutation.py [MODULE ...] [--fresh] [--report-only].

mutmut names a mutant by its file's path (`layers/core/cfnkit/sender.py` would be the
module `layers.core.cfnkit.sender`), while the tests import `cfnkit.sender`, so mutmut
cannot run in the repository root. This script stages the core as a top-level
package beside the core's unit tests and pyproject.toml (whose [tool.mutmut] section
configures the run) in `.mutation/`, runs mutmut there with ONE worker, module by
module, and prints the score of each module over ALL its mutants:

    killed / total   (killed includes mutants the tests stopped by a timeout)

mutmut itself runs from its own virtual environment, `.venv-mutation/` (made on the first
run: mutmut 3.8.1 and the core tests' dependencies, pinned by constraints.txt): 3.8
is the first release that mutates methods of dataclasses (Budget's timing rules, the schema
types' parse, Request and Response), and it needs a click that aws-sam-cli's pin in the dev
extras forbids.

Survivors listed in tests/mutation/equivalent.toml (with a one-line reason each) are
reported apart; any other survivor is printed so it can be killed or justified.
The exit status is 1 when a module has an unexplained survivor.

MODULE is one of sender, protocol, schema, logs, handler, waiter, budget (default: all).
Results are kept in .mutation/ between runs; --fresh starts over.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / ".mutation"
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.toml"
MODULES = ("sender", "protocol", "schema", "logs", "handler", "waiter", "budget")
VENV = ROOT / ".venv-mutation"
MUTMUT_VERSION = "3.8.1"
#: What tests/unit/core imports beside the core (constraints.txt pins each version).
TEST_DEPENDENCIES = ("pytest", "pytest-cov", "hypothesis", "boto3", "moto", "aws-lambda-powertools", "cryptography")
#: mutmut's exit-code classes (mutmut/__main__.py: status_by_exit_code).
KILLED_STATUSES = {"killed", "timeout"}
#: mutmut 3.7 (the newest that installs beside aws-sam-cli's click pin) reads Item._nodeid,
#: which pytest 9 renamed; the staged conftest gives it back.
PYTEST9_SHIM = """

def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:  # added by tools/mutation.py
    for item in items:
        item._nodeid = item.nodeid  # type: ignore[attr-defined]
"""


@dataclass
class Score:
    module: str
    statuses: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.statuses)

    @property
    def killed(self) -> int:
        return sum(status in KILLED_STATUSES for status in self.statuses.values())

    def survivors(self) -> list[str]:
        return sorted(name for name, status in self.statuses.items() if status not in KILLED_STATUSES)

    def stale(self, equivalent: dict[str, str]) -> list[str]:
        """This module's entries in the equivalent list that name no surviving mutant (killed
        now, or renumbered away when their function changed): each must be re-checked."""
        prefix, surviving = f"cfnkit.{self.module}.", set(self.survivors())
        return sorted(name for name in equivalent if name.startswith(prefix) and name not in surviving)


def stage(fresh: bool) -> None:
    """Copy the core, its unit tests and pyproject.toml into .mutation/ (mutmut's results stay)."""
    if fresh and STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(exist_ok=True)
    (STAGE / ".gitignore").write_text("*\n")
    for name in ("cfnkit", "tests"):
        shutil.rmtree(STAGE / name, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    shutil.copytree(ROOT / "layers" / "core" / "cfnkit", STAGE / "cfnkit", ignore=ignore)
    shutil.copytree(ROOT / "tests" / "unit" / "core", STAGE / "tests" / "unit" / "core", ignore=ignore)
    for shared in ("conftest.py", "support.py"):
        shutil.copy2(ROOT / "tests" / shared, STAGE / "tests" / shared)
    with (STAGE / "tests" / "conftest.py").open("a") as conftest:
        conftest.write(PYTEST9_SHIM)
    shutil.copy2(ROOT / "pyproject.toml", STAGE / "pyproject.toml")
    for module in MODULES:  # a copy mutmut made while the module was not yet mutated would stay so
        if not (STAGE / "mutants" / "cfnkit" / f"{module}.py.meta").exists():
            (STAGE / "mutants" / "cfnkit" / f"{module}.py").unlink(missing_ok=True)


def mutmut(*args: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HYPOTHESIS_PROFILE"] = "mutation"  # tests/conftest.py: fixed examples, fewer of them
    command = [sys.executable, "-m", "mutmut", *args]
    return subprocess.run(command, cwd=STAGE, env=env, check=False).returncode  # noqa: S603 - our own interpreter and venv


def retest_survivors(modules: list[str]) -> None:
    """Forget the survivors' verdicts and which tests reach which function: mutmut
    re-tests a mutant only when its function changed, and maps tests to functions once,
    so a new test would never be run against the survivor it was written to kill."""
    from mutmut.__main__ import status_by_exit_code

    (STAGE / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)

    for module in modules:
        meta = STAGE / "mutants" / "cfnkit" / f"{module}.py.meta"
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        verdicts = data.get("exit_code_by_key", {})
        for name, exit_code in verdicts.items():
            if exit_code is not None and status_by_exit_code[exit_code] not in KILLED_STATUSES:
                verdicts[name] = None
        meta.write_text(json.dumps(data, indent=4))


def read_scores() -> dict[str, Score]:
    """Each module's mutants and their status, from mutmut's .meta files."""
    from mutmut.__main__ import status_by_exit_code

    scores = {module: Score(module) for module in MODULES}
    for meta in (STAGE / "mutants" / "cfnkit").glob("*.py.meta"):
        module = meta.name.removesuffix(".py.meta")
        if module not in scores:
            continue
        data = json.loads(meta.read_text())
        for name, exit_code in data.get("exit_code_by_key", {}).items():
            scores[module].statuses[name] = status_by_exit_code.get(exit_code, "not checked")
    return scores


def equivalent_mutants() -> dict[str, str]:
    with EQUIVALENT.open("rb") as handle:
        table = tomllib.load(handle)
    return {str(name): str(reason) for name, reason in table.get("equivalent", {}).items()}


def report(modules: list[str]) -> int:
    scores = read_scores()
    equivalent = equivalent_mutants()
    unexplained = 0
    print(f"{'module':<10} {'killed':>7} {'total':>6} {'score':>7} {'timeout':>8}  survivors: equivalent / unexplained")
    for module in modules:
        score = scores[module]
        survivors = score.survivors()
        justified = [name for name in survivors if name in equivalent]
        others = [name for name in survivors if name not in equivalent]
        unexplained += len(others)
        percent = f"{100 * score.killed / score.total:.1f}%" if score.total else "-"
        timeouts = sum(status == "timeout" for status in score.statuses.values())
        print(
            f"{module:<10} {score.killed:>7} {score.total:>6} {percent:>7} {timeouts:>8}  "
            f"{len(justified)} / {len(others)}"
        )
        for name in others:
            print(f"    unexplained: {name} ({score.statuses[name]})")
        stale = score.stale(equivalent) if score.total else []
        unexplained += len(stale)
        for name in stale:
            print(f"    stale equivalent entry: {name} ({score.statuses.get(name, 'no such mutant')})")
    return 1 if unexplained else 0


def mutation_python() -> Path:
    """.venv-mutation's interpreter, made (or brought to MUTMUT_VERSION) first if need be."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('mutmut'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603 - our own interpreter and venv
        if found == MUTMUT_VERSION:
            return python
    print(f"== making {VENV.name}/ with mutmut {MUTMUT_VERSION} (once)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603 - our own interpreter and venv
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "-c", str(ROOT / "constraints.txt"), *TEST_DEPENDENCIES], check=True)  # noqa: S603 - our own interpreter and venv
    # Not under constraints.txt: its click pin (aws-sam-cli's) is the one mutmut 3.8 cannot use.
    subprocess.run([*pip, f"mutmut=={MUTMUT_VERSION}"], check=True)  # noqa: S603 - our own interpreter and venv
    return python


def main(argv: list[str] | None = None) -> int:
    if Path(sys.prefix).resolve() != VENV.resolve():
        arguments = sys.argv[1:] if argv is None else argv
        return subprocess.run([str(mutation_python()), __file__, *arguments], check=False).returncode  # noqa: S603 - our own interpreter and venv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"one or more of {', '.join(MODULES)}")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--report-only", action="store_true", help="print the scores of the last run")
    options = parser.parse_args(argv)
    modules = options.modules or list(MODULES)
    unknown = sorted(set(modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    if not options.report_only:
        stage(options.fresh)
        retest_survivors(modules)
        for module in modules:
            print(f"== mutmut: cfnkit.{module}", flush=True)
            mutmut("run", "--max-children", "1", f"cfnkit.{module}.*")
    return report(modules)


if __name__ == "__main__":
    sys.exit(main())
