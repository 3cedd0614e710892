"""SecretCache: version pins are part of the key; entries end after max_age.

Also pins down why the resolver has its own cache instead of Powertools' SecretsProvider:
that provider's cache key ignores VersionId/VersionStage.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber
from cfnkit.testing import FakeClock
from secret_resolver import Fetched, SecretCache

CURRENT = Fetched(arn="arn:s", version_id="v1", string="current", binary=None)
PINNED = Fetched(arn="arn:s", version_id="v2", string="pinned", binary=None)


def test_entry_is_served_until_max_age_passes() -> None:
    clock = FakeClock()
    cache = SecretCache(max_age=5.0, clock=clock.now)
    cache.put(("s", None, None), CURRENT)
    clock.advance(4.9)
    assert cache.get(("s", None, None)) is CURRENT
    clock.advance(0.1)
    assert cache.get(("s", None, None)) is None


def test_version_pins_are_separate_entries() -> None:
    cache = SecretCache(max_age=60.0, clock=FakeClock().now)
    cache.put(("s", None, None), CURRENT)
    assert cache.get(("s", "v2", None)) is None
    assert cache.get(("s", None, "AWSPREVIOUS")) is None
    cache.put(("s", "v2", None), PINNED)
    assert cache.get(("s", "v2", None)) is PINNED
    assert cache.get(("s", None, None)) is CURRENT


def test_zero_max_age_caches_nothing() -> None:
    cache = SecretCache(max_age=0, clock=FakeClock().now)
    cache.put(("s", None, None), CURRENT)
    assert cache.get(("s", None, None)) is None


def test_clear_forgets_everything() -> None:
    cache = SecretCache(max_age=60.0, clock=FakeClock().now)
    cache.put(("s", None, None), CURRENT)
    cache.clear()
    assert cache.get(("s", None, None)) is None


def test_powertools_secrets_provider_serves_a_pinned_version_from_the_unpinned_entry(client: Any) -> None:
    """If this starts failing, Powertools keys its cache by version and could replace SecretCache."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    with Stubber(client) as stub:
        stub.add_response("get_secret_value", {"Name": "s", "SecretString": "current"}, {"SecretId": "s"})
        provider = SecretsProvider(boto3_client=client)
        assert provider.get("s", max_age=60) == "current"
        # No second response is stubbed: the pinned read is answered from the AWSCURRENT entry.
        assert provider.get("s", max_age=60, VersionId="v2") == "current"


@pytest.mark.parametrize(
    ("value", "max_age"),
    [
        (None, 5.0),
        ("", 5.0),
        ("30", 30.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("soon", 5.0),
        ("-1", 5.0),
        ("nan", 5.0),
        ("99999", 5.0),
    ],
)
def test_max_age_comes_from_the_environment_and_never_fails(value: str | None, max_age: float) -> None:
    environ = {} if value is None else {"CFNKIT_SECRETS_CACHE_SECONDS": value}
    assert SecretCache.from_environment(environ).max_age == max_age
