"""The dead volume entered at implantation (pump outlet and catheter: what a bridge or a priming
bolus delivers) judged against the implanted catheter. It is never less than the catheter's
figure says the catheter holds (a unit or typing slip: hard); more only with a reason, since no
source gives a pump's own path volume (soft); and always within a plausible range (hard). The
figure is the catalog's, else the clinic's own approved entry for the model (judged alike, and
named as the clinic's, unverified by painpump); a catheter with neither leaves it unchecked, with
a warning (soft)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any

from painpump.core import catalog
from painpump.core.catalog import Catheter
from painpump.core.clinic_catheters import ApprovedCatheter, model_key
from painpump.core.decision import Decision, Finding, Subject, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, expect, format_decimal, of
from painpump.core.volumes import catheter_volume_ml, implanted_length_cm

UNCHECKED = "dead_volume_unchecked"
ABOVE_CATHETER = "dead_volume_above_catheter"
WITHIN_CATHETER = "dead_volume_catheter"
FIELD = "dead_volume"
MICROLITRE = Decimal("0.001")
UNKNOWN_CATHETER_SOURCE = (
    "rule-explicit-dead-volumes, medtronic-synchromed-ii-implant-manual: the dead volume is an "
    "explicit input; the catheter catalog (src/painpump/core/data/catheters.toml) holds only "
    "catheters whose volume per cm a source gives, never another model's figure"
)


class Basis(StrEnum):
    """Whose volume per cm a dead volume was judged against."""

    CATALOG = "catalog"
    CLINIC = "clinic"


@dataclass(frozen=True)
class Figure:
    """A catheter's volume per cm (mL/cm) as the dead volume is judged against it: the catalog's
    catheter (with its full length) or the clinic's approved entry."""

    basis: Basis
    model: str
    volume_per_cm: Decimal
    source: str
    verified: bool
    catalog: Catheter | None = None
    clinic: ApprovedCatheter | None = None

    @property
    def per_cm(self) -> str:
        return f"{format_decimal(self.volume_per_cm)} mL/cm"

    def whose(self) -> str:
        if self.clinic is None:
            return "the catalog's"
        return f"the clinic's figure approved by {self.clinic.approved_by}, unverified by painpump"

    def words(self) -> str:
        """The figure and whose it is: "0.0026 mL/cm, the clinic's figure approved by ..."."""
        return f"{self.per_cm}, {self.whose()}"

    def as_record(self) -> dict[str, Any]:
        """The figure as an implantation's audit entry and the API record it."""
        entry = self.clinic
        return {
            "basis": self.basis.value,
            "model": self.model,
            "volume_per_cm": self.per_cm,
            "source": self.source,
            "verified": self.verified,
            "entry": entry.entry if entry else None,
            "entry_version": entry.version if entry else None,
            "approved_by": entry.approved_by if entry else None,
            "words": self.words(),
        }


def _from_catalog(catheter: Catheter) -> Figure:
    return Figure(
        Basis.CATALOG,
        catheter.model,
        catheter.volume_per_cm,
        catheter.volume_per_cm_source,
        catheter.volume_per_cm_verified,
        catalog=catheter,
    )


def figure_for(model: str, clinic: ApprovedCatheter | None = None) -> Figure | None:
    """The volume per cm a dead volume of catheter `model` is judged against: the catalog's if it
    holds the model (its sourced figure stands), else the clinic's approved entry `clinic` for
    that model; None when neither."""
    catheter = catalog.catheters().get(model.strip().lower())
    if catheter is not None:
        return _from_catalog(catheter)
    if clinic is None or clinic.model != model_key(model):
        return None
    return Figure(
        Basis.CLINIC, clinic.model, clinic.volume_per_cm, clinic.provenance(), False, clinic=clinic
    )


def catheter_holds(
    model: str, length: Q, clinic: ApprovedCatheter | None = None
) -> tuple[Figure, Q] | None:
    """The figure for catheter `model` (figure_for) and the volume its implanted `length` holds
    (None when there is no figure); a length beyond a catalog catheter's full length is
    refused."""
    figure = figure_for(model, clinic)
    if figure is None:
        return None
    expect(length, Kind.LENGTH, "catheter_length")
    if figure.catalog is None:
        return figure, of(length.canonical * figure.volume_per_cm, "mL")
    try:
        cm = implanted_length_cm(figure.catalog, implanted_length=length)
    except Refusal as refusal:
        raise replace(refusal, field="catheter_length") from None
    return figure, of(catheter_volume_ml(figure.catalog, cm), "mL")


