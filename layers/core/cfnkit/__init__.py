"""cfnkit: CloudFormation custom resources on Lambda that always answer, exactly once.

    # hello.py: the provider
    from cfnkit import Provider, Result

    class Hello(Provider):
        def create(self, request):
            return Result(data={"Greeting": "hello"})

    # app.py: the Lambda handler names the provider; cfnkit imports and builds it on the
    # first request, inside the guarantee, so an error there is answered too
    from cfnkit.entry import serve

    handler = serve("hello:Hello")

In tests, `CustomResource(Hello(), sender=..., clock=...)` drives a provider directly.

The core is stdlib-only; boto3/botocore are imported lazily where AWS is called.
"""

from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock
from .errors import (
    CfnkitError,
    ContinuationFailed,
    InvalidProperties,
    MalformedEvent,
    Problem,
    ProviderError,
    TimedOut,
)
from .handler import CustomResource
from .logs import get_logger, redactor
from .protocol import Request, RequestType, Response, Status
from .provider import InProgress, Outcome, Provider, Result, State

if TYPE_CHECKING:
    from .awsparams import api_params
    from .schema import Boolean, Field, Integer, Json, List, Map, Number, Object, Schema, String, not_both

#: The release: pyproject's version, the SAR SemanticVersion and CHANGELOG.md agree on it
#: (tests/template/test_distribution.py). A literal, so the layer needs no package metadata.
__version__ = "0.1.0"

#: Names loaded on first use: `import cfnkit` stays cheap for providers that do not
#: declare a schema or pass AWS parameters through (PEP 562 module __getattr__).
_LAZY = {
    "api_params": "awsparams",
    **dict.fromkeys(
        ("Boolean", "Field", "Integer", "Json", "List", "Map", "Number", "Object", "Schema", "String", "not_both"),
        "schema",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cfnkit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Boolean",
    "CfnkitError",
    "Clock",
    "ContinuationFailed",
    "CustomResource",
    "Field",
    "InProgress",
    "Integer",
    "InvalidProperties",
    "Json",
    "List",
    "MalformedEvent",
    "Map",
    "Number",
    "Object",
    "Outcome",
    "Problem",
    "Provider",
    "ProviderError",
    "Request",
    "RequestType",
    "Response",
    "Result",
    "Schema",
    "State",
    "Status",
    "String",
    "SystemClock",
    "TimedOut",
    "api_params",
    "get_logger",
    "not_both",
    "redactor",
]
