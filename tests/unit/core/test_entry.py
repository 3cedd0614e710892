"""cfnkit.entry: a provider named, not imported, is loaded inside the exactly-once guarantee.

Each test writes a real provider module into a temporary folder on sys.path (as Lambda puts
the function's code folder on it) and runs the handler once; the exact response sent is
asserted, and that exactly one was sent.
"""

from __future__ import annotations

import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnkit import InProgress, Provider, Request, Result
from cfnkit.entry import PROVIDER_ENV, ProviderHandler, _LazyProvider, _Target, handler, serve
from cfnkit.protocol import parse_request
from cfnkit.sender import Delivery
from cfnkit.testing import FakeClock, FakeContext, RecordingSender, create_event, delete_event, update_event

WHERE = (
    "see CloudWatch Logs group /aws/lambda/cfnkit-provider, stream 2026/01/01/[$LATEST]0123456789abcdef, "
    "request 00000000-0000-4000-8000-000000000001"
)

GOOD = """
    from cfnkit import Provider, Result

    class Topic(Provider):
        def create(self, request):
            return Result(physical_id="orders", data={"Arn": "arn:example:topic/orders"})
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """write(source) -> the name of a fresh module holding source, importable like Lambda's code folder."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def write(source: str) -> str:
        name = f"provider_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source).lstrip("\n"))
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)


def run(
    target_handler: Callable[[Any, Any], None], event: dict[str, Any] | None = None, timeout: float = 900.0
) -> dict[str, Any]:
    sender = target_handler.sender  # type: ignore[attr-defined]
    target_handler(event or create_event({"Name": "orders"}), FakeContext(timeout=timeout))
    return sender.only  # type: ignore[no-any-return]


def protected(target: str | None, **options: Any) -> ProviderHandler:
    sender = RecordingSender()
    made = ProviderHandler(target, sender=sender, clock=FakeClock(), **options)
    made.sender = sender  # type: ignore[attr-defined]
    return made


def test_a_named_provider_answers_success(module: Callable[[str], str]) -> None:
    body = run(protected(f"{module(GOOD)}:Topic"))

    assert (body["Status"], body["PhysicalResourceId"], body["Data"]) == (
        "SUCCESS",
        "orders",
        {"Arn": "arn:example:topic/orders"},
    )


def test_serve_builds_the_same_protected_handler(module: Callable[[str], str]) -> None:
    sender = RecordingSender()
    served = serve(f"{module(GOOD)}:Topic", sender=sender, clock=FakeClock())

    served(create_event({}), FakeContext())

    assert isinstance(served, ProviderHandler)
    assert sender.only["Status"] == "SUCCESS"


def test_an_import_error_is_one_failed_naming_the_file_and_line(module: Callable[[str], str]) -> None:
    name = module("""
        from cfnkit import Provider

        TABLE = {}["TABLE_NAME"]
    """)

    body = run(protected(f"{name}:Topic"))

    assert body["Status"] == "FAILED"
    assert body["Reason"] == (
        f"Could not import the provider module {name}: KeyError: 'TABLE_NAME' (at {name}.py:3; {WHERE})"
    )
    assert body["PhysicalResourceId"] == f"cfnkit-failed-create-{body['RequestId']}"


def test_a_missing_dependency_says_where_and_what_to_add(module: Callable[[str], str]) -> None:
    name = module("import cfnkit_no_such_dependency\n")

    body = run(protected(f"{name}:Topic"))

    assert body["Reason"] == (
        f"Could not import the provider module {name}: ModuleNotFoundError: No module named "
        f"'cfnkit_no_such_dependency' (at {name}.py:1; add the missing package to the function's "
        f"requirements.txt; {WHERE})"
    )


def test_a_provider_module_that_is_not_there_is_named(module: Callable[[str], str]) -> None:
    body = run(protected("no_such_provider_module:Topic"))

    assert body["Reason"] == (
        "Could not import the provider module no_such_provider_module (serve()'s target is "
        "no_such_provider_module:Topic): there is no module no_such_provider_module on the function's path; "
        "the module must be in the function's code folder (CodeUri) or a layer"
    )


