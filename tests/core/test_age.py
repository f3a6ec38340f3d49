"""A patient's age in completed years, as the chart's header shows it."""

from __future__ import annotations

from datetime import date

import pytest

from painpump.core.age import age_on


@pytest.mark.parametrize(
    ("born", "day", "years"),
    [
        (date(1970, 5, 1), date(2026, 4, 30), 55),
        (date(1970, 5, 1), date(2026, 5, 1), 56),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(2026, 6, 1), date(2026, 5, 1), 0),
    ],
)
def test_age_counts_completed_years(born: date, day: date, years: int) -> None:
    assert age_on(born, day) == years
