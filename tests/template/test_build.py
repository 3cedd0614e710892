"""`sam build` of template.yaml: the artifacts hold what they should and nothing else.

Needs the SAM CLI of the dev extras (skipped, saying so, without it), make (the layer's
BuildMethod) and a python3.13 (the functions' runtime): CI has all three; python3.13 is
found through `pyenv root` when it is not on PATH. Sizes are printed (run with -s) and
attached to the test report as properties.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

FUNCTIONS = {
    "EcsTaskRunnerFunction": "functions/ecs_task_runner",
    "SecretsResolverFunction": "functions/secrets_resolver",
}
#: Modules of the pip package that do not run in Lambda, so the layer leaves them out.
NOT_IN_LAYER = {"testing.py", "secrets_exec.py"}
#: Lambda's limit for a function and its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def python313_bin() -> Path:
    """The bin directory of a working python3.13 (PATH first, then pyenv's versions)."""
    candidates: list[Path] = []
    on_path = shutil.which("python3.13")
    if on_path:
        candidates.append(Path(on_path).parent)
    pyenv = shutil.which("pyenv")
    if pyenv:
        pyenv_root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=True).stdout.strip()
        candidates += sorted(Path(pyenv_root).glob("versions/3.13*/bin"), reverse=True)
    for directory in candidates:
        interpreter = directory / "python3.13"
        probe = subprocess.run(
            [str(interpreter), "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 13)":
            return directory
    pytest.fail("sam build needs python3.13 on PATH or under `pyenv root`/versions/3.13*")


def source_files(directory: Path) -> set[str]:
    return {
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def built_files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def installed_files(directory: Path) -> set[str]:
    """Files pip installed from requirements.txt, per the RECORD of each *.dist-info."""
    recorded: set[str] = set()
    for record in directory.glob("*.dist-info/RECORD"):
        for line in record.read_text().splitlines():
            if line:
                recorded.add(os.path.normpath(line.split(",")[0]))
    return recorded


def sizes(directory: Path) -> dict[str, int]:
    """Unzipped bytes and the bytes of the deflated zip sam package would upload."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            unzipped += path.stat().st_size
            archive.write(path, path.relative_to(directory))
    return {"files": len(built_files(directory)), "unzipped": unzipped, "zipped": len(buffer.getvalue())}


@pytest.fixture(scope="module")
def build(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sam = Path(sys.executable).parent / "sam"
    if not sam.exists():
        pytest.skip(f"the SAM CLI is not installed next to {sys.executable} (pip install -e '.[dev]')")
    if shutil.which("make") is None:
        pytest.skip("the core layer's BuildMethod is makefile (layers/core/Makefile) and make is not installed")
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    env = dict(os.environ, SAM_CLI_TELEMETRY="0", PATH=f"{python313_bin()}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [str(sam), "build", "--template-file", str(root / "template.yaml"), "--build-dir", str(build_dir)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return build_dir


def test_built_template_points_at_one_artifact_per_resource(build: Path) -> None:
    from cfnlint.decode import cfn_yaml

    built: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(build / "template.yaml"))))
    resources = built["Resources"]
    assert resources["CoreLayer"]["Properties"]["ContentUri"] == "CoreLayer"
    for name in FUNCTIONS:
        assert resources[name]["Properties"]["CodeUri"] == name


def test_layer_holds_only_what_runs_in_lambda_under_python(build: Path, root: Path) -> None:
    layer = build / "CoreLayer"
    core = source_files(root / "layers/core/cfnkit")
    assert core >= NOT_IN_LAYER
    assert built_files(layer) == {f"python/cfnkit/{f}" for f in core - NOT_IN_LAYER}


def test_layer_imports_as_cfnkit_with_only_the_stdlib(build: Path) -> None:
    """Every core module imports in a bare python3.13 (no boto3), from the layer's python/."""
    python_dir = build / "CoreLayer" / "python"
    script = (
        "import importlib, pkgutil, sys\n"
        f"sys.path.insert(0, {str(python_dir)!r})\n"
        "import cfnkit\n"
        "names = [m.name for m in pkgutil.walk_packages(cfnkit.__path__, 'cfnkit.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(cfnkit.__file__)\n"
        "print(len(names))\n"
    )
    interpreter = python313_bin() / "python3.13"
    result = subprocess.run([str(interpreter), "-I", "-B", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    location, count = result.stdout.split()
    assert Path(location) == python_dir / "cfnkit" / "__init__.py"
    assert int(count) >= 5
    for name in NOT_IN_LAYER:
        assert not (python_dir / "cfnkit" / name).exists()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_artifact_holds_only_its_code_and_requirements(build: Path, root: Path, name: str) -> None:
    artifact = build / name
    own = source_files(root / FUNCTIONS[name])
    assert "app.py" in own
    files = built_files(artifact)
    assert own <= files
    extra = files - own - installed_files(artifact)
    assert extra == set()
    assert not (artifact / "cfnkit").exists(), "the core belongs in the layer only"
    other = next(f for n, f in FUNCTIONS.items() if n != name)
    assert not (source_files(root / other) - {"app.py", "requirements.txt"}) & files


def test_sizes_fit_lambda_and_are_reported(
    build: Path, record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    measured = {name: sizes(build / name) for name in ["CoreLayer", *sorted(FUNCTIONS)]}
    for name, numbers in measured.items():
        record_property(f"{name}_zipped_bytes", numbers["zipped"])
        record_property(f"{name}_unzipped_bytes", numbers["unzipped"])
    with capsys.disabled():
        print("\nsam build artifact sizes (bytes):")
        for name, numbers in measured.items():
            print(
                f"  {name:26} files={numbers['files']:4}  unzipped={numbers['unzipped']:9}  "
                f"zipped={numbers['zipped']:9}"
            )
    layer = measured["CoreLayer"]["unzipped"]
    for name in FUNCTIONS:
        assert measured[name]["unzipped"] + layer < LAMBDA_UNZIPPED_LIMIT


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_built_handler_imports_like_lambda_without_boto3(build: Path, name: str) -> None:
    """/var/task (the artifact) and /opt/python (the layer) are all a handler gets; boto3 stays lazy."""
    script = (
        "import sys\n"
        f"sys.path[:0] = [{str(build / name)!r}, {str(build / 'CoreLayer' / 'python')!r}]\n"
        "import app\n"
        "assert callable(app.handler)\n"
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))\n"
    )
    interpreter = python313_bin() / "python3.13"
    result = subprocess.run([str(interpreter), "-I", "-B", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_built_handler_answers_the_ready_delete_event_on_python313(build: Path, root: Path, name: str) -> None:
    """The built artifact, on the target Python, answers a Delete through the real sender.

    Neither provider calls AWS on this Delete (the runner's RunOn leaves Delete out; the
    resolver never touches anything on Delete), so no boto3 is needed.
    """
    from cfnkit.testing import ResponseServer

    folder = FUNCTIONS[name].split("/")[-1]
    event = json.loads((root / "events" / folder / "delete.json").read_text())
    with ResponseServer() as server:
        event["ResponseURL"] = server.url
        script = (
            "import json, sys\n"
            f"sys.path[:0] = [{str(build / name)!r}, {str(build / 'CoreLayer' / 'python')!r}]\n"
            "import app\n"
            "class Context:\n"  # cfnkit.testing is not in the layer: a context as Lambda passes it
            "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:f'\n"
            "    def get_remaining_time_in_millis(self): return 30000\n"
            "app.handler(json.loads(sys.stdin.read()), Context())\n"
        )
        interpreter = python313_bin() / "python3.13"
        result = subprocess.run(
            [str(interpreter), "-I", "-B", "-c", script],
            input=json.dumps(event),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        (put,) = server.wait_for(1)
    body = put.json()
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == event["PhysicalResourceId"]
    assert body["RequestId"] == event["RequestId"]
    assert body["LogicalResourceId"] == event["LogicalResourceId"]