def test_a_syntax_error_names_the_line(module: Callable[[str], str]) -> None:
    name = module("class Topic(:\n    pass\n")

    body = run(protected(f"{name}:Topic"))

    assert body["Reason"].startswith(f"Could not import the provider module {name}: SyntaxError: ")
    assert body["Reason"].endswith(f"(at {name}.py:1; {WHERE})")


def test_a_module_that_exits_at_import_is_answered(module: Callable[[str], str]) -> None:
    name = module("import sys\nsys.exit(3)\n")

    body = run(protected(f"{name}:Topic"))

    assert body["Reason"] == f"Could not import the provider module {name}: SystemExit: 3 (at {name}.py:2; {WHERE})"


def test_a_constructor_error_is_one_failed_naming_the_provider(module: Callable[[str], str]) -> None:
    name = module("""
        import os
        from cfnkit import Provider, Result

        class Topic(Provider):
            def __init__(self):
                self.table = os.environ["CFNKIT_TEST_NO_SUCH_VARIABLE"]

            def create(self, request):
                return Result()
    """)

    body = run(protected(f"{name}:Topic"))

    assert body["Reason"] == (
        f"Could not create the provider {name}:Topic: KeyError: 'CFNKIT_TEST_NO_SUCH_VARIABLE' "
        f"(at {name}.py:6; {WHERE})"
    )


def test_a_provider_error_in_the_constructor_is_the_authors_words(module: Callable[[str], str]) -> None:
    name = module("""
        from cfnkit import Provider, ProviderError

        def build():
            raise ProviderError("set TABLE_NAME on the function")
    """)

    body = run(protected(f"{name}:build"))

    assert body["Reason"] == (
        f"Could not create the provider {name}:build: set TABLE_NAME on the function (at {name}.py:4)"
    )


def test_an_import_error_quoting_a_secret_from_the_environment_is_masked(
    module: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = "hunter2-0d5f4e61"  # the canary
    monkeypatch.setenv("DB_PASSWORD", password)
    name = module("""
        import os
        raise ConnectionError("cannot log in to db with " + os.environ["DB_PASSWORD"])
    """)

    body = run(protected(f"{name}:Topic", log_level="DEBUG"))

    assert body["Reason"] == (
        f"Could not import the provider module {name}: ConnectionError: cannot log in to db "
        f"with **** (at {name}.py:2; {WHERE})"
    )
    out = capsys.readouterr()
    assert "Could not import the provider module" in out.out  # the traceback was logged ...
    assert "0d5f4e61" not in out.out + out.err  # ... without the value


def test_a_missing_attribute_suggests_the_close_name(module: Callable[[str], str]) -> None:
    name = module(GOOD)

    body = run(protected(f"{name}:Topc"))

    assert body["Reason"] == f"Module {name} has no Topc (serve()'s target is {name}:Topc); did you mean Topic?"


def test_a_factory_that_returns_no_provider_is_refused(module: Callable[[str], str]) -> None:
    name = module("def build():\n    return 42\n")

    body = run(protected(f"{name}:build"))

    assert body["Reason"] == f"{name}:build() returned int, expected a cfnkit Provider (a subclass of cfnkit.Provider)"


def test_a_target_that_is_not_callable_is_refused(module: Callable[[str], str]) -> None:
    name = module("Topic = 'not a class'\n")

    body = run(protected(f"{name}:Topic"))

    assert body["Reason"] == f"{name}:Topic is a str, not a Provider class or a function that returns one"


@pytest.mark.parametrize("target", ["topics.Topic", "topics:", ":Topic", "topics:Topic()", "topics/app:Topic"])
def test_a_malformed_target_is_explained(target: str) -> None:
    body = run(protected(target))

    assert body["Reason"] == (
        f"serve()'s target is {target!r}, which does not name a provider: expected "
        "module:attribute, for example topics:Topic (the class Topic in topics.py)"
    )


def test_the_environment_handler_runs_the_provider_the_variable_names(
    module: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PROVIDER_ENV, f" {module(GOOD)}:Topic ")

    body = run(protected(None))

    assert (body["Status"], body["Data"]) == ("SUCCESS", {"Arn": "arn:example:topic/orders"})


@pytest.mark.parametrize(
    "event",
    [create_event({}), update_event({}, {}, "orders"), delete_event({}, "orders")],
    ids=["Create", "Update", "Delete"],
)
def test_the_environment_handler_without_the_variable_says_how_to_set_it(
    event: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PROVIDER_ENV, raising=False)

    body = run(protected(None), event)

    assert body["Reason"] == (
        "CFNKIT_PROVIDER is not set: the handler cfnkit.entry.handler runs the provider it names. "
        "Set the function's environment variable CFNKIT_PROVIDER to module:attribute, for example topics:Topic"
    )


def test_the_module_level_handler_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROVIDER_ENV, "no_such_provider_module:Topic")

    assert isinstance(handler, ProviderHandler)
    assert handler._target().source == PROVIDER_ENV


