"""Custom::SecretsResolver: a Secrets Manager secret's values as NoEcho attributes.

    Secrets:
      Type: Custom::SecretsResolver
      Properties:
        ServiceToken: !ImportValue cfnkit-SecretsResolver
        SecretId: todobackend/credentials
        Keys: [MYSQL_PASSWORD]
    ...
    MasterUserPassword: !GetAtt Secrets.MYSQL_PASSWORD

Contracts:
- A JSON-object secret gives one attribute per top-level key (non-string values
  JSON-encoded); any other string gives `SecretString`; a binary secret gives
  `SecretBinary` (base64). Every response is NoEcho.
- Every value is registered with the log redactor the moment it is fetched, before
  any other code sees it; no message built here contains a value.
- The PhysicalResourceId depends on the stack, the logical id and SecretId only, so
  a new value or version never replaces the resource; a new SecretId does.
- Create may be answered from a short cache (see SecretCache); Update always reads
  Secrets Manager again; Delete touches nothing.
- A throttled (or otherwise retryable) GetSecretValue never fails a request with time
  left: it is retried in place with jittered backoff for a few seconds, then the wait
  goes on as InProgress (its state holds the throttle streak, never a value) until the
  deadline, whose Reason says how long Secrets Manager was throttling.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cfnkit import (
    Field,
    InProgress,
    List,
    Outcome,
    Problem,
    Provider,
    ProviderError,
    Request,
    Result,
    Schema,
    State,
    String,
    get_logger,
    redactor,
)
from cfnkit.awserrors import AwsError, aws_error
from cfnkit.budget import Budget
from cfnkit.clock import Clock, SystemClock
from cfnkit.protocol import as_text
from cfnkit.retry import Backoff, Throttled, ThrottleRecord, call_with_retry

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

log = get_logger("secrets")

#: Attribute names a template can address with Fn::GetAtt and ${Resource.Name} in Fn::Sub:
#: letters, digits, "_" and "-", in segments joined by single dots (short forms split
#: `!GetAtt Secrets.db.host` at the first dot only, so the attribute is `db.host`).
ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
#: How long Create may reuse a read of the same secret version in a warm function.
DEFAULT_MAX_AGE_S = 5.0
CACHE_SECONDS_ENV = "CFNKIT_SECRETS_CACHE_SECONDS"
MAX_CACHE_SECONDS = 3600.0
#: How long one invocation retries a throttled GetSecretValue before the wait takes over.
IN_PLACE_RETRY_S = 8.0
#: Backoff between the wait's retries (full jitter, 1 s doubling to 30 s).
THROTTLE_BACKOFF = Backoff(base=1.0, cap=30.0)
#: Values that are not secret and would mask ordinary log text if registered.


#: GetSecretValue's VersionId is 32 to 64 characters (botocore secretsmanager model,
#: SecretVersionIdType: min 32, max 64); a shorter one fails in botocore, before AWS.
VERSION_ID_MIN, VERSION_ID_MAX = 32, 64


def _version_id_length(properties: Mapping[str, Any]) -> Iterable[Problem]:
    """VersionId as AWS accepts it, with the secret and the fix in the message (never a value)."""
    version_id = properties.get("VersionId")
    if not isinstance(version_id, str) or VERSION_ID_MIN <= len(version_id) <= VERSION_ID_MAX:
        return
    secret_id = properties.get("SecretId")
    named = f" of secret {secret_id}" if isinstance(secret_id, str) and secret_id else ""
    yield Problem(
        "VersionId",
        f"expected the id of a version{named}, {VERSION_ID_MIN} to {VERSION_ID_MAX} characters (Secrets Manager "
        f"uses UUIDs such as 11111111-2222-4333-8444-555555555555), got {len(version_id)} characters; "
        "see aws secretsmanager list-secret-version-ids, or use VersionStage to follow a label",
    )


SCHEMA = Schema(
    checks=(_version_id_length,),
    SecretId=Field(String(min_length=1, max_length=2048), required=True, description="The secret's name or ARN."),
    # Both may be given: AWS then requires that they name the same version (GetSecretValue).
    VersionId=Field(String(min_length=1), description="Read this version (32-64 characters)."),
    VersionStage=Field(
        String(min_length=1, max_length=256),
        description="Read the version with this label, e.g. AWSPREVIOUS (default AWSCURRENT).",
    ),
    Keys=Field(
        List(String(min_length=1), min_items=1), description="Return only these top-level keys of a JSON-object secret."
    ),
)


@dataclass(frozen=True)
class Fetched:
    """One GetSecretValue answer: where it came from and its value (string or bytes)."""

    arn: str
    version_id: str
    string: str | None
    binary: bytes | None


CacheKey = tuple[str, str | None, str | None]


class SecretCache:
    """Successful reads keyed by (SecretId, VersionId, VersionStage), for max_age seconds.

    The version pin is part of the key, so a read pinned to one version is never
    answered with another version's value. Failures are not cached. Thread-safe.
    """

    def __init__(self, max_age: float = DEFAULT_MAX_AGE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._entries: dict[CacheKey, tuple[float, Fetched]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> SecretCache:
        """max_age from CFNKIT_SECRETS_CACHE_SECONDS; a bad value falls back to the default.

        This runs when the function's module loads, where an exception would leave the
        stack waiting for an answer the core can never send.
        """
        text = environ.get(CACHE_SECONDS_ENV, "")
        try:
            max_age = float(text) if text.strip() else DEFAULT_MAX_AGE_S
        except ValueError:
            max_age = DEFAULT_MAX_AGE_S
        if not 0 <= max_age <= MAX_CACHE_SECONDS:
            max_age = DEFAULT_MAX_AGE_S
        return cls(max_age=max_age)

    def get(self, key: CacheKey) -> Fetched | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, fetched = entry
            if self._clock() >= expires:
                del self._entries[key]
                return None
            return fetched

    def put(self, key: CacheKey, fetched: Fetched) -> None:
        if self.max_age <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + self.max_age, fetched)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _quoted(keys: Iterable[str]) -> str:
    return ", ".join(json.dumps(key, ensure_ascii=False) for key in keys)


class SecretsResolver(Provider):
    """Reads SecretId (optionally VersionId or VersionStage) and answers its values as NoEcho Data.

    client: a boto3 Secrets Manager client (created on first use when None).
    cache: shared across invocations of a warm function (app.py keeps one).
    """

    schema = SCHEMA

    def __init__(
        self,
        client: SecretsManagerClient | None = None,
        *,
        cache: SecretCache | None = None,
        client_factory: Callable[[], SecretsManagerClient] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._client_factory = client_factory
        self.cache = cache if cache is not None else SecretCache()
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    @property
    def client(self) -> SecretsManagerClient:
        if self._client is None:
            if self._client_factory is not None:
                self._client = self._client_factory()
            else:
                import boto3
                from botocore.config import Config

                # Standard mode (3 attempts) absorbs a blip; a longer throttle is the wait's to retry
                # (see IN_PLACE_RETRY_S). Not adaptive: its limiter is per client and sleeps
                # outside our deadline.
                self._client = boto3.client(
                    "secretsmanager",
                    config=Config(
                        retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=10
                    ),
                )
        return self._client

    # -- the provider contract ------------------------------------------------------

    def create(self, request: Request) -> Outcome:
        return self._retrying(request, None, fresh=False)

    def update(self, request: Request) -> Outcome:
        # An Update exists to refresh: never answer it from the cache.
        return self._retrying(request, None, fresh=True)

    def poll(self, request: Request, state: State) -> Outcome:
        return self._retrying(request, state, fresh=bool(state.get("fresh")))

    def on_timeout(self, request: Request, state: State) -> str:
        record = ThrottleRecord.from_state(state.get("throttle"))
        return record.describe(self._clock.now(), "Secrets Manager") if record else ""

    def _retrying(self, request: Request, state: State | None, *, fresh: bool) -> Outcome:
        # In-place retries never run past the wait's overall deadline (kept in the state).
        deadline = (
            float(state["deadline"])
            if state and "deadline" in state
            else (Budget.start(self._clock.now(), 0.0, service_timeout=request.service_timeout).wait_deadline())
        )
        try:
            return self._resolve(request, fresh=fresh, retry_until=deadline)
        except Throttled as exc:
            earlier = ThrottleRecord.from_state((state or {}).get("throttle"))
            record = earlier.merged(exc.record) if earlier else exc.record
            interval = max(0.2, THROTTLE_BACKOFF.delay(record.count, self._rng))
            log.warning(
                "GetSecretValue stayed throttled; the wait goes on",
                extra={"fields": {"code": record.code, "streak": record.count, "retry_in_s": round(interval, 2)}},
            )
            return InProgress({"fresh": fresh, "throttle": record.to_state(), "deadline": deadline}, interval=interval)

    def delete(self, request: Request) -> Result:
        # Nothing was created, so nothing is deleted, and Secrets Manager is not called.
        return Result()

    def physical_id(self, request: Request) -> str:
        """Stable for this stack, logical id and SecretId; never the value or the version."""
        return request.default_physical_id(str(request.properties["SecretId"]))

    # -- reading --------------------------------------------------------------------

    def _resolve(self, request: Request, *, fresh: bool, retry_until: float | None = None) -> Result:
        props = request.properties
        secret_id: str = props["SecretId"]
        fetched = self.fetch(
            request, secret_id, props.get("VersionId"), props.get("VersionStage"), fresh=fresh, retry_until=retry_until
        )
        keys: Sequence[str] | None = props.get("Keys")
        data, hint = self._attributes(secret_id, fetched, keys)
        log.info(
            "secret resolved",
            extra={"fields": {"secret_id": secret_id, "version_id": fetched.version_id, "attributes": sorted(data)}},
        )
        return Result(physical_id=self.physical_id(request), data=data, no_echo=True, oversize_hint=hint)

    def fetch(
        self,
        request: Request,
        secret_id: str,
        version_id: str | None,
        version_stage: str | None,
        *,
        fresh: bool = False,
        retry_until: float | None = None,
    ) -> Fetched:
        """GetSecretValue through the cache; values are registered as secret before anything else."""
        key: CacheKey = (secret_id, version_id, version_stage)
        cached = None if fresh else self.cache.get(key)
        if cached is not None:
            self._register_fetched(cached)
            log.info("secret read from cache", extra={"fields": {"secret_id": secret_id}})
            return cached
        params: dict[str, str] = {"SecretId": secret_id}
        if version_id is not None:
            params["VersionId"] = version_id
        if version_stage is not None:
            params["VersionStage"] = version_stage
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = call_with_retry(
                lambda: self.client.get_secret_value(**params),
                operation="GetSecretValue",
                clock=self._clock,
                rng=self._rng,
                deadline=min(
                    self._clock.now() + IN_PLACE_RETRY_S, retry_until if retry_until is not None else float("inf")
                ),
                service="Secrets Manager",
            )
        except ClientError as exc:
            raise ProviderError(self._explain(request, secret_id, version_id, version_stage, exc)) from None
        except BotoCoreError as exc:
            raise ProviderError(f"Could not read secret {secret_id}: {type(exc).__name__}: {exc}") from None
        string = answer.get("SecretString")
        binary = answer.get("SecretBinary")
        fetched = Fetched(
            arn=answer.get("ARN", ""),
            version_id=answer.get("VersionId", ""),
            string=string,
            binary=bytes(binary) if binary is not None else None,
        )
        self._register_fetched(fetched)
        self.cache.put(key, fetched)
        return fetched

    @staticmethod
    def _register_fetched(fetched: Fetched) -> None:
        if fetched.string is not None:
            redactor.add_value(fetched.string)
            try:
                parsed = json.loads(fetched.string)
            except ValueError:
                return
            if isinstance(parsed, dict):
                for value in parsed.values():
                    redactor.add_value(value)
                    if not isinstance(value, str):
                        redactor.add_value(as_text(value))
        if fetched.binary is not None:
            redactor.add_value(base64.b64encode(fetched.binary).decode("ascii"))

    # -- attributes -----------------------------------------------------------------

    def _attributes(self, secret_id: str, fetched: Fetched, keys: Sequence[str] | None) -> tuple[dict[str, str], str]:
        if fetched.string is None:
            if fetched.binary is None:
                raise ProviderError(
                    f"Secret {secret_id} has neither SecretString nor SecretBinary; put a value into the secret"
                )
            self._no_keys_for(secret_id, keys, "binary")
            return (
                {"SecretBinary": base64.b64encode(fetched.binary).decode("ascii")},
                f"Secret {secret_id} is binary; the base64 of a secret this large cannot pass through a "
                "custom resource response: store a smaller value.",
            )
        try:
            parsed = json.loads(fetched.string)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            self._no_keys_for(secret_id, keys, "a plain string, not a JSON object")
            return (
                {"SecretString": fetched.string},
                f"Secret {secret_id} is a plain string; a string this large cannot pass through a custom "
                "resource response: store a smaller value.",
            )
        if keys is not None:
            wanted = list(dict.fromkeys(keys))
            missing = [key for key in wanted if key not in parsed]
            if missing:
                noun = "key" if len(missing) == 1 else "keys"
                raise ProviderError(
                    f"Secret {secret_id} has no {noun} {_quoted(missing)} that Keys asks for; its keys are: "
                    f"{_quoted(parsed) or 'none'}. Fix Keys or add the {noun} to the secret."
                )
            parsed = {key: parsed[key] for key in wanted}
        unaddressable = [key for key in parsed if not ATTRIBUTE_NAME.fullmatch(key)]
        if unaddressable:
            fix = (
                "rename them in the secret"
                if keys is not None
                else "list the keys this stack needs in Keys, or rename them in the secret"
            )
            raise ProviderError(
                f"Secret {secret_id} has keys that Fn::GetAtt cannot address: {_quoted(unaddressable)}. "
                "Attribute names may hold letters, digits, '_', '-' and single inner dots; " + fix + "."
            )
        data = {key: as_text(value) for key, value in parsed.items()}
        hint = (
            f"Secret {secret_id} gives {len(data)} keys; list only the keys this stack needs in the Keys property."
            if keys is None
            else f"Keys selects {len(data)} keys of secret {secret_id}; select fewer."
        )
        return data, hint

    @staticmethod
    def _no_keys_for(secret_id: str, keys: Sequence[str] | None, kind: str) -> None:
        if keys is not None:
            attribute = "SecretBinary" if kind == "binary" else "SecretString"
            raise ProviderError(
                f"Secret {secret_id} is {kind}, so it has no keys to select; remove Keys and use the "
                f"{attribute} attribute."
            )

    # -- errors ---------------------------------------------------------------------

    def _explain(
        self,
        request: Request,
        secret_id: str,
        version_id: str | None,
        version_stage: str | None,
        exc: Any,
    ) -> str:
        """The Reason for a failed GetSecretValue: what happened to which secret, and the fix."""
        error = aws_error(exc) or AwsError("Unknown", "")
        code, message = error.code, " ".join(error.message.split())
        said = f" (AWS said: {code}: {message})" if message else f" ({code})"
        region = self.client.meta.region_name
        if (
            version_id is not None
            and version_stage is not None
            and code in ("ResourceNotFoundException", "InvalidRequestException")
        ):
            described = self._describe(secret_id)
            if described is not None:
                return self._mismatched_version(secret_id, version_id, version_stage, described, said)
        if code == "ResourceNotFoundException":
            if version_id is not None or version_stage is not None:
                described = self._describe(secret_id)
                if described is not None:
                    return self._unknown_version(secret_id, version_id, version_stage, described)
            return (
                f"Secret {secret_id} was not found in {region}{said}. Check SecretId: give the name or ARN of "
                "an existing secret in this stack's account and region."
            )
        if code == "AccessDeniedException" and "kms" in message.lower():
            return self._kms(secret_id, said)
        if code == "AccessDeniedException":
            arn = self._arn(request, secret_id)
            return (
                f"Access denied reading secret {secret_id}{said}. The function's role needs "
                f"secretsmanager:GetSecretValue on {arn} (and the secret's resource policy must not deny it)."
            )
        if code == "DecryptionFailure":
            return self._kms(secret_id, said)
        if code == "InvalidRequestException" and "delet" in message.lower():
            described = self._describe(secret_id)
            when = ""
            if isinstance(described, dict) and described.get("DeletedDate") is not None:
                when = f" on {_iso(described['DeletedDate'])}"
            return (
                f"Secret {secret_id} is scheduled for deletion{when}{said}. Restore it "
                f"(aws secretsmanager restore-secret --secret-id {secret_id}) or point SecretId at another secret."
            )
        return f"Could not read secret {secret_id}{said}."

    def _kms(self, secret_id: str, said: str) -> str:
        described = self._describe(secret_id)
        key = "the secret's KMS key"
        if isinstance(described, dict):
            kms_key = described.get("KmsKeyId")
            key = f"KMS key {kms_key}" if kms_key else "the secret's KMS key (the AWS managed key aws/secretsmanager)"
        return (
            f"Secrets Manager could not decrypt secret {secret_id}{said}. The function's role needs kms:Decrypt "
            f"on {key}, the key's policy must allow the role, and the key must be enabled."
        )

    def _unknown_version(
        self, secret_id: str, version_id: str | None, version_stage: str | None, described: Mapping[str, Any]
    ) -> str:
        versions: Mapping[str, Sequence[str]] = described.get("VersionIdsToStages") or {}
        if version_id is not None:
            known = "; ".join(
                f"{vid} ({', '.join(stages)})" if stages else vid for vid, stages in list(versions.items())[:10]
            )
            return (
                f"Secret {secret_id} has no version with VersionId {version_id}; its versions are: "
                f"{known or 'none'}. Use one of them, or VersionStage to follow a label."
            )
        labels = sorted({stage for stages in versions.values() for stage in stages})
        return (
            f"Secret {secret_id} has no version labelled {version_stage} (VersionStage); its labels are: "
            f"{', '.join(labels) or 'none'}. Use one of them, or VersionId to pin a version."
        )

    def _mismatched_version(
        self, secret_id: str, version_id: str, version_stage: str, described: Mapping[str, Any], said: str
    ) -> str:
        """VersionId and VersionStage together must name the same version (GetSecretValue)."""
        versions: Mapping[str, Sequence[str]] = described.get("VersionIdsToStages") or {}
        if version_id not in versions:
            return self._unknown_version(secret_id, version_id, None, described)
        labels = ", ".join(versions[version_id]) or "no labels"
        holder = next((vid for vid, stages in versions.items() if version_stage in stages), None)
        where = f"{version_stage} is on version {holder}" if holder else f"no version is labelled {version_stage}"
        return (
            f"Secret {secret_id}: VersionId {version_id} and VersionStage {version_stage} name different versions "
            f"(version {version_id} has {labels}; {where}){said}. Give only one of them, or a matching pair."
        )

    def _describe(self, secret_id: str) -> dict[str, Any] | None:
        """DescribeSecret for a better message; None when it fails too (it holds no values)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return dict(self.client.describe_secret(SecretId=secret_id))
        except (ClientError, BotoCoreError):
            return None

    def _arn(self, request: Request, secret_id: str) -> str:
        """The secret's ARN, or the pattern IAM policies use for a name (its 6-character suffix unknown)."""
        if secret_id.startswith("arn:"):
            return secret_id
        described = self._describe(secret_id)
        if isinstance(described, dict) and isinstance(described.get("ARN"), str):
            return str(described["ARN"])
        parts = request.stack_id.split(":")
        partition = parts[1] if len(parts) > 4 and parts[1] else "aws"
        account = parts[4] if len(parts) > 4 and parts[4] else "<account>"
        region = self.client.meta.region_name or (parts[3] if len(parts) > 3 else "<region>")
        return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{secret_id}-??????"


def _iso(value: Any) -> str:
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat(timespec="seconds")) if callable(isoformat) else str(value)
