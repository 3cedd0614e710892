"""cfnkit.budget.Budget: every timing rule of an invocation, checked in one table."""

from __future__ import annotations

from typing import Any

import pytest
from cfnkit.budget import (
    DEFAULT_REMAINING_S,
    MAX_HOPS,
    TERMINATE_MAX_HOPS,
    Budget,
    max_hops_for,
    remaining_seconds,
)

NOW = 1_767_225_600.0

# remaining: Lambda seconds left; service: ServiceTimeout (None: 3600); ago: the wait started this long
# before the invocation; provider: the provider's own timeout. Expected: the watchdog's margin, the
# reserve the last PUT keeps before the Lambda deadline, the hand-off margin, the wait's limit, when the
# watchdog fires (seconds into the invocation) and whether the Lambda deadline is what it guards.
TABLE = [
    # remaining service ago  provider  answer reserve handoff limit  watchdog lambda_first
    (900.0, None, 0.0, None, 5.0, 0.2, 20.0, 3590.0, 895.0, True),
    (60.0, 120, 0.0, None, 5.0, 0.2, 15.0, 110.0, 55.0, True),  # hand-off margin: 25% of 60 s
    (8.0, None, 0.0, None, 0.8, 0.2, 2.0, 3590.0, 7.2, True),  # answer margin: 10% of 8 s
    (1.0, None, 0.0, None, 0.1, 0.025, 0.25, 3590.0, 0.9, True),  # the reserve: a quarter of the margin
    (30.0, 2, 0.0, None, 3.0, 0.2, 7.5, 1.8, 3.0, False),  # service margin: 10% of 2 s; the watchdog's floor
    (900.0, 300, 0.0, None, 5.0, 0.2, 20.0, 290.0, 295.0, False),  # guards half a service margin after the wait
    (900.0, 120, 200.0, None, 5.0, 0.2, 20.0, 110.0, 5.0, False),  # a continuation past its deadline
    (900.0, None, 0.0, 45.0, 5.0, 0.2, 20.0, 45.0, 895.0, True),  # a provider's shorter timeout wins
    (900.0, 60, 0.0, 100.0, 5.0, 0.2, 20.0, 54.0, 57.0, False),  # ... but never a longer one
    (900.0, None, 0.0, 0.0, 5.0, 0.2, 20.0, 3590.0, 895.0, True),  # 0: no provider limit
    (900.0, None, 0.0, 1.0, 5.0, 0.2, 20.0, 1.0, 895.0, True),  # 1 s, the shortest a provider sets, limits
]


@pytest.mark.parametrize(
    ("remaining", "service", "ago", "provider", "answer", "reserve", "handoff", "limit", "watchdog", "lambda_first"),
    TABLE,
)
def test_timing_rules(
    remaining: float,
    service: int | None,
    ago: float,
    provider: float | None,
    answer: float,
    reserve: float,
    handoff: float,
    limit: float,
    watchdog: float,
    lambda_first: bool,
) -> None:
    budget = Budget.start(NOW, remaining, service_timeout=service, started_at=NOW - ago)
    assert budget.answer_margin == pytest.approx(answer)
    assert budget.send_deadline == pytest.approx(NOW + remaining - reserve)
    assert budget.handoff_margin == pytest.approx(handoff)
    assert budget.wait_limit(provider) == pytest.approx(limit)
    assert budget.wait_deadline(provider) == pytest.approx(NOW - ago + limit)
    assert budget.watchdog_delay == pytest.approx(watchdog)
    assert budget.lambda_first is lambda_first


def test_configured_margins_apply_when_the_invocation_is_long_enough() -> None:
    budget = Budget.start(NOW, 900.0, max_answer_margin=0.3, max_handoff_margin=100.0)
    assert (budget.answer_margin, budget.handoff_margin) == (0.3, 100.0)
    assert budget.send_deadline == pytest.approx(NOW + 900.0 - 0.075)


