"""How often a wait polls: fast while the work is young, slower as it ages, slower still when throttled.

The curve (`PollSchedule.base(age)`, age = seconds since the work started):

    age <  fast_for (60 s)   every `fast` (1 s)          -> report delay ~0.5 s median
    age >= fast_for          every age / ratio (age/60)  -> report delay <= ~2% of the age
    never slower than        `slowest` (30 s)            -> from 30 min on

DescribeTasks calls per task-hour at pace 1: 60 (first minute) + 60 * ln(1800/60) (~204,
up to 30 min) + 60 (last 30 min at 30 s) = about 324, against 3600 at a fixed 1 s.

Pace (`after_throttle` / `after_success`): a factor >= 1 that multiplies the curve, AIMD
in rate terms: every throttled call multiplies it by `grow` (4, up to `max_pace` 8),
every clean call takes `step` (0.25) off. Runners that share an account-wide token
bucket (ECS: DescribeTasks and ListTasks share 100 tokens refilled at 20/s) thus slow
down sharply on the first sign of an empty bucket, which costs each runner about one
throttled call, and creep back while the bucket keeps up. The pace lives in the wait
state, so a continued invocation keeps it. The cap keeps the report delay bounded
(8 s intervals in the first minute) while 100 runners at pace 8 still poll at only
12.5 calls/s together, under ECS's 20/s refill.

Slow start: a wait begins at `start_pace` (2: its first polls 2 s apart) and earns the
full speed with its first few clean polls (about 8 s). A task cannot stop within seconds of
RunTask, so this costs a young task little, while a hundred runners started together do
not all meet the account's bucket at 1 Hz before any of them has learnt it is short.

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
    max_pace: float = 8.0
    start_pace: float = 2.0
    grow: float = 4.0
    step: float = 0.25

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
        return self.clamp_pace(self.clamp_pace(pace) * self.grow)

    def after_success(self, pace: float) -> float:
        return self.clamp_pace(self.clamp_pace(pace) - self.step)

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
