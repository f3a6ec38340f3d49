"""The packaged catalog: every model the command line names exists, every value has a source,
and no unverified value can stop a user."""

from __future__ import annotations

import pytest

from painpump.core import catalog
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
def test_every_drug_limit_has_a_source_and_unverified_limits_are_soft(name: str) -> None:
    drug = catalog.drug(name)
    for limit in drug.limits:
        assert limit.source
        assert limit.verified or limit.severity == "soft"
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


def test_an_unverified_hard_limit_in_a_data_file_is_rejected() -> None:
    with pytest.raises(catalog.CatalogError, match="unverified limit cannot be hard"):
        catalog._limit(
            "morphine",
            {
                "rule": "max_daily_dose",
                "value": "15 mg/day",
                "severity": "hard",
                "verified": False,
                "source": "x",
            },
        )
