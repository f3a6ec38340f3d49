"""Basal programs as a weekly table of constant-rate steps with prefix sums, so that the volume
delivered between any two instants is computed in O(log steps) without simulating each step."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from painpump.core.twin.quantum import MONDAY_SHIFT, SECONDS_PER_DAY, SECONDS_PER_WEEK

DayPattern = tuple[tuple[int, int], ...]
"""One day's steps: (start second of the day, rate in fL/day), the first starting at 0."""


@dataclass(frozen=True)
class Basal:
    """A weekly pattern of rates in the pump's clock (UTC + offset), Monday 00:00 first."""

    starts: tuple[int, ...]
    rates: tuple[int, ...]
    prefix: tuple[int, ...]
    week_total: int
    offset: int
    max_rate: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_rate", max(self.rates))

    @classmethod
    def weekly(cls, days: tuple[DayPattern, ...], offset_s: int = 0) -> Basal:
        """Build from seven day patterns (Monday to Sunday), merging steps of equal rate."""
        starts: list[int] = []
        rates: list[int] = []
        for index, pattern in enumerate(days):
            for start, rate in pattern:
                if rates and rates[-1] == rate:
                    continue
                starts.append(index * SECONDS_PER_DAY + start)
                rates.append(rate)
        prefix = [0]
        for i in range(1, len(starts)):
            prefix.append(prefix[-1] + rates[i - 1] * (starts[i] - starts[i - 1]))
        total = prefix[-1] + rates[-1] * (SECONDS_PER_WEEK - starts[-1])
        return cls(tuple(starts), tuple(rates), tuple(prefix), total, offset_s)

    @classmethod
    def constant(cls, rate_fl_per_day: int) -> Basal:
        return cls((0,), (rate_fl_per_day,), (0,), rate_fl_per_day * SECONDS_PER_WEEK, 0)

    def cumulative(self, t: int) -> int:
        """Quanta delivered from the reference Monday up to instant t (a monotone function)."""
        weeks, p = divmod(t + self.offset + MONDAY_SHIFT, SECONDS_PER_WEEK)
        i = bisect_right(self.starts, p) - 1
        return weeks * self.week_total + self.prefix[i] + self.rates[i] * (p - self.starts[i])

    def rate_at(self, t: int) -> int:
        p = (t + self.offset + MONDAY_SHIFT) % SECONDS_PER_WEEK
        return self.rates[bisect_right(self.starts, p) - 1]

    @property
    def daily_average_fl(self) -> int:
        return self.week_total // SECONDS_PER_WEEK
