"""Wall time and sleeping: the seam every timed part of cfnkit takes as `clock=`.

Tests pass `cfnkit.testing.FakeClock` (time that moves only when slept on) instead of
SystemClock, so no test depends on real timing.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock seconds (epoch) and sleeping."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: time.time() and time.sleep() (a negative or zero sleep returns at once)."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
