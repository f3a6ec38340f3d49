"""The residual found at a refill judged against the pump's twin (rule-pump-twin): the expected
residual the pump reports and the volume aspirated, each against what the twin computes from the
recorded history (fills, prescriptions, the boluses the pump reports given). The difference
allowed is the pump's accuracy (the side core.refill.reconcile takes) applied to the volume the
twin says was delivered since the fill, and at least the pump's pocket-fill threshold (Maino
2017) and, for the aspirated volume, the volume a syringe is read to: the twin's figure also
carries what no percentage scales (the time typed, the boluses counted). An aspirated volume the
reconciliation already warns of is worded in that warning (one reason for one aspirate)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from painpump.core import catalog
from painpump.core.catalog import VERIFY_NOTE, Pump, Sourced, SourcedNumber
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.dosing import concentration_in_drug_unit
from painpump.core.errors import Refusal
from painpump.core.pump_twin import BolusCount, PumpHistory, forecast
from painpump.core.refill import SYRINGE_READING, Reconciliation, syringe_reading_words
from painpump.core.units import Q, format_decimal, of

RULE = "twin_residual"
TWIN_SOURCE = (
    "rule-pump-twin: the residual the pump's twin computes from the recorded fills, "
    "prescriptions and boluses"
)
POCKET_FILL_WORDS = "a possible pocket fill beyond the threshold, Maino 2017"
AMOUNT_DIGITS = 4
"""Significant digits of a drug amount in a message, or the volume's own where it shows more."""


@dataclass(frozen=True)
class TwinResidual:
    """What the twin says the reservoir holds at a refill: `least` if every allowed patient bolus
    was given since the fill, `most` if none was (equal when none were prescribed, or when the
    count the pump reports is known), and the fill both come from."""

    least: Q
    most: Q
    filled: Q


def twin_residual(history: PumpHistory, at: datetime, given: int | None) -> TwinResidual | None:
    """The twin's residual at `at` (after the last fill recorded), with `given` the patient
    boluses the pump reports given since that fill (None: not known, so a range); None when the
    twin cannot compute it (no fill recorded, or a history or count it refuses)."""
    if not history.fills:
        return None
    fill = history.fills[-1]
    at = max(at, fill.at)

    def left(count: int | None) -> Q:
        counted = history
        if count is not None:
            counted = replace(history, boluses=(*history.boluses, BolusCount(fill.at, at, count)))
        return of(forecast(counted, at).residual_ml, "mL")

    boluses = any(p.ptm is not None for p in history.programs if p.at <= at)
    try:
        if not boluses or at <= fill.at or given is not None:
            exact = left(given if boluses else None)
            return TwinResidual(exact, exact, of(fill.volume_ml, "mL"))
        return TwinResidual(left(None), left(0), of(fill.volume_ml, "mL"))
    except Refusal:
        return None


class Compared(StrEnum):
    """Which residual the refill compares with the twin's."""

    EXPECTED = "expected"
    """The residual the pump itself reports (from the programmer)."""
    ASPIRATED = "aspirated"


