"""The one clock painpump reads: the present moment, in UTC. Code that needs "now" calls `now()`
(or takes it as a parameter); tests move it with time-machine, which also moves Django's
`timezone.now()`. What day it is for the clinic is `painpump.clinic.locale`'s business."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The present moment, timezone-aware, in UTC."""
    return datetime.now(UTC)
