"""The web forms under hostile input: HTML and scripts, huge numbers, negative, zero, NaN and
infinity, wrong units, other locales' decimal commas and thousands separators, digits of other
scripts, over-long text and NUL characters. Each is refused next to the field it names with
nothing stored and nothing audited, or accepted only when unambiguous and stored exactly; text is
shown escaped on the next page that shows it, never as markup; never a server error (the test
client raises it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client

from clinic_fixtures import REFILL_FORM, SETTINGS_FORM
from frozen import day
from painpump.clinic.models import (
    Assessment,
    AuditEntry,
    ClinicLimit,
    ClinicSettings,
    Implant,
    Patient,
    Prescription,
    Program,
    Refill,
)

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("pp")</script>'
HTML = "<img src=x onerror=alert(1)><b>bold</b>"
# A quantity that must be refused whatever its field: {unit} is a unit of the field's kind, and
# {wrong} one of another kind.
REFUSED_QUANTITIES = {
    "huge": "1e308 {unit}",
    "ten-to-the-400": "1" + "0" * 400 + " {unit}",
    "ten-to-the-million": "1e1000000 {unit}",  # once a 500: Decimal overflow
    "exponent-of-19-digits": "1e9999999999999999999 {unit}",  # once a 500: InvalidOperation
    "twenty-nines": "99999999999999999999 {unit}",
    "negative": "-5 {unit}",
    "nan": "NaN {unit}",
    "infinity": "Infinity {unit}",
    "no-unit": "20",
    "wrong-kind": "20 {wrong}",
    "decimal-comma": "1,5 {unit}",
    "comma-and-point": "2.000,5 {unit}",
    "spaced-thousands-comma": "1 234,5 {unit}",
    "comma-thousands": "1,000.5 {unit}",
    "bengali-four": "৪ {unit}",
    "fullwidth-digit": "５ {unit}",
    "nul": "12 {unit}\x00",
    "zero-width-space": "1\u200b2 {unit}",
    "over-long": "1" * 200 + " {unit}",
    "script": SCRIPT,
    "html-after-number": "5 {unit}" + HTML,
}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def refused_next_to(page: str, field: str) -> bool:
    """True when the block of the form field `field` shows an error."""
    start = page.index(f'id="id_{field}"')
    opening = page.rfind('<div class="field', 0, start)
    end = page.find('<div class="field', start)
    block = page[opening : end if end != -1 else len(page)]
    return 'role="alert"' in block or "invalid" in block


def shown_escaped(page: str, text: str) -> bool:
    """Markup sent never comes back as markup: the page holds no tag the user typed."""
    return "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page


@dataclass(frozen=True)
class QuantityForm:
    """A web form with quantity fields: where it is, who fills it, its valid entries, and the
    rows a submission would add."""

    url: Callable[[Implant], str]
    user: str
    entries: Callable[[Client, Implant], dict[str, Any]]
    fields: dict[str, tuple[str, str]]  # field -> (a unit of its kind, a unit of another)
    stored: tuple[type[Model], ...]


def _refill_entries(client: Client, implant: Implant) -> dict[str, str]:
    page = client.get(f"/implants/{implant.id}/refill/").content.decode()
    return {
        "version": hidden(page, "version"),
        "idempotency_key": hidden(page, "idempotency_key"),
        **REFILL_FORM,
        "action": "confirm",
    }


def _prescription_entries(client: Client, implant: Implant) -> dict[str, str]:
    page = client.get(f"/implants/{implant.id}/prescribe/").content.decode()
    return {
        "version": hidden(page, "version"),
        "drug": "baclofen",
        "concentration": "2000 mcg/mL",
        "kind": "continuous",
        "dose": "420 mcg/day",
        "reason": "the evening spasms are back",
        "action": "sign",
    }


def _assessment_entries(client: Client, implant: Implant) -> dict[str, str]:
    page = client.get(f"/patients/{implant.episode.patient_id}/assessments/new/").content.decode()
    return {
        "key": hidden(page, "key"),
        "episode": str(implant.episode_id),
        "taken_at": f"{day(-5)}T10:00",
        "omed": "120 mg/day",
        "note": "",
    }


def _settings_entries(client: Client, implant: Implant) -> dict[str, str | list[str]]:
    version = str(ClinicSettings.objects.get_or_create(id=1)[0].version)
    return SETTINGS_FORM | {"version": version}


def _limit_entries(client: Client, implant: Implant) -> dict[str, str]:
    return {
        "key": "k-hostile",
        "rule_choice": "max_daily_dose",
        "value": "10 mg/day",
        "severity": "hard",
        "source": "Opioid policy v3",
    }


FORMS = {
    "refill": QuantityForm(
        lambda i: f"/implants/{i.id}/refill/",
        "nurse",
        _refill_entries,
        {
            "expected": ("mL", "mg"),
            "aspirated": ("mL", "mcg/mL"),
            "concentration": ("mcg/mL", "mL"),
            "volume": ("mL", "mg/day"),
        },
        (Refill, Program, AuditEntry),
    ),
    "prescription": QuantityForm(
        lambda i: f"/implants/{i.id}/prescribe/",
        "physician",
        _prescription_entries,
        {"dose": ("mcg/day", "mcg/mL"), "concentration": ("mcg/mL", "mL")},
        (Prescription, Program, AuditEntry),
    ),
    "assessment": QuantityForm(
        lambda i: f"/patients/{i.episode.patient_id}/assessments/new/",
        "nurse",
        _assessment_entries,
        {"omed": ("mg/day", "mg")},
        (Assessment, AuditEntry),
    ),
    "settings": QuantityForm(
        lambda i: "/settings/",
        "admin",
        _settings_entries,
        {
            "implant_wait_days": ("day", "mL"),
            "refill_margin_days": ("day", "mg"),
            "refill_visit_minutes": ("min", "mL"),
            "readback_tolerance": ("mL", "mg"),
        },
        (AuditEntry,),
    ),
    "clinic-limit": QuantityForm(
        lambda i: "/library/morphine/limits/new/",
        "pharmacist",
        _limit_entries,
        {"value": ("mg/day", "mg/mL")},
        (ClinicLimit, AuditEntry),
    ),
}
CASES = [
    (form, field, name)
    for form, spec in FORMS.items()
    for field in spec.fields
    for name in REFUSED_QUANTITIES
]


def _counts(models: tuple[type[Model], ...]) -> tuple[int, ...]:
    """Rows of each model; audit entries of changes only (showing a page audits what it read:
    a record, a list, a program's preview)."""
    changes = AuditEntry.objects.exclude(action__regex=r"\.(read|list|preview)$")
    return tuple(
        changes.count() if model is AuditEntry else model._default_manager.count()
        for model in models
    )


@pytest.mark.parametrize("form_name", sorted(FORMS))
def test_hostile_quantities_are_refused_next_to_their_field_and_nothing_is_stored(
    request: pytest.FixtureRequest, implant: Implant, form_name: str
) -> None:
    """Every field of every quantity form, every hostile quantity: refused next to the field,
    no row, no audit entry, no settings change, and any markup sent shown escaped."""
    spec = FORMS[form_name]
    client = signed_in(request.getfixturevalue(spec.user))
    settings_version = ClinicSettings.objects.get_or_create(id=1)[0].version
    refused = []
    for field, (unit, wrong) in spec.fields.items():
        for name, template in REFUSED_QUANTITIES.items():
            sent = template.format(unit=unit, wrong=wrong)
            data = spec.entries(client, implant) | {field: sent}
            before = _counts(spec.stored)
            response = client.post(spec.url(implant), data)
            page = response.content.decode()
            assert response.status_code in (200, 422), (field, name, response.status_code)
            if refused_next_to(page, field) and shown_escaped(page, sent):
                refused.append((field, name))
            assert _counts(spec.stored) == before, (field, name)
            assert ClinicSettings.objects.get(id=1).version == settings_version, (field, name)
    expected = [(field, name) for field in spec.fields for name in REFUSED_QUANTITIES]
    assert refused == expected


def test_a_decimal_comma_is_refused_naming_the_decimal_point_never_read_as_thousands(
    nurse: User, implant: Implant
) -> None:
    """'1,5 mL' read as 15 or 1500 mL would be a ten- or thousand-fold error: the refill form
    refuses it and says to write a decimal point."""
    client = signed_in(nurse)
    for sent in ("1,5 mL", "2.000,5 mL", "1,000 mL"):
        data = _refill_entries(client, implant) | {"volume": sent}
        page = client.post(f"/implants/{implant.id}/refill/", data).content.decode()
        assert refused_next_to(page, "volume")
        assert "decimal point" in page
    assert not Refill.objects.exclude(idempotency_key="first-fill").exists()


def test_markup_typed_into_text_is_stored_as_typed_and_shown_escaped(
    nurse: User, admin: User, pharmacist: User, implant: Implant
) -> None:
    """A script or HTML typed as a name, a note, a user's name or a limit's source is kept as
    text and every page that shows it escapes it."""
    client = signed_in(nurse)
    created = client.post(
        "/patients/new/",
        {"mrn": "MRN-X1", "family_name": SCRIPT, "given_name": HTML, "birth_date": "1960-01-01"},
    )
    assert created.status_code == 302
    patient = Patient.objects.get(mrn="MRN-X1")
    assert (patient.family_name, patient.given_name) == (SCRIPT, HTML)
    for url in (created["Location"], "/patients/", "/patients/?q=script", "/"):
        page = client.get(url).content.decode()
        assert shown_escaped(page, SCRIPT), url
    assert "&lt;script&gt;" in client.get(created["Location"]).content.decode()

    data = _assessment_entries(client, implant) | {"note": SCRIPT}
    assert (
        client.post(f"/patients/{implant.episode.patient_id}/assessments/new/", data).status_code
        == 302
    )
    assert Assessment.objects.filter(note=SCRIPT).exists()
    chart = client.get(f"/patients/{implant.episode.patient_id}/").content.decode()
    assert shown_escaped(chart, SCRIPT)

    admin_client = signed_in(admin)
    made = admin_client.post(
        "/users/new/",
        {
            "username": "hostile",
            "first_name": SCRIPT,
            "last_name": HTML,
            "roles": ["nurse"],
            "password": "a long enough passphrase 1",
            "repeat": "a long enough passphrase 1",
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    assert User.objects.get(username="hostile").first_name == SCRIPT
    assert shown_escaped(admin_client.get("/users/").content.decode(), SCRIPT)

    library = signed_in(pharmacist)
    limit = _limit_entries(library, implant) | {"source": SCRIPT}
    assert library.post("/library/morphine/limits/new/", limit).status_code == 302
    assert ClinicLimit.objects.get().source == SCRIPT
    assert shown_escaped(library.get("/library/").content.decode(), SCRIPT)


@pytest.mark.parametrize(
    ("field", "sent"),
    [
        ("family_name", "x" * 121),
        ("given_name", "x" * 10_000),
        ("mrn", "MRN\x00-1"),
        ("family_name", "Mus\x00ter"),
        ("birth_date", "1,5"),
        ("birth_date", "99999-01-01"),
        ("birth_date", SCRIPT),
    ],
    ids=["over-long", "very-long", "nul-mrn", "nul-name", "comma-date", "huge-year", "script"],
)
def test_over_long_or_nul_text_is_refused_next_to_the_field_and_nothing_is_stored(
    nurse: User, field: str, sent: str
) -> None:
    entries = {"mrn": "MRN-X2", "family_name": "Muster", "given_name": "Erika"}
    data = entries | {"birth_date": "1960-01-01"} | {field: sent}
    changes = _counts((Patient, AuditEntry))
    response = signed_in(nurse).post("/patients/new/", data)
    page = response.content.decode()
    assert response.status_code in (200, 422)
    assert refused_next_to(page, field)
    assert shown_escaped(page, sent)
    assert _counts((Patient, AuditEntry)) == changes


@pytest.mark.parametrize(
    ("mrn", "shown"),
    [("MRN\u20110001", "MRN\\u20110001"), ("mrn-OOO1", "looks like MRN-0001")],
    ids=["non-breaking-hyphen", "look-alike-of-an-existing-one"],
)
def test_a_record_number_with_a_look_alike_is_refused_next_to_the_field_and_nothing_is_stored(
    nurse: User, patient: Patient, mrn: str, shown: str
) -> None:
    """Regression: a second record could look like an existing one (MRN-0001 here)."""
    data = {"mrn": mrn, "family_name": "Muster", "given_name": "Erik", "birth_date": "1960-01-01"}
    changes = _counts((Patient, AuditEntry))
    response = signed_in(nurse).post("/patients/new/", data)
    page = response.content.decode()
    assert response.status_code == 422
    assert refused_next_to(page, "mrn")
    assert shown in page
    assert _counts((Patient, AuditEntry)) == changes


@pytest.mark.parametrize("field", ["family_name", "given_name", "mrn"])
def test_a_lone_surrogate_sent_in_a_name_is_refused_next_to_the_field_and_nothing_is_stored(
    nurse: User, field: str
) -> None:
    """Regression: a lone surrogate in a name answered a 500. A browser cannot encode one; sent
    as its raw bytes (%ED%A0%80, no UTF-8) the server reads U+FFFD, refused like a hidden
    character."""
    entries = {"mrn": "MRN-X3", "family_name": "Muster", "given_name": "Erika"}
    entries[field] = "Mus%ED%A0%80ter"
    body = "&".join(f"{k}={v}" for k, v in entries.items()) + "&birth_date=1960-01-01"
    changes = _counts((Patient, AuditEntry))
    response = signed_in(nurse).post(
        "/patients/new/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 422
    assert refused_next_to(response.content.decode(), field)
    assert _counts((Patient, AuditEntry)) == changes


@pytest.mark.parametrize(
    "query",
    [SCRIPT, HTML, "a\x00b", "x" * 5000, "৪", "1,5", "' OR 1=1 --", "%", "_"],
    ids=["script", "html", "nul", "long", "bengali", "comma", "sql", "percent", "underscore"],
)
def test_the_search_box_answers_hostile_queries_with_a_page_and_shows_them_escaped(
    nurse: User, patient: Patient, query: str
) -> None:
    response = signed_in(nurse).get("/patients/", {"q": query})
    assert response.status_code in (200, 422)
    assert shown_escaped(response.content.decode(), query)
