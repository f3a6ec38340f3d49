"""Every limit of the packaged drug library at its boundary, in its own tier: at the limit the
rule passes; one step beyond it stops when the limit is hard and warns when it is soft, whatever
its verification (rule-two-tiers)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.catalog import Limit
from painpump.core.checks import check
from painpump.core.decision import Decision, Finding, Tier, Verdict
from painpump.core.dose_history import Phase
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.units import Q

STEP = Decimal("0.001")
ON = date(2026, 6, 1)


def _limits(*rules: str) -> Iterator[Limit]:
    for drug in catalog.drugs().values():
        for limit in drug.limits:
            if limit.rule in rules:
                yield limit


def _id(limit: Limit) -> str:
    when = "-".join(f"{k}={v}" for k, v in sorted(limit.when.items()))
    return f"{limit.drug}-{limit.rule}-{limit.value}{'-' + when if when else ''}".replace(" ", "")


def _judged(decision: Decision, limit: Limit) -> Finding:
    (finding,) = [f for f in decision.findings if f.rule == limit.rule and f.source == limit.source]
    return finding


def _beyond(limit: Limit) -> Verdict:
    return Verdict.STOP if limit.severity is Tier.HARD else Verdict.WARN


def _region(limit: Limit) -> str:
    return limit.when.get("region", "us")


def _patient(limit: Limit) -> PatientFacts:
    status = limit.when.get("opioid_status")
    return PatientFacts(
        opioid_status=OpioidStatus(status) if status else OpioidStatus.UNKNOWN,
        psychosis_history=False,
    )


def _a_concentration(drug: catalog.Drug) -> Q:
    usual = drug.usual_range("concentration")
    assert usual is not None
    return usual.high


def _a_dose(drug: catalog.Drug) -> Q:
    usual = drug.usual_range("daily_dose")
    assert usual is not None
    return usual.low


QUANTITY_LIMITS = list(_limits("max_concentration", "max_daily_dose", "max_start_dose"))


@pytest.mark.parametrize("limit", QUANTITY_LIMITS, ids=[_id(lim) for lim in QUANTITY_LIMITS])
def test_a_maximum_passes_at_its_value_and_beyond_it_acts_by_its_tier(limit: Limit) -> None:
    drug = catalog.drug(limit.drug)
    assert isinstance(limit.value, Q)
    for value, verdict in (
        (limit.value.value, Verdict.OK),
        (limit.value.value + STEP, _beyond(limit)),
    ):
        given = Q(value, limit.value.unit)
        is_concentration = limit.rule == "max_concentration"
        decision = check(
            limit.drug,
            given if is_concentration else _a_concentration(drug),
            _a_dose(drug) if is_concentration else given,
            starting=limit.rule == "max_start_dose",
            patient=_patient(limit),
            on=ON,
            region=_region(limit),
            origin=limit.when.get("origin"),
        )
        finding = _judged(decision, limit)
        assert (finding.verdict, finding.tier) == (verdict, limit.severity)
        assert finding.verified is limit.verified


STEP_LIMITS = list(_limits("max_step_percent", "max_step_absolute", "max_decrease_percent"))


def _dose_after(limit: Limit, previous: Q, beyond: bool) -> Q:
    extra = STEP if beyond else Decimal(0)
    if limit.rule == "max_step_absolute":
        assert isinstance(limit.value, Q)
        return Q(previous.value + limit.value.to(previous.unit).value + extra, previous.unit)
    assert isinstance(limit.value, Decimal)
    sign = Decimal(-1) if limit.rule == "max_decrease_percent" else Decimal(1)
    percent = limit.value + extra * 100
    return Q(previous.value * (1 + sign * percent / 100), previous.unit)


@pytest.mark.parametrize("limit", STEP_LIMITS, ids=[_id(lim) for lim in STEP_LIMITS])
def test_a_step_passes_at_its_limit_and_beyond_it_acts_by_its_tier(limit: Limit) -> None:
    drug = catalog.drug(limit.drug)
    previous = Q(Decimal(10), drug.dose_rate_unit)
    phase = limit.when.get("phase")
    for beyond, verdict in ((False, Verdict.OK), (True, _beyond(limit))):
        decision = check(
            limit.drug,
            _a_concentration(drug),
            _dose_after(limit, previous, beyond),
            previous_dose=previous,
            hours_since_change=Decimal(200),
            increases_last_7_days=0,
            phase=Phase(phase) if phase else None,
            region=_region(limit),
            origin=limit.when.get("origin"),
        )
        finding = _judged(decision, limit)
        assert (finding.verdict, finding.tier) == (verdict, limit.severity), finding.message


TIME_LIMITS = list(_limits("min_hours_between_increases", "max_increases_per_week"))


@pytest.mark.parametrize("limit", TIME_LIMITS, ids=[_id(lim) for lim in TIME_LIMITS])
def test_the_pace_of_increases_passes_at_its_limit_and_beyond_it_acts_by_its_tier(
    limit: Limit,
) -> None:
    drug = catalog.drug(limit.drug)
    previous = Q(Decimal(10), drug.dose_rate_unit)
    assert isinstance(limit.value, Decimal)
    for beyond, verdict in ((False, Verdict.OK), (True, _beyond(limit))):
        if limit.rule == "min_hours_between_increases":
            hours, count = limit.value - (STEP if beyond else 0), 0
        else:
            hours, count = Decimal(200), int(limit.value) - (0 if beyond else 1)
        decision = check(
            limit.drug,
            _a_concentration(drug),
            Q(Decimal("10.1"), drug.dose_rate_unit),
            previous_dose=previous,
            hours_since_change=hours,
            increases_last_7_days=count,
            region=_region(limit),
            origin=limit.when.get("origin"),
        )
        finding = _judged(decision, limit)
        assert (finding.verdict, finding.tier) == (verdict, limit.severity)


AGE_LIMITS = list(_limits("min_age_years"))


@pytest.mark.parametrize("limit", AGE_LIMITS, ids=[_id(lim) for lim in AGE_LIMITS])
def test_the_labels_youngest_age_passes_on_the_birthday_and_warns_the_day_before(
    limit: Limit,
) -> None:
    drug = catalog.drug(limit.drug)
    assert isinstance(limit.value, Decimal)
    years = int(limit.value)
    born = date(ON.year - years, ON.month, ON.day)
    for birth, verdict in ((born, Verdict.OK), (date(born.year, born.month, 2), _beyond(limit))):
        decision = check(
            limit.drug,
            _a_concentration(drug),
            _a_dose(drug),
            patient=PatientFacts(birth_date=birth, psychosis_history=False),
            on=ON,
        )
        finding = _judged(decision, limit)
        assert (finding.verdict, finding.tier) == (verdict, limit.severity)


def test_a_hard_limit_stops_even_when_its_value_is_unverified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    morphine = catalog.drug("morphine")
    pacc = next(lim for lim in morphine.limits if lim.rule == "max_daily_dose" and not lim.verified)
    hardened = Limit(pacc.drug, pacc.rule, pacc.value, Tier.HARD, False, pacc.source)
    decision = check("morphine", Q(Decimal(10), "mg/mL"), Q(Decimal(16), "mg/day"), extra_limits=())
    assert _judged(decision, pacc).verdict is Verdict.WARN
    limits = tuple(hardened if lim is pacc else lim for lim in morphine.limits)
    monkeypatch.setitem(catalog.drugs(), "morphine", replace(morphine, limits=limits))
    decision = check("morphine", Q(Decimal(10), "mg/mL"), Q(Decimal(16), "mg/day"))
    finding = _judged(decision, hardened)
    assert (finding.verdict, finding.tier, finding.verified) == (Verdict.STOP, Tier.HARD, False)
