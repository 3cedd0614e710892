"""LambdaInvoker's local seam: CFNKIT_LOCAL_CONTINUATION_DIR makes it write the event instead of invoking."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cfnkit.errors import ContinuationFailed
from cfnkit.waiter import LOCAL_CONTINUATION_ENV, LambdaInvoker

ARN = "arn:aws:lambda:us-east-1:123456789012:function:cfnkit-provider"
EVENT = {"RequestType": "Create", "CfnkitContinuation": {"state": {"n": 1}, "started_at": 1.0, "hop": 1}}


def test_writes_the_event_as_one_json_file_when_the_directory_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCAL_CONTINUATION_ENV, str(tmp_path))

    LambdaInvoker().invoke_async(ARN, EVENT)

    files = list(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".json"]
    assert json.loads(files[0].read_text()) == EVENT


def test_an_explicit_client_is_used_even_when_the_directory_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    class Client:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return {"StatusCode": 202}

    monkeypatch.setenv(LOCAL_CONTINUATION_ENV, str(tmp_path))

    LambdaInvoker(Client()).invoke_async(ARN, EVENT)

    assert [c["FunctionName"] for c in calls] == [ARN]
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_directory_is_a_continuation_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(LOCAL_CONTINUATION_ENV, str(tmp_path / "missing"))

    with pytest.raises(ContinuationFailed, match=f"could not write the continuation to {LOCAL_CONTINUATION_ENV}"):
        LambdaInvoker().invoke_async(ARN, EVENT)


def test_the_file_is_written_in_the_directory_itself_never_via_the_system_temp_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written beside its final name and renamed, the file appears whole or not at all; a
    # temporary file elsewhere (perhaps another filesystem) could not be renamed into place.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-system-temp"))
    continuations = tmp_path / "continuations"
    continuations.mkdir()
    monkeypatch.setenv(LOCAL_CONTINUATION_ENV, str(continuations))

    LambdaInvoker().invoke_async(ARN, EVENT)

    (written,) = continuations.iterdir()
    assert written.suffix == ".json"
    assert json.loads(written.read_text()) == EVENT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["continuations"]
