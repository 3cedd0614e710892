"""The protected way in: load the user's provider lazily, inside the exactly-once guarantee.

A handler module that imports the provider itself (`from topics import Topic`) fails
*before* `CustomResource` exists when that import raises, and CloudFormation then hears
nothing for an hour. Here the provider is named, not imported: its module is imported
and the provider built on the first request, inside the request's `CustomResource`, so
an import error, a constructor error or an AWS error at first use each become exactly
one FAILED response whose Reason says what failed, where, and what to do.

    # app.py, the whole file: nothing in it can fail at import
    from cfnkit.entry import serve

    handler = serve("topics:Topic")

or, with no app.py at all, the function's Handler `cfnkit.entry.handler` and the
environment variable `CFNKIT_PROVIDER=topics:Topic`.

The target is `module:attribute`: a Provider subclass or any callable that returns a
Provider when called without arguments. A new provider is built for every request
(as `CustomResource(Topic())` per request would); the module is imported once.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import logs
from .errors import ProviderError
from .handler import CustomResource, where_logs_are
from .provider import Outcome, Provider, State

if TYPE_CHECKING:
    from .protocol import Request
    from .schema import Schema

#: The environment variable that names the provider for `cfnkit.entry.handler`.
PROVIDER_ENV = "CFNKIT_PROVIDER"
EXAMPLE_TARGET = "topics:Topic"
_TARGET = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
#: Environment variables whose values are masked in every Reason and log line before
#: user code runs: an import error quoting a password from the environment stays masked.
_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|SECRET_KEY|SECRET_ACCESS_KEY|TOKEN|API_KEY|APIKEY|"
    r"PRIVATE_KEY|CREDENTIALS?)$",
    re.IGNORECASE,
)
_CORE_DIR = str(Path(__file__).resolve().parent)

log = logs.get_logger("entry")


class ProviderNotLoaded(ProviderError):
    """The named provider could not be imported or built; the message is the whole Reason."""


class _Target:
    """`module:attribute`, resolved once per process (a failed import is retried next request)."""

    def __init__(self, spec: str, source: str) -> None:
        self.spec = spec
        self.source = source  # how the target was named, for Reasons: serve(...) or CFNKIT_PROVIDER
        self._factory: Callable[[], Any] | None = None
        self._lock = threading.Lock()

    def factory(self, where: str) -> Callable[[], Any]:
        with self._lock:
            if self._factory is None:
                self._factory = self._resolve(where)
            return self._factory

    def _resolve(self, where: str) -> Callable[[], Any]:
        if not _TARGET.match(self.spec):
            raise ProviderNotLoaded(
                f"{self.source} is {self.spec!r}, which does not name a provider: expected module:attribute, "
                f"for example {EXAMPLE_TARGET} (the class Topic in topics.py)"
            )
        module_name, _, attribute = self.spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                log.exception("provider module not found", extra={"fields": {"target": self.spec}})
                raise ProviderNotLoaded(
                    f"Could not import the provider module {module_name} ({self.source} is {self.spec}): "
                    f"there is no module {exc.name} on the function's path; the module must be in the "
                    "function's code folder (CodeUri) or a layer"
                ) from exc
            raise self._failure(
                f"Could not import the provider module {module_name}",
                exc,
                where,
                hint="add the missing package to the function's requirements.txt",
            ) from exc
        except BaseException as exc:  # SyntaxError, SystemExit, anything raised at import time
            raise self._failure(f"Could not import the provider module {module_name}", exc, where) from exc
        found: Any = module
        for part in attribute.split("."):
            if not hasattr(found, part):
                names = [n for n in dir(found) if not n.startswith("_")]
                import difflib

                close = difflib.get_close_matches(part, names, n=1)
                raise ProviderNotLoaded(
                    f"Module {module_name} has no {attribute} ({self.source} is {self.spec})"
                    + (f"; did you mean {close[0]}?" if close else "")
                )
            found = getattr(found, part)
        if not callable(found):
            raise ProviderNotLoaded(
                f"{self.spec} is a {type(found).__name__}, not a Provider class or a function that returns one"
            )
        return found  # type: ignore[no-any-return]

    def build(self, where: str) -> Provider:
        factory = self.factory(where)
        try:
            provider = factory()
        except BaseException as exc:
            raise self._failure(f"Could not create the provider {self.spec}", exc, where) from exc
        if not isinstance(provider, Provider):
            raise ProviderNotLoaded(
                f"{self.spec}() returned {type(provider).__name__}, expected a cfnkit Provider "
                "(a subclass of cfnkit.Provider)"
            )
        return provider

    def _failure(self, what: str, exc: BaseException, where: str, hint: str = "") -> ProviderNotLoaded:
        log.error(what, exc_info=exc, extra={"fields": {"target": self.spec}})
        if isinstance(exc, ProviderError):  # the author's own words are the whole cause
            cause = str(exc)
        else:
            cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        details = [d for d in (_location(exc), hint, "" if isinstance(exc, ProviderError) else where) if d]
        return ProviderNotLoaded(f"{what}: {cause}" + (f" ({'; '.join(details)})" if details else ""))


def _location(exc: BaseException) -> str:
    """`file:line` of the user's code that raised: the deepest frame outside cfnkit and importlib."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"at {_short(exc.filename)}:{exc.lineno}"
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<") and not f.filename.startswith(_CORE_DIR)
    ]
    return f"at {_short(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""