def test_an_environment_passed_in_replaces_the_process_environment(module: Callable[[str], str]) -> None:
    body = run(protected(None, environ={PROVIDER_ENV: f"{module(GOOD)}:Topic"}))

    assert body["Status"] == "SUCCESS"


def test_after_loading_reasons_name_the_users_provider_class(module: Callable[[str], str]) -> None:
    """Checked by the handler (an outcome that is not a Result) and by its waiter (InProgress without poll)."""
    name = module("""
        from cfnkit import Provider

        class Topic(Provider):
            def create(self, request):
                return 42
    """)

    body = run(protected(f"{name}:Topic"))

    assert body["Reason"] == "Topic returned int, expected Result or InProgress"


def test_after_loading_the_waiter_polls_the_users_provider(module: Callable[[str], str]) -> None:
    name = module("""
        from cfnkit import InProgress, Provider, Result

        class Topic(Provider):
            def create(self, request):
                return InProgress({"polls": 0}, interval=1)

            def poll(self, request, state):
                if state["polls"] < 2:
                    return InProgress({"polls": state["polls"] + 1}, interval=1)
                return Result(data={"Polls": state["polls"]})

        class NoPoll(Provider):
            def create(self, request):
                return InProgress({})
    """)

    polled = run(protected(f"{name}:Topic"))
    unpolled = run(protected(f"{name}:NoPoll"))

    assert (polled["Status"], polled["Data"]) == ("SUCCESS", {"Polls": 2})
    assert unpolled["Reason"] == "NoPoll returned InProgress but does not implement poll"


def test_the_schema_of_the_loaded_provider_is_applied(module: Callable[[str], str]) -> None:
    name = module("""
        from cfnkit import Field, Provider, Result, Schema, String

        class Topic(Provider):
            schema = Schema(Name=Field(String(min_length=1), required=True))

            def create(self, request):
                return Result(physical_id=request.properties["Name"])
    """)

    body = run(protected(f"{name}:Topic"), create_event({"Nmae": "orders"}))

    assert body["Reason"] == (
        "Invalid properties: Nmae: unknown property (did you mean Name?); Name: required; expected a non-empty string"
    )


def test_the_delete_after_a_failed_create_needs_no_provider(module: Callable[[str], str]) -> None:
    name = module("raise RuntimeError('never imported for this Delete')\n")
    event = delete_event({}, "cfnkit-failed-create-7c1e2a4b-0d5f-4e61-9a8b-3c2d1e0f9a01")

    body = run(protected(f"{name}:Topic"), event)

    assert body["Status"] == "SUCCESS"
    assert name not in sys.modules


