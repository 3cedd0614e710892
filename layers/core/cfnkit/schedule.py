"""How often a wait polls: fast while the work is young, slower as it ages, slower still when throttled.

The curve (`PollSchedule.base(age)`, age = seconds since the work started):

    age <  fast_for (60 s)   every `fast` (1 s)          -> report delay ~0.5 s median
    age >= fast_for          every age / ratio (age/60)  -> report delay <= ~2% of the age
    never slower than        `slowest` (30 s)            -> from 30 min on

DescribeTasks calls per task-hour at pace 1: 60 (first minute) + 60 * ln(1800/60) (~204,
up to 30 min) + 60 (last 30 min at 30 s) = about 324, against 3600 at a fixed 1 s.

Pace (`after_throttle` / `after_success`): a factor >= 1 that multiplies the curve.
A throttled call sets it to `max_pace` (5) at once; every clean call multiplies it by
`recover` (0.9), down to 1. The ceiling is the shared bucket's arithmetic: ECS's
DescribeTasks and ListTasks share one bucket per account and Region (100 tokens refilled
at 20/s), and a runner at pace 5 in its first minute polls every 5 s, so 100 runners
together ask 20 calls a second, the refill rate (and fewer as their tasks age). A runner
cannot count the others; a throttle is the only sign of them, so it goes straight to a
pace the bucket sustains for a large fleet and pays one throttled call for it, not one
per doubling. (Measured, bench/scale.py: a 4x step up to 8 made the runners it caught
poll up to 10 s apart, which set the p95 report delay at 40 runners; a ceiling of 6
did the same, less so.) The recovery is geometric: back to pace 1 after 16 clean polls
(about 41 s from pace 5), quickest while the pace is high, where the long intervals cost
report delay, and gentle near 1, where the bucket is met again. The pace lives in the
wait state, so a continued invocation keeps it.

Slow start: a wait begins at `start_pace` (2: its first polls 2 s apart) and earns the
full speed with its first few clean polls (7, about 10 s). A task cannot stop within
seconds of RunTask, so this costs a young task little, while a hundred runners started
together do not all meet the account's bucket at 1 Hz before any of them has learnt it
is short.

Jitter: every interval is multiplied by a uniform factor in [1 - jitter, 1 + jitter],
so runners started together drift apart instead of polling in lockstep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random


@dataclass(frozen=True)
class PollSchedule:
    fast: float = 1.0
    fast_for: float = 60.0
    ratio: float = 60.0
    slowest: float = 30.0
    jitter: float = 0.2
    max_pace: float = 5.0
    start_pace: float = 2.0
    recover: float = 0.9

    def base(self, age: float) -> float:
        """The interval before jitter and pace, for work that has run `age` seconds."""
        age = max(0.0, age)
        if age < self.fast_for:
            return self.fast
        return min(self.slowest, max(self.fast, age / self.ratio))

    def interval(self, age: float, pace: float = 1.0, rng: random.Random | None = None) -> float:
        """Seconds until the next poll: base(age) * pace, jittered when rng is given."""
        value = self.base(age) * self.clamp_pace(pace)
        if rng is not None and self.jitter > 0:
            value *= rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return value

    def first(self, pace: float, rng: random.Random | None = None) -> float:
        """The first poll after the work started: spread over [0.5, 1.5] x base x pace (widest jitter),
        so runners that started together do not all poll in the same second."""
        value = self.base(0.0) * self.clamp_pace(pace)
        if rng is not None and self.jitter > 0:
            value *= rng.uniform(0.5, 1.5)
        return value

    def clamp_pace(self, pace: float) -> float:
        if not math.isfinite(pace):
            return self.max_pace
        return min(self.max_pace, max(1.0, pace))

    def after_throttle(self, pace: float) -> float:
        """A throttled call: the bucket is short, so the pace jumps to the ceiling (whatever it was)."""
        del pace
        return self.max_pace

    def after_success(self, pace: float) -> float:
        """A clean call: `recover` times the pace, never below 1."""
        return self.clamp_pace(self.clamp_pace(pace) * self.recover)

    def calls(self, start: float, end: float) -> float:
        """Polls made between ages start and end at pace 1 without jitter (the integral of 1/base)."""
        if end <= start:
            return 0.0
        total = 0.0
        fast_end = min(end, self.fast_for)
        if start < fast_end:
            total += (fast_end - start) / self.fast
        start = max(start, self.fast_for)
        # Between fast_for and the cap, base = age / ratio (when that exceeds `fast`).
        knee = max(self.fast_for, self.fast * self.ratio)
        cap_at = self.slowest * self.ratio
        if start < min(end, knee):
            total += (min(end, knee) - start) / self.fast
            start = min(end, knee)
        if start < min(end, cap_at):
            total += self.ratio * math.log(min(end, cap_at) / start)
            start = min(end, cap_at)
        if start < end:
            total += (end - start) / self.slowest
        return total

    def worst_delay(self, age: float, pace: float = 1.0) -> float:
        """The longest a stop at `age` can wait for the next poll (interval with the top of the jitter)."""
        return self.base(age) * self.clamp_pace(pace) * (1.0 + self.jitter)
