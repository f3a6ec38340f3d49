"""The origin of spasticity, which sets baclofen's titration steps (Lioresal label): taken from
the indication, overridable with a recorded reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from painpump.core.pathway.indications import Indication


class Origin(StrEnum):
    SPINAL = "spinal"
    CEREBRAL = "cerebral"


ORIGIN_SOURCE = (
    "lioresal-label: Lioresal Intrathecal label, titration by origin of spasticity: spinal cord "
    "(spinal cord injury, multiple sclerosis) or cerebral (cerebral palsy, brain injury, stroke)"
)
_BY_INDICATION = {
    Indication.PARAPLEGIA: Origin.SPINAL,
    Indication.MULTIPLE_SCLEROSIS: Origin.SPINAL,
    Indication.INFANTILE_CEREBRAL_PALSY: Origin.CEREBRAL,
    Indication.STROKE: Origin.CEREBRAL,
    Indication.TRAUMATIC_BRAIN_INJURY: Origin.CEREBRAL,
}


@dataclass(frozen=True)
class OriginChoice:
    """The origin the checks use and why: from the indication, or overridden with a reason."""

    origin: Origin | None
    reason: str


def origin_of(indication: Indication) -> Origin | None:
    """The origin an indication implies; None for pain indications."""
    return _BY_INDICATION.get(indication)


def origin_for(indication: Indication, override: Origin | None, reason: str = "") -> OriginChoice:
    """The origin in force: an override (with its reason) or the indication's."""
    if override is not None:
        return OriginChoice(override, reason)
    implied = origin_of(indication)
    return OriginChoice(implied, f"from the indication ({indication.value})" if implied else "")