@dataclass(frozen=True)
class TwinGap:
    """One residual beyond the twin's figure: the figure it is compared with (the nearer end of
    the twin's range), the signed difference (negative: less than the twin expects), the volume
    the twin says was delivered since the fill, the side of the pump's accuracy that applies,
    the pocket-fill threshold (None: the pump has none) and the volume a syringe is read to
    (None: a figure the pump reports, not read off a syringe)."""

    compared: Compared
    value: Q
    figure: Q
    difference: Q
    delivered: Q
    accuracy: SourcedNumber
    pocket_fill: Sourced | None
    reading: SourcedNumber | None = None

    @property
    def by_accuracy(self) -> Q:
        """The pump's accuracy applied to the volume the twin says was delivered."""
        return of(self.accuracy.value * self.delivered.canonical / 100, "mL")

    @property
    def _pocket(self) -> Decimal:
        return self.pocket_fill.value.canonical if self.pocket_fill else Decimal(0)

    @property
    def by_reading(self) -> bool:
        """The volume a syringe is read to decides the difference allowed (more than the
        accuracy and the pocket-fill threshold allow)."""
        return self.reading is not None and self.reading.value > max(
            self.by_accuracy.canonical, self._pocket
        )

    @property
    def allowed(self) -> Q:
        """The difference allowed: by the accuracy, and at least the pocket-fill threshold and
        the volume a syringe is read to."""
        reading = self.reading.value if self.reading else Decimal(0)
        return of(max(self.by_accuracy.canonical, self._pocket, reading), "mL")

    @property
    def basis(self) -> str:
        """How the allowed difference is made up, for the message and the limit."""
        shown = f"+/-{self.accuracy.value} % of the {self.delivered} delivered since the last fill"
        if not self.accuracy.verified:
            shown += f" (unverified: {VERIFY_NOTE})"
        if self.pocket_fill is not None:
            shown += f", at least the pocket-fill threshold {self.pocket_fill.value}"
        if self.by_reading:
            shown += f", at least {syringe_reading_words()}"
        return shown

    @property
    def limit(self) -> str:
        maino = "" if self.pocket_fill is None else f"; {POCKET_FILL_WORDS}"
        return f"a difference of at most {self.allowed} ({self.basis}{maino})"

    @property
    def source(self) -> str:
        sources = [TWIN_SOURCE, self.accuracy.source]
        if self.pocket_fill is not None:
            sources.append(self.pocket_fill.source)
        if self.by_reading and self.reading is not None:
            sources.append(self.reading.source)
        return "; ".join(sources)

    @property
    def verified(self) -> bool:
        reading = not self.by_reading or (self.reading is not None and self.reading.verified)
        pocket = self.pocket_fill is None or self.pocket_fill.verified
        return self.accuracy.verified and pocket and reading


def gap(pump: Pump, twin: TwinResidual, compared: Compared, value: Q) -> TwinGap | None:
    """`value` against the twin's figure, or None when it lies within the twin's range or the
    difference allowed: the pump's accuracy (its over-infusion side when less is left than the
    twin expects, as core.refill.reconcile takes it) over the volume the twin says was
    delivered, and at least the pump's pocket-fill threshold where it has one and, for an
    aspirated volume, the volume a syringe is read to."""
    if value.canonical < twin.least.canonical:
        figure, side = twin.least, pump.accuracy_percent
    elif value.canonical > twin.most.canonical:
        figure, side = twin.most, pump.accuracy_under_percent or pump.accuracy_percent
    else:
        return None
    found = TwinGap(
        compared=compared,
        value=value,
        figure=figure,
        difference=of(value.canonical - figure.canonical, "mL"),
        delivered=of(max(twin.filled.canonical - figure.canonical, Decimal(0)), "mL"),
        accuracy=side,
        pocket_fill=pump.extras.get("pocket_fill_threshold"),
        reading=SYRINGE_READING if compared is Compared.ASPIRATED else None,
    )
    return found if abs(found.difference.canonical) > found.allowed.canonical else None


def significant(value: Decimal, digits: int) -> Decimal:
    """`value` rounded to `digits` significant digits (half to even)."""
    if value.is_zero():
        return value
    return value.quantize(Decimal(1).scaleb(value.adjusted() - digits + 1), ROUND_HALF_EVEN)


def drug_amounts(volume: Q, drugs: Sequence[tuple[str, Decimal]]) -> str:
    """What a volume of the fill holds of each drug (mcg/mL), in the drug's own unit, to
    AMOUNT_DIGITS significant digits or the volume's as printed where it shows more: "167.1 mg
    of morphine at 20 mg/mL" for 8.355 mL."""
    shown = of(abs(volume.canonical), "mL").rounded()
    digits = max(AMOUNT_DIGITS, len(format_decimal(shown).replace(".", "").lstrip("0")))
    amounts = []
    for name, conc in drugs:
        amount = of(abs(volume.canonical) * conc, "mcg").to(catalog.drug(name).dose_unit)
        rounded = Q(significant(amount.value, digits), amount.unit)
        amounts.append(f"{rounded} of {name} at {concentration_in_drug_unit(name, conc)}")
    return ", ".join(amounts)


def _head(twin: TwinResidual) -> str:
    if twin.least == twin.most:
        return f"the pump's twin expects {twin.least} from the recorded history"
    return (
        f"the pump's twin expects between {twin.least} (every allowed patient bolus given) and "
        f"{twin.most} (none given) from the recorded history"
    )


