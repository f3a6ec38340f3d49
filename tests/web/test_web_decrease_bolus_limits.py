"""The Library page offers a clinic's largest single decrease and largest single bolus: a
pharmacist adds each through the form, it is stored with its unit and listed with its value in
the drug's unit; one that would loosen the library or is a unit slip is refused next to the field
and nothing is stored."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import written_entries
from painpump.clinic.models import AuditEntry, ClinicLimit

pytestmark = pytest.mark.django_db

POLICY = "Opioid policy v3, section 4"
NEW = "/library/morphine/limits/new/"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(rule: str, value: str, severity: str = "hard", key: str = "k-1") -> dict[str, str]:
    return {
        "key": key,
        "rule_choice": rule,
        "value": value,
        "severity": severity,
        "source": POLICY,
    }


def test_the_form_offers_both_rules_with_an_example(pharmacist: User) -> None:
    page = client_for(pharmacist).get(NEW).content.decode()
    assert '<option value="max_decrease_percent">largest single decrease (percent) (e.g. 30 %)' in (
        page
    )
    assert '<option value="max_single_bolus">largest single bolus (e.g. 0.3 mg)' in page
    assert "a single bolus as 0.3 mg" in page


@pytest.mark.parametrize(
    ("rule", "typed", "stored", "unit", "shown"),
    [
        ("max_decrease_percent", "30 %", Decimal(30), "%", "30 %"),
        ("max_single_bolus", "300 mcg", Decimal(300), "mcg", "300 mcg (= 0.3 mg)"),
    ],
    ids=["decrease", "bolus"],
)
def test_a_pharmacist_adds_the_limit_through_the_library_page(
    pharmacist: User, rule: str, typed: str, stored: Decimal, unit: str, shown: str
) -> None:
    client = client_for(pharmacist)
    response = client.post(NEW, form(rule, typed))
    assert response.status_code == 302
    assert response["Location"] == "/library/#drug-morphine"
    row = ClinicLimit.objects.get()
    assert (row.drug, row.rule, row.value, row.unit, row.severity) == (
        "morphine",
        rule,
        stored,
        unit,
        "hard",
    )
    assert row.pending  # hard: waits for a second approver
    assert AuditEntry.objects.filter(action="library.limit.add").count() == 1
    page = client.get("/library/").content.decode()
    assert "Clinic limit added for morphine." in page
    block = re.search(r'<table class="rows sourced clinic-limits">.*?</table>', page, re.S)
    assert block is not None
    assert f'<td class="num">{shown}</td>' in block.group(0)
    assert POLICY in block.group(0)


@pytest.mark.parametrize(
    ("rule", "typed", "severity", "message"),
    [
        ("max_decrease_percent", "45 %", "soft", "may only tighten"),
        ("max_decrease_percent", "30", "hard", "has no unit"),
        ("max_single_bolus", "0.6 mg", "soft", "may only tighten"),
        ("max_single_bolus", "5 mcg", "hard", "unit or decimal slip"),
        ("max_single_bolus", "0.3 mg/day", "hard", "is not a mass"),
    ],
    ids=["looser-decrease", "percent-no-unit", "looser-bolus", "bolus-slip", "bolus-as-rate"],
)
def test_a_bad_limit_is_refused_next_to_the_value_and_nothing_is_stored(
    pharmacist: User, rule: str, typed: str, severity: str, message: str
) -> None:
    response = client_for(pharmacist).post(NEW, form(rule, typed, severity))
    assert response.status_code == 422
    page = response.content.decode()
    block = re.search(r'<div class="field invalid">\s*<label for="id_value">.*?</div>', page, re.S)
    assert block is not None and message in block.group(0)
    assert not ClinicLimit.objects.exists()
    assert not written_entries().exists()
