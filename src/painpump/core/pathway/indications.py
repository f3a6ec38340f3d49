"""Why a patient was referred and what it implies: the drug family, the test phase's protocol
and its documented outcome."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class DrugFamily(Enum):
    """The drugs an indication implies (catalog names); the drug library checks each dose."""

    SPASTICITY = "spasticity"
    PAIN = "pain"

    @property
    def drugs(self) -> tuple[str, ...]:
        return _FAMILY_DRUGS[self]


_FAMILY_DRUGS: Mapping[DrugFamily, tuple[str, ...]] = {
    DrugFamily.SPASTICITY: ("baclofen",),
    DrugFamily.PAIN: (
        "morphine",
        "hydromorphone",
        "fentanyl",
        "sufentanil",
        "ziconotide",
        "bupivacaine",
        "clonidine",
    ),
}


class Indication(Enum):
    """Why the patient was referred: a cause of spasticity or a kind of chronic pain."""

    INFANTILE_CEREBRAL_PALSY = "infantile_cerebral_palsy"
    MULTIPLE_SCLEROSIS = "multiple_sclerosis"
    PARAPLEGIA = "paraplegia"
    STROKE = "stroke"
    TRAUMATIC_BRAIN_INJURY = "traumatic_brain_injury"
    FAILED_BACK_SURGERY_SYNDROME = "failed_back_surgery_syndrome"
    TUMOUR_PAIN = "tumour_pain"
    POLYNEUROPATHY = "polyneuropathy"

    @property
    def family(self) -> DrugFamily:
        """The drug family the indication implies (source: `FAMILY_SOURCE`)."""
        return DrugFamily.SPASTICITY if self in _SPASTICITY else DrugFamily.PAIN

    @property
    def needs_test_phase(self) -> bool:
        """Every indication but tumour pain needs a test phase decided `responder`."""
        return self is not Indication.TUMOUR_PAIN


_SPASTICITY = frozenset(
    {
        Indication.INFANTILE_CEREBRAL_PALSY,
        Indication.MULTIPLE_SCLEROSIS,
        Indication.PARAPLEGIA,
        Indication.STROKE,
        Indication.TRAUMATIC_BRAIN_INJURY,
    }
)


class Protocol(Enum):
    """How the test phase gives the drug: bolus sequence or continuous infusion."""

    BOLUS = "bolus"
    CONTINUOUS = "continuous"


class Outcome(Enum):
    """The documented decision at the end of a test phase."""

    RESPONDER = "responder"
    NON_RESPONDER = "non_responder"


class Severity(Enum):
    """How severe the spasticity is when the test phase is planned: it sets the test phase's
    planned length (a clinic setting per severity)."""

    MODERATE = "moderate"
    SEVERE = "severe"
    VERY_SEVERE = "very_severe"
