"""Integer units of the twin, chosen so that every delivery is exact integer arithmetic.

Time is whole seconds since the Unix epoch (UTC). A rate is an integer number of femtolitres per
day (fL/day); a volume is an integer number of "quanta" of 1/86400 fL, so that rate (fL/day) x time
(s) is a volume in quanta with no rounding at all. 1 mL = 86,400 x 10^12 quanta."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

SECONDS_PER_DAY = 86_400
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
FL_PER_ML = 10**12
QUANTA_PER_ML = SECONDS_PER_DAY * FL_PER_ML
# 1970-01-01 was a Thursday: shifting by three days puts week boundaries on Mondays 00:00.
MONDAY_SHIFT = 3 * SECONDS_PER_DAY


def quanta(volume_ml: Decimal) -> int:
    """A volume in mL as quanta (exact for volumes given to 1e-12 mL; rounded half-even below)."""
    return int((volume_ml * QUANTA_PER_ML).to_integral_value(rounding=ROUND_HALF_EVEN))


def fl_per_day(rate_ml_per_day: Decimal) -> int:
    """A rate in mL/day as fL/day, the twin's rate resolution (1e-12 mL/day)."""
    return int((rate_ml_per_day * FL_PER_ML).to_integral_value(rounding=ROUND_HALF_EVEN))


def ml(volume_quanta: int) -> Decimal:
    """Quanta back to mL, as an exact Decimal (28 significant digits)."""
    return Decimal(volume_quanta) / QUANTA_PER_ML


def ml_per_day(rate_fl_per_day: int) -> Decimal:
    return Decimal(rate_fl_per_day) / FL_PER_ML


def instant(seconds: int) -> datetime:
    """Seconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def seconds(moment: datetime) -> int:
    """An aware datetime as whole seconds since the epoch (fractions are refused upstream)."""
    return int(moment.timestamp())
