"""Regression (issue 14, the last outside attack): a record number could hold look-alike
characters (a Cyrillic О, a non-breaking hyphen, fullwidth digits), so a second record could look
like an existing one. New record numbers keep to ASCII letters, digits, '-', '/' and '.' after
NFKC normalisation, and one a reader could take for an existing one is refused."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User

from frozen import TODAY
from painpump.clinic.actions import patients
from painpump.clinic.models import AuditEntry, Patient
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db(transaction=False)


def create(nurse: User, mrn: str) -> Patient:
    return patients.create_patient(
        nurse,
        mrn=mrn,
        family_name="Muster",
        given_name="Erik",
        birth_date=date(1970, 1, 1),
        today=TODAY,
    )


def refused(nurse: User, mrn: str) -> Refusal:
    counts = Patient.objects.count(), AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        create(nurse, mrn)
    assert (Patient.objects.count(), AuditEntry.objects.count()) == counts
    assert caught.value.field == "mrn"
    return caught.value


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("MRN-\u041e001", "MRN-\\u041e001"), ("MRN\u20110001", "MRN\\u20110001")],
    ids=["cyrillic-o", "non-breaking-hyphen"],
)
def test_regression_a_record_number_with_a_look_alike_character_is_refused_escaped(
    patient: Patient, nurse: User, typed: str, shown: str
) -> None:
    refusal = refused(nurse, typed)
    assert refusal.value == shown
    assert "not allowed in a record number" in refusal.problem
    assert refusal.source.startswith("rule-record-number")


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("\uff2d\uff32\uff2e-\uff10\uff10\uff10\uff11", "belongs to another patient"),
        ("mrn-0001", "looks like MRN-0001, another patient's record number"),
        ("MRN-OOO1", "looks like MRN-0001, another patient's record number"),
        ("MRN-000l", "looks like MRN-0001, another patient's record number"),
    ],
    ids=["fullwidth", "lower-case", "letters-o", "letter-l"],
)
def test_regression_a_record_number_a_reader_could_take_for_an_existing_one_is_refused(
    patient: Patient, nurse: User, typed: str, problem: str
) -> None:
    assert refused(nurse, typed).problem == problem


@pytest.mark.parametrize(
    "typed",
    [
        "DEMO.00001",
        "DEMO/00001",
        "DEMO--00001",
        "DEMO00001",
        "DEMO-0000S",
        "DEMO-0000B",
        "DEMO-0000Z",
        "DEMO-0000G",
        "DERNO-00001",
    ],
)
def test_regression_separators_and_ascii_look_alikes_of_an_existing_number_are_refused(
    nurse: User, typed: str
) -> None:
    """The outside attack: next to DEMO-00001 (and DEMO-00005, -8, -2, -6) each was accepted."""
    for number in ("DEMO-00001", "DEMO-00005", "DEMO-00008", "DEMO-00002", "DEMO-00006"):
        create(nurse, number)
    refusal = refused(nurse, typed)
    assert refusal.problem.startswith("looks like DEMO-0000")
    assert refusal.problem.endswith(", another patient's record number")
    assert refusal.source.startswith("rule-record-number")


@pytest.mark.parametrize(
    ("typed", "existing"),
    [
        ("DEMO-000012", "DEMO-00012"),
        ("DEMO-12", "DEMO-00012"),
        ("VVARD-7", "WARD-7"),
        ("CLARK-7", "DARK-7"),
        ("ANNA-7", "AMA-7"),
    ],
)
def test_regression_letter_pairs_and_an_extra_leading_zero_are_refused_naming_the_existing(
    nurse: User, typed: str, existing: str
) -> None:
    """The last outside attack: beside DEMO-00012 a DEMO-000012 was accepted, and so were VV
    for W, cl for d and nn for m."""
    create(nurse, existing)
    refusal = refused(nurse, typed)
    assert refusal.problem == f"looks like {existing}, another patient's record number"
    assert refusal.source.startswith("rule-record-number")


def test_an_older_record_number_outside_the_rule_still_keeps_its_look_alikes_out(
    nurse: User,
) -> None:
    """Rows from before the rule are kept as they are; a new number is compared with them."""
    Patient.objects.create(
        mrn="MRN\u2011\u041e002", family_name="A", given_name="B", birth_date=date(1970, 1, 1)
    )
    refusal = refused(nurse, "MRN-O002")
    assert refusal.problem == "looks like MRN\\u2011\\u041e002, another patient's record number"


def test_a_record_number_in_the_rule_is_stored_in_its_normal_form(nurse: User) -> None:
    assert create(nurse, " \uff2d\uff32\uff2e-\uff17 ").mrn == "MRN-7"
    assert create(nurse, "12/345.6").mrn == "12/345.6"
