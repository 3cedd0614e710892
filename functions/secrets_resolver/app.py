"""Lambda entry point of Custom::SecretsResolver: wiring only (see secret_resolver.py)."""

from __future__ import annotations

import os
from typing import Any

from cfnkit import CustomResource

# Lambda puts this directory on sys.path; mypy checks secret_resolver itself (with
# MYPYPATH=functions/secrets_resolver), so an unresolved import here is not an error.
from secret_resolver import SecretCache, SecretsResolver  # type: ignore[import-not-found, unused-ignore]

#: Lives as long as the warm function, so repeated Creates of one secret version share a read.
#: Holds no client: the boto3 client is created on first use inside the handler.
_CACHE = SecretCache.from_environment(os.environ)


def handler(event: dict[str, Any], context: Any) -> None:
    CustomResource(SecretsResolver(cache=_CACHE))(event, context)