def test_a_failed_import_is_tried_again_on_the_next_request(
    module: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = module("""
        import os
        if os.environ.get("CFNKIT_TEST_BROKEN"):
            raise RuntimeError("not yet")
        from cfnkit import Provider, Result

        class Topic(Provider):
            def create(self, request):
                return Result()
    """)
    served = protected(f"{name}:Topic")
    monkeypatch.setenv("CFNKIT_TEST_BROKEN", "1")
    served(create_event({}), FakeContext())
    monkeypatch.delenv("CFNKIT_TEST_BROKEN")
    served(create_event({"Again": "1"}), FakeContext())

    assert [b["Status"] for b in served.sender.bodies] == ["FAILED", "SUCCESS"]  # type: ignore[attr-defined]


def test_a_new_provider_is_built_for_every_request(module: Callable[[str], str]) -> None:
    name = module("""
        from cfnkit import Provider, Result

        BUILT = []

        class Topic(Provider):
            def __init__(self):
                BUILT.append(self)

            def create(self, request):
                return Result(data={"Built": len(BUILT)})
    """)
    served = protected(f"{name}:Topic")
    served(create_event({}), FakeContext())
    served(create_event({"Again": "1"}), FakeContext())

    assert [b["Data"]["Built"] for b in served.sender.bodies] == [1, 2]  # type: ignore[attr-defined]


def test_an_import_that_blocks_is_answered_by_the_watchdog(module: Callable[[str], str]) -> None:
    release = threading.Event()

    class ReleasingSender(RecordingSender):
        """Lets the blocked import go on once the watchdog has answered."""

        def send(self, url: str, body: bytes, *, deadline: float | None = None) -> Delivery:
            delivery = super().send(url, body, deadline=deadline)
            release.set()
            return delivery

    sys.modules["cfnkit_test_release"] = release  # type: ignore[assignment]  # what the module waits on
    name = module("import sys\nsys.modules['cfnkit_test_release'].wait(30)\n")
    sender = ReleasingSender()
    try:
        # A real deadline: the watchdog answers 10 % of one second before it.
        ProviderHandler(f"{name}:Topic", sender=sender)(create_event({}), FakeContext(timeout=1.0))
    finally:
        release.set()
        del sys.modules["cfnkit_test_release"]

    # The late "no Topic in the module" answer of the import that finished is dropped.
    assert sender.only["Reason"] == (
        "The function was still working 0.1 s before its Lambda timeout; answering "
        f"FAILED now so the stack does not wait ({WHERE})"
    )


class Recording(Provider):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def create(self, request: Request) -> InProgress:
        self.calls.append("create")
        return InProgress({"n": 1})

    def update(self, request: Request) -> Result:
        self.calls.append("update")
        return Result()

    def delete(self, request: Request) -> Result:
        self.calls.append("delete")
        return Result()

    def poll(self, request: Request, state: Any) -> Result:
        self.calls.append("poll")
        return Result()

    def on_timeout(self, request: Request, state: Any) -> str:
        self.calls.append("on_timeout")
        return "cleaned"

    def timeout(self, request: Request) -> float | None:
        self.calls.append("timeout")
        return 60.0


def test_the_stand_in_forwards_every_call_to_one_loaded_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the core calls first, the provider is built once and gets the call."""
    built: list[Recording] = []
    module = type(sys)("cfnkit_test_recording")
    module.build = lambda: built.append(Recording()) or built[-1]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cfnkit_test_recording", module)
    stand_in = _LazyProvider(_Target("cfnkit_test_recording:build", "test"), WHERE)
    request = parse_request(create_event({}))

    outcomes = [
        stand_in.create(request),
        stand_in.update(request),
        stand_in.delete(request),
        stand_in.poll(request, {}),
        stand_in.on_timeout(request, {}),
        stand_in.timeout(request),
        stand_in.schema,
    ]

    assert outcomes == [InProgress({"n": 1}), Result(), Result(), Result(), "cleaned", 60.0, None]
    assert len(built) == 1
    assert built[0].calls == ["create", "update", "delete", "poll", "on_timeout", "timeout"]