def test_hand_off_when_less_than_the_margin_remains_after_the_pause() -> None:
    budget = Budget.start(NOW, 60.0)  # hand-off margin 15 s
    assert not budget.hand_off_now(remaining_now=25.0, pause=10.0)  # exactly 15 s left: keep polling
    assert budget.hand_off_now(remaining_now=24.9, pause=10.0)


@pytest.mark.parametrize(
    ("interval", "until_deadline", "pause"),
    [
        (30.0, 100.0, 30.0),
        (30.0, 20.0, 20.0),
        (30.0, -5.0, 0.0),
        (-1.0, 100.0, 0.0),
        (0.25, 100.0, 0.25),
    ],
)
def test_the_pause_is_the_interval_cut_at_the_deadline(interval: float, until_deadline: float, pause: float) -> None:
    assert Budget.start(NOW, 900.0).pause(interval, NOW, NOW + until_deadline) == pause


@pytest.mark.parametrize(("hop", "exhausted"), [(0, False), (MAX_HOPS - 1, False), (MAX_HOPS, True)])
def test_hops_are_limited(hop: int, exhausted: bool) -> None:
    budget = Budget.start(NOW, 900.0, hop=hop)
    assert budget.next_hop == hop + 1
    assert budget.hops_exhausted is exhausted


@pytest.mark.parametrize(
    ("setting", "hops"),
    [("Allow", MAX_HOPS), (" ALLOW ", MAX_HOPS), ("Terminate", 14), (None, 14), ("", 14), ("yes", 14)],
)
def test_only_recursive_loop_allow_lifts_the_loop_limit(setting: str | None, hops: int) -> None:
    assert max_hops_for(setting) == hops


@pytest.mark.parametrize(("hop", "exhausted"), [(TERMINATE_MAX_HOPS - 1, False), (TERMINATE_MAX_HOPS, True)])
def test_under_terminate_hops_stop_one_invocation_below_lambdas_limit(hop: int, exhausted: bool) -> None:
    budget = Budget.start(NOW, 900.0, hop=hop, max_hops=TERMINATE_MAX_HOPS)
    assert budget.hops_exhausted is exhausted
    assert budget.loop_detection_applies
    assert not Budget.start(NOW, 900.0, hop=hop).loop_detection_applies


@pytest.mark.parametrize(
    ("remaining", "needed"),
    [(900.0, 5), (60.0, 80), (3610.0, 1), (3609.0, 2), (2.0, 2394), (1.0, 3590), (0.5, 3590)],
)
def test_invocations_needed_for_a_whole_wait(remaining: float, needed: int) -> None:
    # 3590 s of waiting (3600 s ServiceTimeout minus its margin); each invocation gives its
    # time minus the hand-off margin (20 s, or a quarter of short invocations), and at least
    # 1 s: a 2 s invocation gives 1.5 s, a 1 s or 0.5 s one counts as 1 s.
    assert Budget.start(NOW, remaining).invocations_needed() == needed


def test_a_fresh_request_starts_its_wait_with_the_invocation() -> None:
    budget = Budget.start(NOW, 900.0)
    assert (budget.started_at, budget.hop, budget.service_timeout) == (NOW, 0, 3600.0)


class Millis:
    def __init__(self, value: Any) -> None:
        self.value = value

    def get_remaining_time_in_millis(self) -> Any:
        return self.value


@pytest.mark.parametrize(
    ("context", "seconds"),
    [
        (Millis(1500), 1.5),
        (Millis(0), 0.0),
        (Millis(-20), 0.0),
        (Millis(None), DEFAULT_REMAINING_S),
        (Millis("soon"), DEFAULT_REMAINING_S),
        (object(), DEFAULT_REMAINING_S),
        (None, DEFAULT_REMAINING_S),
    ],
)
def test_remaining_seconds_never_fails(context: Any, seconds: float) -> None:
    assert remaining_seconds(context) == seconds
