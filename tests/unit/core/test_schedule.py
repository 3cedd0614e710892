"""PollSchedule: the curve at its boundaries, the pace, jitter, and the calls it costs per task-hour."""

from __future__ import annotations

import math
import random

import pytest
from cfnkit.schedule import PollSchedule
from cfnkit.testing import ScriptedClock

SCHEDULE = PollSchedule()


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (0.0, 1.0),
        (-5.0, 1.0),
        (59.999, 1.0),
        (60.0, 1.0),
        (120.0, 2.0),
        (600.0, 10.0),
        (1800.0, 30.0),
        (1800.1, 30.0),
        (3600.0, 30.0),
    ],
)
def test_curve_is_fast_while_young_then_a_sixtieth_of_the_age_capped_at_30_s(age: float, interval: float) -> None:
    assert SCHEDULE.base(age) == pytest.approx(interval)


def test_report_delay_stays_within_a_fiftieth_of_the_age_after_the_first_minute() -> None:
    for age in (60.0, 90.0, 300.0, 1200.0, 1800.0):
        assert SCHEDULE.worst_delay(age) <= age / 50


def test_a_task_hour_costs_about_324_describe_calls() -> None:
    # 60 in the first minute, 60 * ln(30) up to 30 min, 60 in the last half hour.
    assert SCHEDULE.calls(0, 3600) == pytest.approx(60 + 60 * math.log(30) + 60)
    assert SCHEDULE.calls(0, 60) == 60
    assert SCHEDULE.calls(100, 100) == 0


def test_calls_match_a_walk_along_the_schedule() -> None:
    clock = ScriptedClock()
    polls = 0
    while clock.now() - clock.start < 3600:
        clock.sleep(SCHEDULE.interval(clock.now() - clock.start))
        polls += 1
    assert abs(polls - SCHEDULE.calls(0, 3600)) <= 2


def test_jitter_stays_within_20_percent_and_spreads_runners_apart() -> None:
    rng = random.Random(11)
    samples = [SCHEDULE.interval(10.0, 1.0, rng) for _ in range(500)]
    assert min(samples) >= 0.8
    assert max(samples) <= 1.2
    assert max(samples) - min(samples) > 0.3  # not lockstep


def test_runners_started_together_drift_apart() -> None:
    clocks = [ScriptedClock() for _ in range(3)]
    rngs = [random.Random(seed) for seed in (1, 2, 3)]
    for _ in range(20):
        for clock, rng in zip(clocks, rngs, strict=True):
            clock.sleep(SCHEDULE.interval(clock.now() - clock.start, 1.0, rng))
    ends = sorted(clock.now() for clock in clocks)
    assert ends[-1] - ends[0] > 0.5


def test_a_throttle_sets_the_pace_to_the_ceiling_whatever_it_was() -> None:
    # 100 runners at pace 5 in their first minute ask 100 / 5 = 20 DescribeTasks a second: ECS's refill.
    assert SCHEDULE.max_pace == 5.0
    for pace in (1.0, 1.8, 2.0, 4.999, 5.0, 5.001, 8.0, 0.2, math.inf, math.nan):
        assert SCHEDULE.after_throttle(pace) == 5.0
    assert PollSchedule(max_pace=3.0).after_throttle(1.0) == 3.0


def test_a_clean_call_takes_a_tenth_off_the_pace_down_to_1() -> None:
    assert SCHEDULE.after_success(5.0) == pytest.approx(4.5)
    assert SCHEDULE.after_success(2.0) == pytest.approx(1.8)
    # The boundary: 1 / 0.9 becomes exactly 1; anything below it is held at 1.
    assert SCHEDULE.after_success(1.0 / 0.9) == pytest.approx(1.0)
    assert SCHEDULE.after_success(1.1) == 1.0
    assert SCHEDULE.after_success(1.0) == 1.0
    assert SCHEDULE.after_success(0.2) == 1.0
    assert SCHEDULE.after_success(math.inf) == pytest.approx(4.5)


def test_a_throttled_runner_is_back_at_full_speed_after_16_clean_polls_in_about_41_s() -> None:
    pace, polls, waited = SCHEDULE.after_throttle(1.0), 0, 0.0
    while pace > 1.0:
        waited += SCHEDULE.interval(10.0, pace)
        pace = SCHEDULE.after_success(pace)
        polls += 1
    assert polls == 16
    assert 40.0 < waited < 41.0


def test_pace_multiplies_the_interval() -> None:
    assert SCHEDULE.interval(10.0, 4.0) == 4.0
    assert SCHEDULE.interval(600.0, 5.0) == 50.0
    assert SCHEDULE.interval(600.0, 8.0) == 50.0  # never slower than the ceiling
    assert SCHEDULE.interval(10.0, float("nan")) == 5.0


def test_calls_of_a_custom_curve_with_a_late_knee() -> None:
    schedule = PollSchedule(fast=2.0, fast_for=60.0, ratio=60.0, slowest=30.0)
    # base is 2 s until age 120 s (age/60 < 2), then age/60.
    assert schedule.calls(0, 120) == 60
    assert schedule.calls(120, 240) == pytest.approx(60 * math.log(2))


def test_slow_start_spreads_the_first_poll_over_1_to_3_s() -> None:
    rng = random.Random(5)
    firsts = [SCHEDULE.first(SCHEDULE.start_pace, rng) for _ in range(400)]
    assert 1.0 <= min(firsts) < 1.1
    assert 2.9 < max(firsts) <= 3.0
    assert SCHEDULE.first(SCHEDULE.start_pace) == 2.0
    assert SCHEDULE.first(5.0) == 5.0


def test_slow_start_reaches_full_speed_after_seven_clean_polls_in_about_10_s() -> None:
    pace = SCHEDULE.start_pace
    paces, waited = [], 0.0
    for _ in range(8):
        waited += SCHEDULE.interval(5.0, pace) if pace > 1.0 else 0.0
        pace = SCHEDULE.after_success(pace)
        paces.append(pace)
    assert paces == pytest.approx([1.8, 1.62, 1.458, 1.3122, 1.18098, 1.062882, 1.0, 1.0])
    assert 10.0 < waited < 11.0
