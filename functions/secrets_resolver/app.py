"""Lambda entry point of Custom::SecretsResolver: wiring only (see secret_resolver.py)."""

from __future__ import annotations

import os
from typing import Any

from cfnkit import CustomResource

# Lambda puts this directory on sys.path; mypy checks secret_resolver itself (with
# MYPYPATH=functions/secrets_resolver), so an unresolved import here is not an error.
from secret_resolver import (  # type: ignore[import-not-found, unused-ignore]
    DEFAULT_MAX_AGE_S,
    SecretCache,
    SecretsResolver,
)

#: Lives as long as the warm function, so repeated Creates of one secret version share a read.
#: Holds no client: the boto3 client is created on first use inside the handler.
_CACHE = SecretCache(max_age=float(os.environ.get("CFNKIT_SECRETS_CACHE_SECONDS", DEFAULT_MAX_AGE_S)))


def handler(event: dict[str, Any], context: Any) -> None:
    CustomResource(SecretsResolver(cache=_CACHE))(event, context)
