"""The one clock painpump reads: the present moment, in UTC. Code that needs "now" calls `now()`
(or takes it as a parameter); tests move it with time-machine, which also moves Django's
`timezone.now()`. What day it is for the clinic is `painpump.clinic.locale`'s business.

A demo can run on a moved clock (`painpump demo --at`, "on a Saturday", "on the daylight-saving
Sunday"): PAINPUMP_CLOCK_AT holds the moment the clock shows (ISO 8601 with its offset) at the
real moment PAINPUMP_CLOCK_FROM (the same form; without it, at this process's first reading).
The offset between the two is computed once per process and the clock runs on from there, so
every process started with that environment (gunicorn's workers, a worker replaced later) reads
the same moved time. `painpump serve` refuses to start with a moved clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

CLOCK_AT = "PAINPUMP_CLOCK_AT"
"""The environment variable moving the clock (demos only)."""
CLOCK_FROM = "PAINPUMP_CLOCK_FROM"
"""The real moment at which the moved clock showed PAINPUMP_CLOCK_AT."""

_offset: tuple[tuple[str, str], timedelta] | None = None
"""The variables' values and the offset computed from them (once per process and values)."""


def parse_moment(text: str, name: str = CLOCK_AT) -> datetime:
    """An ISO 8601 moment with its UTC offset ("2027-03-28T10:00+02:00"), in UTC; a ValueError
    naming `name` when it is not one (a bare date or a time without offset could be any of
    26 hours)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{name} {text!r} is not an ISO 8601 date and time (e.g. 2027-03-28T10:00+02:00)"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{name} {text!r} has no UTC offset: give the moment with its offset "
            "(e.g. 2027-03-28T10:00+02:00)"
        )
    return moment.astimezone(UTC)


def moved() -> bool:
    """Whether the clock is moved (PAINPUMP_CLOCK_AT is set)."""
    return bool(os.environ.get(CLOCK_AT, "").strip())


def offset() -> timedelta:
    """How far the clock is moved from the real one (zero unless PAINPUMP_CLOCK_AT is set)."""
    global _offset
    values = (os.environ.get(CLOCK_AT, "").strip(), os.environ.get(CLOCK_FROM, "").strip())
    if _offset is None or _offset[0] != values:
        at, since = values
        if not at:
            shift = timedelta(0)
        else:
            real = parse_moment(since, CLOCK_FROM) if since else datetime.now(UTC)
            shift = parse_moment(at) - real
        _offset = (values, shift)
    return _offset[1]


def now() -> datetime:
    """The present moment, timezone-aware, in UTC (moved by PAINPUMP_CLOCK_AT, if set)."""
    return datetime.now(UTC) + offset()