def _found(found: TwinGap, twin: TwinResidual, drugs: Sequence[tuple[str, Decimal]]) -> str:
    side = "less" if found.difference.canonical < 0 else "more"
    than = "" if twin.least == twin.most else f" than {found.figure}"
    what = (
        f"the pump reports {found.value.typed} expected"
        if found.compared is Compared.EXPECTED
        else f"{found.value.typed} was aspirated"
    )
    amount = drug_amounts(found.difference, drugs)
    return f"{what}, {of(abs(found.difference.canonical), 'mL')} {side}{than} ({amount})"


def _beyond(found: TwinGap) -> str:
    return f"beyond {found.allowed} ({found.basis})"


def _worded(
    gaps: Sequence[TwinGap], twin: TwinResidual, drugs: Sequence[tuple[str, Decimal]]
) -> str:
    """The twin's figure, each residual beyond it with the amount of drug the difference holds,
    and the limits broken (once, when the same for all)."""
    beyond = [_beyond(g) for g in gaps]
    if len(set(beyond)) == 1:
        found = " and ".join(_found(g, twin, drugs) for g in gaps) + f"; {beyond[0]}"
    else:
        found = "; ".join(
            f"{_found(g, twin, drugs)}, {b}" for g, b in zip(gaps, beyond, strict=True)
        )
    return f"{_head(twin)}: {found}: {_advice(gaps)}"


def _advice(gaps: Sequence[TwinGap]) -> str:
    """What the differences suggest: the pump's own figure off the recorded history, less left
    in the reservoir than the history allows, or more."""
    advice = []
    if any(g.compared is Compared.EXPECTED for g in gaps):
        advice.append(
            "the pump's own figure does not follow the recorded history: check the pump's "
            "program against the prescription (a mis-programmed pump), the boluses it reports "
            "and the figure typed"
        )
    aspirated = [g for g in gaps if g.compared is Compared.ASPIRATED]
    if aspirated and aspirated[0].difference.canonical < 0:
        advice.append(
            "less is left than the recorded history allows: suspect overinfusion, a "
            "mis-programmed pump or a pocket fill, and watch the patient for an overdose"
        )
    elif aspirated:
        advice.append(
            "more is left than the recorded history allows: suspect underinfusion (catheter "
            "occlusion, motor stall) or incomplete aspiration"
        )
    return "; ".join(advice)


def twin_warning(
    pump: Pump,
    twin: TwinResidual | None,
    expected: Q,
    aspirated: Q,
    drugs: Sequence[tuple[str, Decimal]],
    *,
    reconciliation_warned: bool,
) -> Finding | None:
    """The soft warning when the residual the pump reports, or the one aspirated, is beyond the
    twin's figure (one warning naming each: one reason covers them); None when both agree with
    it or the twin has no figure. An aspirated volume the reconciliation already warns of is
    that warning's alone (with_twin words the twin's figure in it). `drugs`: the fill's
    (mcg/mL), for the amount the difference holds."""
    if twin is None:
        return None
    expected_gap = gap(pump, twin, Compared.EXPECTED, expected)
    aspirated_gap = (
        None if reconciliation_warned else gap(pump, twin, Compared.ASPIRATED, aspirated)
    )
    gaps = [g for g in (expected_gap, aspirated_gap) if g is not None]
    if not gaps:
        return None
    return Finding(
        RULE,
        Verdict.WARN,
        _worded(gaps, twin, drugs),
        "; ".join(dict.fromkeys(g.limit for g in gaps)),
        "; ".join(dict.fromkeys(g.source for g in gaps)),
        all(g.verified for g in gaps),
        Subject.DELIVERY,
        tier=Tier.SOFT,
    )


def with_twin(
    check: Reconciliation,
    pump: Pump,
    twin: TwinResidual | None,
    aspirated: Q,
    drugs: Sequence[tuple[str, Decimal]],
) -> Reconciliation:
    """`check`, when it warns and the aspirated volume is beyond the twin's figure too, with the
    twin's figure, the drug the difference holds and what it suggests worded in its message and
    the twin's limit in its warning: one reason asked for one aspirate, which twin_warning then
    leaves out."""
    if twin is None or not check.warns:
        return check
    found = gap(pump, twin, Compared.ASPIRATED, aspirated)
    if found is None:
        return check
    message = f"{check.message}; {_worded([found], twin, drugs)}"
    return replace(check, message=message, against_twin=found)
