"""What an AWS call's exception says: one reader of botocore's ClientError for every provider.

botocore is imported only when an exception is read (it is in the Lambda runtime; the
core itself stays stdlib-only), and without botocore no exception is a ClientError.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AwsError", "aws_error", "error_code"]


@dataclass(frozen=True)
class AwsError:
    """The Error.Code and Error.Message of a ClientError ("Unknown" and "" when absent)."""

    code: str
    message: str


def aws_error(exc: BaseException) -> AwsError | None:
    """The code and message of a botocore ClientError; None for any other exception."""
    try:
        from botocore.exceptions import ClientError
    except ImportError:  # pragma: no cover - botocore is in every environment that can raise one
        return None
    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error") or {}
    code, message = error.get("Code"), error.get("Message")
    return AwsError(
        code=code if isinstance(code, str) and code else "Unknown", message=message if isinstance(message, str) else ""
    )


def error_code(exc: BaseException) -> str:
    """A ClientError's code, or the exception's type name (a connection error, a timeout, ...)."""
    error = aws_error(exc)
    return error.code if error is not None else type(exc).__name__
