"""Bad input for the drug-library checks (core.checks, core.clinic_limits, core.device_limits):
any drug, concentration, dose, step, origin and region gives a decision or a Refusal naming the
field. No silent acceptance: an `ok` decision means the values are within every limit of the drug
library (and the clinic's), and a value beyond a hard, verified limit always stops."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.catalog import Drug, Limit, Pump
from painpump.core.checks import IMPLAUSIBLE_FACTOR, check
from painpump.core.clinic_limits import RULES, clinic_limit, parse_value
from painpump.core.decision import Tier, Verdict
from painpump.core.device_limits import check_rate, check_volume_fits
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q
from strategies import (
    cases,
    drugs,
    hostile_decimals,
    hostile_names,
    pumps,
    quantities,
    quantity_texts,
    with_wrong_kind,
)

CHECK_FIELDS = (
    "drug", "concentration", "dose", "previous_dose", "hours_since_change",
    "origin", "region", "increases_last_7_days",
)  # fmt: skip
options = st.one_of(st.none(), st.sampled_from(("spinal", "cerebral", "us", "eu", "EU ", "x")))


def broken(
    drug: Drug,
    c: Q,
    d: Q,
    region: str | None,
    previous: Q | None,
    hours: Decimal | None,
    origin: str | None,
    increases: int | None,
) -> list[Limit]:
    """The drug-library limits these values break, worked out here independently of checks."""
    out = [
        lim for lim in drug.limits_for("max_concentration")
        if isinstance(lim.value, Q) and c.canonical > lim.value.canonical
    ] + [
        lim for lim in drug.limits_for("min_concentration")
        if isinstance(lim.value, Q) and c.canonical < lim.value.canonical
    ] + [
        lim for lim in drug.limits_for("max_daily_dose", region=region)
        if isinstance(lim.value, Q) and d.canonical > lim.value.canonical
    ]  # fmt: skip
    if previous is not None and d.canonical < previous.canonical:
        fall = (previous.canonical - d.canonical) / previous.canonical * 100
        out += [
            lim for lim in drug.limits_for("max_decrease_percent")
            if isinstance(lim.value, Decimal) and fall > lim.value
        ]  # fmt: skip
    if previous is None or d.canonical <= previous.canonical:
        return out
    change = d.canonical - previous.canonical
    steps = drug.limits_for("max_step_percent", origin=origin)
    if steps:
        strictest = min(steps, key=lambda lim: lim.value if isinstance(lim.value, Decimal) else 0)
        assert isinstance(strictest.value, Decimal)
        if change / previous.canonical * 100 > strictest.value:
            out.append(strictest)
    for lim in drug.limits_for("max_step_absolute"):
        if isinstance(lim.value, Q) and change > lim.value.canonical:
            out.append(lim)
    for lim in drug.limits_for("min_hours_between_increases"):
        if hours is not None and isinstance(lim.value, Decimal) and hours < lim.value:
            out.append(lim)
    for lim in drug.limits_for("max_increases_per_week", region=region):
        if increases is not None and isinstance(lim.value, Decimal) and increases + 1 > lim.value:
            out.append(lim)
    return out


@cases(200)
@given(
    drugs,
    with_wrong_kind(Kind.CONCENTRATION, high=Decimal(10) ** 6),
    with_wrong_kind(Kind.DOSE_RATE, high=Decimal(10) ** 7),
    st.one_of(st.none(), with_wrong_kind(Kind.DOSE_RATE, high=Decimal(10) ** 7)),
    st.one_of(st.none(), hostile_decimals, st.integers(0, 100).map(Decimal)),
    options,
    options,
    st.one_of(st.none(), st.integers(-3, 10)),
)
def test_an_ok_decision_means_every_limit_of_the_drug_library_holds(
    drug: Drug,
    c: Q,
    d: Q,
    previous: Q | None,
    hours: Decimal | None,
    origin: str | None,
    region: str | None,
    increases: int | None,
) -> None:
    try:
        decision = check(
            drug.name, c, d, previous_dose=previous, hours_since_change=hours, origin=origin,
            region=region, increases_last_7_days=increases,
        )  # fmt: skip
    except Refusal as refusal:
        assert refusal.field in CHECK_FIELDS
        return
    assert c.kind is Kind.CONCENTRATION and d.kind is Kind.DOSE_RATE
    region_ = region.strip().lower() if region else None
    origin_ = origin.strip().lower() if origin else None
    breaks = broken(drug, c, d, region_, previous, hours, origin_, increases)
    hard = [lim for lim in breaks if lim.severity is Tier.HARD]
    if decision.verdict is Verdict.OK:
        assert breaks == []
        # and within the drug's usual ranges: nothing outside them passes unremarked
        stopping = previous is not None and d.canonical == 0  # a stop: the decrease rules judge it
        for kind, value in (("concentration", c), ("daily_dose", d)):
            usual = drug.usual_range(kind)
            assert usual is not None
            assert usual.holds(value) or (kind == "daily_dose" and stopping)
    if hard:
        assert decision.verdict is Verdict.STOP
    if decision.verdict is not Verdict.STOP:
        assert hard == []
        highest = max(
            (lim.value.canonical for lim in drug.limits_for("max_daily_dose")
             if isinstance(lim.value, Q)),
            default=None,
        )  # fmt: skip
        assert highest is None or d.canonical < highest * IMPLAUSIBLE_FACTOR
    for finding in decision.findings:
        assert finding.source and finding.limit  # every answer explains itself


@cases(100)
@given(drugs, quantities(Kind.CONCENTRATION, Decimal("0.001"), Decimal(30)))
def test_mg_read_as_mcg_never_passes_silently(drug: Drug, mcg: Q) -> None:
    """The same number in mg instead of mcg (a thousand-fold slip) is never an ok decision when
    the mcg value is: a limit breaks, the implausibility guard stops, or a warning asks."""
    as_mcg = Q(mcg.value, "mcg/mL")
    as_mg = Q(mcg.value, "mg/mL")
    dose = Q(Decimal(1), "mcg/day")
    low, high = check(drug.name, as_mcg, dose), check(drug.name, as_mg, dose)
    if low.verdict is Verdict.OK and high.verdict is Verdict.OK:
        maxima = [lim.value.canonical for lim in drug.limits_for("max_concentration")
                  if isinstance(lim.value, Q)]  # fmt: skip
        assert all(as_mg.canonical <= m for m in maxima)  # both truly within every maximum


@cases(70)
@given(
    drugs,
    st.sampled_from(sorted(RULES)),
    quantity_texts,
    st.sampled_from(("hard", "soft", "HARD", "")),
    st.sampled_from((None, "us", "eu")),
)
def test_a_clinic_limit_only_ever_tightens_the_drug_library(
    drug: Drug, rule: str, text: str, severity: str, region: str | None
) -> None:
    try:
        limit = clinic_limit(
            drug, rule, parse_value(rule, text), severity, "clinic policy 2026", region=region
        )
    except Refusal as refusal:
        assert refusal.field in ("value", "severity", "rule", "source")
        return
    value = limit.value.canonical if isinstance(limit.value, Q) else limit.value
    assert value > 0
    for packaged in drug.limits_for(rule, region=region):
        if severity == "hard" and packaged.severity != "hard":
            continue
        bound = packaged.value.canonical if isinstance(packaged.value, Q) else packaged.value
        if rule == "min_hours_between_increases":
            assert value > bound
        else:
            assert value < bound


@cases(100)
@given(pumps, with_wrong_kind(Kind.VOLUME_RATE, high=Decimal(500)))
def test_a_rate_outside_the_device_range_is_refused_whatever_its_verification(
    pump: Pump, rate: Q
) -> None:
    try:
        check_rate(pump, rate)
    except Refusal as refusal:
        assert refusal.field == "rate"
        return
    assert rate.kind is Kind.VOLUME_RATE
    assert pump.min_rate.value.canonical <= rate.canonical <= pump.max_rate.value.canonical


@cases(70)
@given(pumps, with_wrong_kind(Kind.VOLUME, high=Decimal(200)))
def test_a_volume_beyond_the_reservoir_is_refused(pump: Pump, volume: Q) -> None:
    try:
        check_volume_fits(pump, volume)
    except Refusal as refusal:
        assert refusal.field == "volume"
        return
    assert volume.kind is Kind.VOLUME
    assert volume.canonical <= pump.reservoir_volume.value.canonical


@cases(50)
@given(hostile_names)
def test_an_unknown_drug_or_pump_name_is_refused_naming_the_field(name: str) -> None:
    for lookup, field in ((catalog.drug, "drug"), (catalog.pump, "pump")):
        try:
            found = lookup(name, field)
        except Refusal as refusal:
            assert refusal.field == field
            continue
        assert name.strip().lower() in {*catalog.drugs(), *catalog.pumps()}
        assert found is not None


@pytest.mark.parametrize("drug", ["fentanyl", "sufentanil"])
def test_a_drug_without_library_limits_is_never_ok_in_silence(drug: str) -> None:
    """Defect: fentanyl and sufentanil have no maximum concentration or daily dose in the drug
    library, so 1000 mg/mL at 10 g/day was an `ok` decision with no finding at all; now their
    usual ranges judge them: a thousand-fold slip stops, a value merely outside warns."""
    decision = check(drug, Q(Decimal(1000), "mg/mL"), Q(Decimal(10_000), "mg/day"))
    assert decision.verdict is Verdict.STOP
    assert "implausible" in {f.rule for f in decision.findings}
    usual = catalog.drug(drug).usual_range("daily_dose")
    assert usual is not None
    between = Q(usual.high.canonical * Decimal("2.5"), "mcg/day")  # above, short of 3 times
    outside = check(drug, Q(Decimal(3), "mcg/mL"), between)
    assert outside.verdict is Verdict.WARN
    assert {f.rule for f in outside.findings if f.verdict is Verdict.WARN} == {"usual_range"}


def test_device_limits_refuse_a_quantity_of_another_kind() -> None:
    """Defect: check_rate and check_volume_fits compared the canonical numbers of whatever they
    were given, so 0 mcg passed as a volume and 0 mL as a rate, in silence."""
    pump = catalog.pump("synchromed-ii-20")
    with pytest.raises(Refusal) as caught:
        check_volume_fits(pump, Q(Decimal(5), "mcg"))
    assert caught.value.field == "volume"
    with pytest.raises(Refusal) as caught:
        check_rate(pump, Q(Decimal(1), "mL"))
    assert caught.value.field == "rate"


def test_check_refuses_a_volume_given_as_the_concentration() -> None:
    """Defect: a volume passed as the concentration crashed check() with ValueError."""
    with pytest.raises(Refusal) as caught:
        check("baclofen", Q(Decimal(2), "mL"), Q(Decimal(100), "mcg/day"))
    assert caught.value.field == "concentration"


def test_check_refuses_a_nan_time_since_the_last_change() -> None:
    """Defect: hours_since_change=NaN crashed check() with decimal.InvalidOperation."""
    with pytest.raises(Refusal) as caught:
        check(
            "baclofen",
            Q(Decimal(500), "mcg/mL"),
            Q(Decimal(110), "mcg/day"),
            previous_dose=Q(Decimal(100), "mcg/day"),
            hours_since_change=Decimal("NaN"),
        )
    assert caught.value.field == "hours_since_change"
