"""A drill's outcome: its figures (counts, times), its problems and what was slower than its
bound (`slow`): any of either fails the drill; tests of a drill judge only its problems, since a
time on a shared machine is a benchmark's figure, not a test's."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    drill: str
    database: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)

    def count(self, name: str, counter: Counter[str]) -> None:
        """Figures from a counter, as name: {key: n} in key order."""
        self.figures[name] = {key: counter[key] for key in sorted(counter)}

    def times(self, name: str, seconds: list[float]) -> None:
        """min / median / max of some durations, in seconds to the millisecond."""
        if seconds:
            self.figures[name] = {
                "min": round(min(seconds), 3),
                "median": round(statistics.median(seconds), 3),
                "max": round(max(seconds), 3),
            }

    def as_json(self) -> dict[str, Any]:
        return {
            "drill": self.drill,
            "database": self.database,
            "figures": self.figures,
            "problems": self.problems,
            "slow": self.slow,
        }
