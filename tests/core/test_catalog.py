"""The packaged catalog: every model the command line names exists, every value has a source,
and no unverified value can stop a user."""

from __future__ import annotations

import pytest

from painpump.core import catalog
from painpump.core.decision import Tier
from painpump.core.errors import Refusal

CLI_PUMPS = [
    "synchromed-ii-20",
    "synchromed-ii-40",
    "prometra-ii-20",
    "prometra-ii-40",
    "cadd-solis",
    "cadd-micro",
    "constant-flow",
]
CLI_DRUGS = [
    "morphine",
    "hydromorphone",
    "fentanyl",
    "sufentanil",
    "ziconotide",
    "bupivacaine",
    "clonidine",
    "baclofen",
]


@pytest.mark.parametrize("model", CLI_PUMPS)
def test_every_pump_of_the_command_line_is_in_the_catalog_with_sourced_values(model: str) -> None:
    pump = catalog.pump(model)
    for value in (pump.reservoir_volume, pump.low_reservoir_alarm, pump.min_rate, pump.max_rate):
        assert value.source
    assert pump.accuracy_percent.source


@pytest.mark.parametrize("name", CLI_DRUGS)
def test_every_drug_limit_has_a_source_and_a_tier(name: str) -> None:
    drug = catalog.drug(name)
    for limit in drug.limits:
        assert limit.source
        assert limit.severity in (Tier.HARD, Tier.SOFT)
    for rule in drug.stability:
        assert rule.source


def test_confirmed_defaults_of_the_fact_sheets() -> None:
    assert str(catalog.pump("synchromed-ii-20").low_reservoir_alarm.value) == "2 mL"
    assert catalog.pump("synchromed-ii-20").low_reservoir_alarm.verified
    assert str(catalog.pump("prometra-ii-40").low_reservoir_alarm.value) == "3 mL"
    assert str(catalog.pump("synchromed-ii-40").min_rate.value) == "0.048 mL/day"
    prometra = catalog.catheter("prometra-catheter")
    assert str(prometra.volume_per_cm) == "0.0026"
    assert prometra.volume_per_cm_verified


def test_unconfirmed_synchromed_reservoir_volume_is_flagged_unverified() -> None:
    assert not catalog.pump("synchromed-ii-20").reservoir_volume.verified


def test_ziconotide_daily_maximum_depends_on_region() -> None:
    ziconotide = catalog.drug("ziconotide")
    us = ziconotide.limits_for("max_daily_dose", region="us")
    eu = ziconotide.limits_for("max_daily_dose", region="eu")
    assert [str(limit.value) for limit in us] == ["19.2 mcg/day"]
    assert [str(limit.value) for limit in eu] == ["21.6 mcg/day"]
    assert len(ziconotide.limits_for("max_daily_dose")) == 2


def test_unknown_names_are_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(Refusal) as caught:
        catalog.drug("morfine", "drug")
    assert caught.value.field == "drug"
    assert "morphine" in caught.value.limit
    with pytest.raises(Refusal, match="synchromed-ii-20"):
        catalog.pump("synchromed-3", "pump")


def test_a_limit_tier_is_its_own_whatever_its_verification() -> None:
    limit = catalog._limit(
        "morphine",
        {
            "rule": "max_daily_dose",
            "value": "15 mg/day",
            "severity": "hard",
            "verified": False,
            "source": "x",
        },
    )
    assert limit.severity is Tier.HARD and limit.verified is False


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"severity": "firm"}, "severity must be hard or soft"),
        ({"when": {"phase": "weaning"}}, "unknown condition phase = weaning"),
        ({"source": ""}, "no source"),
    ],
    ids=["unknown-tier", "unknown-condition", "no-source"],
)
def test_a_data_file_limit_without_a_tier_condition_or_source_is_rejected(
    entry: dict[str, object], problem: str
) -> None:
    base: dict[str, object] = {
        "rule": "max_daily_dose",
        "value": "15 mg/day",
        "severity": "soft",
        "verified": True,
        "source": "x",
    }
    with pytest.raises(catalog.CatalogError, match=problem):
        catalog._limit("morphine", {**base, **entry})


def test_every_packaged_label_maximum_and_product_ceiling_is_hard() -> None:
    hard = {
        (lim.drug, lim.rule, str(lim.value))
        for drug in catalog.drugs().values()
        for lim in drug.limits
        if lim.severity is Tier.HARD
    }
    assert {
        ("morphine", "max_concentration", "25 mg/mL"),
        ("ziconotide", "max_concentration", "100 mcg/mL"),
        ("ziconotide", "max_daily_dose", "19.2 mcg/day"),
        ("ziconotide", "max_daily_dose", "21.6 mcg/day"),
        ("ziconotide", "max_start_dose", "2.4 mcg/day"),
        ("baclofen", "max_concentration", "2000 mcg/mL"),
    } <= hard
    guideline = [
        lim for drug in catalog.drugs().values() for lim in drug.limits if "pacc-2012" in lim.source
    ]
    assert guideline and all(lim.severity is Tier.SOFT for lim in guideline)


def test_every_drug_has_usual_ranges_for_unit_slips() -> None:
    for drug in catalog.drugs().values():
        assert drug.usual_range("daily_dose") is not None, drug.name
        assert drug.usual_range("concentration") is not None, drug.name