def _short(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name


class _LazyProvider(Provider):
    """Stands in for the user's provider until the request first needs it.

    The first access (the core reads `schema` before calling create/update/delete) loads
    the provider inside the request's guarantee and hands it to the CustomResource and its
    Waiter, so everything after that, Reasons naming the provider's class included, is
    the real one.
    """

    def __init__(self, target: _Target, where: str) -> None:
        self._target = target
        self._where = where
        self._loaded: Provider | None = None
        self._resource: CustomResource | None = None

    def hand_to(self, resource: CustomResource) -> None:
        """Once loaded, the provider replaces this stand-in as resource.provider."""
        self._resource = resource

    def _real(self) -> Provider:
        if self._loaded is None:
            self._loaded = self._target.build(self._where)
            if self._resource is not None:
                # Both public holders of the provider: the handler and its waiter.
                self._resource.provider = self._loaded
                self._resource.waiter.provider = self._loaded
            log.debug(
                "provider loaded",
                extra={"fields": {"target": self._target.spec, "provider": type(self._loaded).__name__}},
            )
        return self._loaded

    @property
    def schema(self) -> Schema | None:  # type: ignore[override]  # read-only here: loading is the point
        return self._real().schema

    def create(self, request: Request) -> Outcome:
        return self._real().create(request)

    def update(self, request: Request) -> Outcome:
        return self._real().update(request)

    def delete(self, request: Request) -> Outcome:
        return self._real().delete(request)

    def poll(self, request: Request, state: State) -> Outcome:
        return self._real().poll(request, state)

    def on_timeout(self, request: Request, state: State) -> str:
        return self._real().on_timeout(request, state)

    def timeout(self, request: Request) -> float | None:
        return self._real().timeout(request)


def mask_secret_environment(environ: Mapping[str, str]) -> None:
    """Register the values of variables named like secrets (DB_PASSWORD, API_TOKEN, ...) with the redactor."""
    for name, value in environ.items():
        if _SECRET_NAME.search(name):
            logs.redactor.add(value)


class ProviderHandler:
    """A Lambda handler that builds the named provider per request, inside CustomResource.

    options are passed to CustomResource (sender, clock, invoker, log_level, ...).
    """

    def __init__(self, target: str | None, *, environ: Mapping[str, str] | None = None, **options: Any) -> None:
        self._spec = target
        self._environ = environ
        self._options = options
        self._targets: dict[str, _Target] = {}
        self._lock = threading.Lock()

    def _target(self) -> _Target:
        if self._spec is not None:
            spec, source = self._spec, "serve()'s target"
        else:
            environ = os.environ if self._environ is None else self._environ
            spec, source = environ.get(PROVIDER_ENV, "").strip(), PROVIDER_ENV
            if not spec:
                raise ProviderNotLoaded(
                    f"{PROVIDER_ENV} is not set: the handler cfnkit.entry.handler runs the provider it names. "
                    f"Set the function's environment variable {PROVIDER_ENV} to module:attribute, "
                    f"for example {EXAMPLE_TARGET}"
                )
        with self._lock:
            return self._targets.setdefault(spec, _Target(spec, source))

    def __call__(self, event: Any, context: Any) -> None:
        mask_secret_environment(os.environ if self._environ is None else self._environ)
        try:
            target = self._target()
        except ProviderNotLoaded as exc:
            CustomResource(_Unnamed(exc), **self._options)(event, context)
            return
        lazy = _LazyProvider(target, where_logs_are(context))
        resource = CustomResource(lazy, **self._options)
        lazy.hand_to(resource)
        resource(event, context)


class _Unnamed(Provider):
    """No provider can be named: every request that reaches a provider fails with why."""

    def __init__(self, error: ProviderNotLoaded) -> None:
        self._error = error

    def create(self, request: Request) -> Outcome:
        raise self._error

    def update(self, request: Request) -> Outcome:
        raise self._error

    def delete(self, request: Request) -> Outcome:
        raise self._error


def serve(target: str, **options: Any) -> ProviderHandler:
    """The Lambda handler for the provider `module:attribute`, loaded on the first request.

    options go to CustomResource (sender, clock, invoker, log_level, ...).
    """
    return ProviderHandler(target, **options)


#: Handler `cfnkit.entry.handler`: runs the provider named by the CFNKIT_PROVIDER variable.
handler = ProviderHandler(None)
