"""cfnkit: CloudFormation custom resources on Lambda that always answer, exactly once.

    from cfnkit import CustomResource, Provider, Result

    class Hello(Provider):
        def create(self, request):
            return Result(data={"Greeting": "hello"})

    handler = CustomResource(Hello())

The core is stdlib-only; boto3/botocore are imported lazily where AWS is called.
"""

from .awsparams import api_params
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
from .schema import Boolean, Field, Integer, Json, List, Map, Number, Object, Schema, String, not_both

__all__ = [
    "Boolean",
    "CfnkitError",
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
    "TimedOut",
    "api_params",
    "get_logger",
    "not_both",
    "redactor",
]
