"""Custom::DerivedSecret: a per-purpose secret derived from a master secret, logged with Powertools.

It logs the way many Powertools users do, at DEBUG and generously: the whole event,
every property, an appended key. Nothing secret reaches the logs: MasterSecret is
declared secret=True (masked from the moment the schema parses it), the derived value
is registered with cfnkit's redactor before anything can log it, a logged event's
property values are masked, and the ResponseURL's signature is masked everywhere.
"""

from __future__ import annotations

import hashlib
import hmac

from aws_lambda_powertools import Logger
from cfnkit import Field, Provider, Request, Result, Schema, String, redactor

logger = Logger()  # service and level: POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL (DEBUG here)


class DerivedSecret(Provider):
    schema = Schema(
        MasterSecret=Field(String(min_length=16), required=True, secret=True),
        Purpose=Field(String(min_length=1, max_length=64, pattern=r"[a-z0-9-]+"), required=True),
    )

    def create(self, request: Request) -> Result:
        logger.debug(request.raw)  # the whole event: its property values are masked
        logger.append_keys(purpose=request.properties["Purpose"], master=request.properties["MasterSecret"])
        derived = hmac.new(
            request.properties["MasterSecret"].encode(), request.properties["Purpose"].encode(), hashlib.sha256
        ).hexdigest()
        redactor.add(derived)  # a secret the provider makes itself: register it before anything logs it
        logger.info("derived a secret", extra={"properties": dict(request.properties), "secret": derived})
        logger.remove_keys(["purpose", "master"])
        # NoEcho: CloudFormation masks the attribute; cfnkit masks the value in every later log line.
        return Result(data={"Secret": derived}, no_echo=True)

    def delete(self, request: Request) -> Result:
        logger.info("nothing to delete", extra={"event": request.raw})
        return Result()