def judge_dead_volume(
    catheter_model: str,
    catheter_length: Q,
    dead_volume: Q,
    clinic: ApprovedCatheter | None = None,
) -> Decision:
    """The entered `dead_volume` against the implanted catheter's figure (figure_for: the
    catalog's, else the clinic's approved entry `clinic`): a Refusal below what the catheter
    holds (less the tolerance) or outside the plausible range; a warning above it (more the
    tolerance) or for a catheter with no figure; else a note of the computed volume."""
    expect(dead_volume, Kind.VOLUME, FIELD)
    rules = catalog.dead_volume_rules()
    _check_plausible(dead_volume, rules)
    held = catheter_holds(catheter_model, catheter_length, clinic)
    if held is None:
        return Decision((_unchecked(catheter_model, dead_volume),))
    figure, volume = held
    tolerance = rules.tolerance_percent
    whose = "" if figure.clinic is None else f", {figure.whose()}"
    computed = (
        f"the {volume} the {figure.model} holds ({catheter_length.to('cm')} x "
        f"{figure.per_cm}{whose})"
    )
    source = f"{figure.source}; {tolerance.source}"
    verified = figure.verified and tolerance.verified
    share = tolerance.value / 100
    # to the microlitre painpump prints, inwards: the limits shown are the limits applied
    lowest = of((volume.canonical * (1 - share)).quantize(MICROLITRE, ROUND_CEILING), "mL")
    highest = of((volume.canonical * (1 + share)).quantize(MICROLITRE, ROUND_FLOOR), "mL")
    entered = _typed(dead_volume)
    if dead_volume.canonical < lowest.canonical:
        raise Refusal(
            FIELD,
            entered,
            f">= {lowest}: {tolerance.value} % below {computed} (hard limit: no override)",
            source,
            "is less than the implanted catheter alone holds: a unit or typing slip? Re-enter "
            "it in mL",
        )
    if dead_volume.canonical > highest.canonical:
        extra = of(dead_volume.canonical - volume.canonical, "mL")
        return Decision(
            (
                Finding(
                    ABOVE_CATHETER,
                    Verdict.WARN,
                    f"dead volume {entered} is {extra} more than {computed}: the pump's own "
                    "path volume, which no source gives for any pump, or a unit or typing slip? "
                    "Check it against the pump's and the catheter's labeling",
                    f"<= {highest} ({tolerance.value} % above {computed})",
                    source,
                    verified=False,
                    subject=Subject.VOLUME,
                    tier=Tier.SOFT,
                ),
            )
        )
    return Decision(
        (
            Finding(
                WITHIN_CATHETER,
                Verdict.OK,
                f"dead volume {entered} is within {tolerance.value} % of {computed}",
                f"{lowest} to {highest}",
                source,
                verified=verified,
                subject=Subject.VOLUME,
            ),
        )
    )


def _check_plausible(dead_volume: Q, rules: catalog.DeadVolumeRules) -> None:
    low, high = rules.plausible_min, rules.plausible_max
    if low.value.canonical <= dead_volume.canonical <= high.value.canonical:
        return
    side, limit = ("less", low) if dead_volume.canonical < low.value.canonical else ("more", high)
    unverified = "" if low.verified and high.verified else "clinic settings, unverified; "
    raise Refusal(
        FIELD,
        _typed(dead_volume),
        f"{low.value} to {high.value} ({unverified}hard limit: no override)",
        limit.source,
        f"is {side} than any pump outlet and catheter plausibly hold: a unit or typing slip? "
        "Re-enter it in mL",
    )


def _unchecked(model: str, dead_volume: Q) -> Finding:
    known = ", ".join(sorted(catalog.catheters())) or "none"
    return Finding(
        UNCHECKED,
        Verdict.WARN,
        f"the catheter catalog has no {model.strip()!r} (it knows {known}): the dead volume "
        f"{_typed(dead_volume)} is not checked against the catheter's volume; check it against "
        "the catheter's labeling (implanted length x volume per cm) and the pump's",
        "none in the catheter catalog",
        UNKNOWN_CATHETER_SOURCE,
        verified=False,
        subject=Subject.VOLUME,
        tier=Tier.SOFT,
    )


def _typed(volume: Q) -> str:
    """A volume as entered, unrounded (a slip to microlitres must not print as 0 mL)."""
    return f"{format_decimal(volume.value)} {volume.unit}"
