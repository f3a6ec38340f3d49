"""The clinic's use cases: each checks the role, refuses bad input with field/value/limit and
writes nothing, and appends its audit entry in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import BORN, written_entries
from frozen import TODAY, at, day
from painpump.clinic import audit
from painpump.clinic.actions import patients
from painpump.clinic.errors import Conflict
from painpump.clinic.models import Assessment, AuditEntry, Episode, Patient
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db(transaction=False)


def test_creating_a_patient_writes_the_record_and_its_audit_entry(patient: Patient) -> None:
    entry = AuditEntry.objects.get(action="patient.create")
    assert entry.actor == "nurse.joy"
    assert entry.patient_id == patient.id
    assert entry.after == {
        "mrn": "MRN-0001",
        "family_name": "Muster",
        "given_name": "Erika",
        "birth_date": BORN.isoformat(),
        "archived": False,
        "weight": None,
        "opioid_status": "unknown",
        "psychosis_history": None,
        "life_expectancy": None,
        "version": 1,
    }
    assert audit.verify().ok


def test_reading_a_patient_is_audited(patient: Patient, physician: User) -> None:
    patients.read_patient(physician, patient.id)
    assert AuditEntry.objects.filter(action="patient.read", actor="dr.house").count() == 1


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("mrn", "", "is empty or too long"),
        ("family_name", "x" * 121, "is empty or too long"),
        ("birth_date", day(1133), "is not a plausible birth date"),
    ],
)
def test_bad_patient_input_is_refused_and_nothing_is_written(
    nurse: User, field: str, value: object, problem: str
) -> None:
    data: dict[str, object] = {
        "mrn": "MRN-9",
        "family_name": "A",
        "given_name": "B",
        "birth_date": date(1980, 1, 1),
    }
    data[field] = value
    with pytest.raises(Refusal) as caught:
        patients.create_patient(nurse, today=TODAY, **data)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.problem == problem
    assert Patient.objects.count() == 0
    assert not written_entries().exists()


def test_a_duplicate_record_number_is_refused(patient: Patient, nurse: User) -> None:
    with pytest.raises(Refusal, match="belongs to another patient"):
        patients.create_patient(
            nurse,
            mrn="MRN-0001",
            family_name="B",
            given_name="C",
            birth_date=date(1980, 1, 1),
            today=TODAY,
        )


def test_an_edit_of_a_stale_version_conflicts_instead_of_overwriting(
    patient: Patient, nurse: User, physician: User
) -> None:
    patients.update_patient(
        physician, patient.id, expected_version=1, today=TODAY, family_name="Mustermann"
    )
    with pytest.raises(Conflict) as caught:
        patients.update_patient(
            nurse, patient.id, expected_version=1, today=TODAY, family_name="Other"
        )
    assert caught.value.current_version == 2
    patient.refresh_from_db()
    assert patient.family_name == "Mustermann"
    update = AuditEntry.objects.get(action="patient.update")
    assert update.before is not None and update.after is not None
    assert update.before["family_name"] == "Muster"
    assert update.after["family_name"] == "Mustermann"


@pytest.mark.parametrize("who", ["pharmacist", "auditor", "admin"])
def test_roles_without_the_capability_cannot_create_patients(
    who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(Forbidden):
        patients.create_patient(
            user,
            mrn="MRN-2",
            family_name="A",
            given_name="B",
            birth_date=date(1980, 1, 1),
            today=TODAY,
        )
    assert Patient.objects.count() == 0


def test_only_a_physician_opens_an_episode(patient: Patient, nurse: User, physician: User) -> None:
    with pytest.raises(Forbidden):
        patients.open_episode(nurse, patient.id, indication="stroke", referred_on=day(-24))
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=day(-24)
    )
    assert episode.stage == "referred"
    with pytest.raises(Refusal, match="is not a known indication"):
        patients.open_episode(physician, patient.id, indication="migraine", referred_on=day(-24))
    assert Episode.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "value", "limb", "refused"),
    [
        ("pain_nrs", "7", "", False),
        ("pain_nrs", "11", "", True),
        ("pain_nrs", "-1", "", True),
        ("ashworth", "1.5", "left_leg", False),
        ("ashworth", "5", "left_leg", True),
        ("ashworth", "2.5", "left_leg", True),
        ("ashworth", "2", "", True),
        ("omed_mg_per_day", "300", "", False),
        ("omed_mg_per_day", "abc", "", True),
    ],
)
def test_assessments_are_kept_within_their_scales(
    patient: Patient, physician: User, nurse: User, kind: str, value: str, limb: str, refused: bool
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=day(-24)
    )
    taken = at(-23, 9)
    if refused:
        with pytest.raises(Refusal):
            patients.record_assessment(
                nurse, episode.id, kind=kind, value=value, taken_at=taken, limb=limb
            )
        assert Assessment.objects.count() == 0
    else:
        patients.record_assessment(
            nurse, episode.id, kind=kind, value=value, taken_at=taken, limb=limb
        )
        assert Assessment.objects.get().value == float(value)


def test_audit_verify_detects_an_edited_entry(patient: Patient, physician: User) -> None:
    patients.read_patient(physician, patient.id)
    AuditEntry.objects.filter(action="patient.create").update(actor="someone else")
    outcome = audit.verify()
    assert not outcome.ok
    assert "was edited" in outcome.problem


def test_audit_verify_detects_a_deleted_entry(patient: Patient, physician: User) -> None:
    patients.read_patient(physician, patient.id)
    patients.read_patient(physician, patient.id)
    AuditEntry.objects.filter(seq=AuditEntry.objects.order_by("seq")[1].seq)._raw_delete("default")
    assert "broken" in audit.verify().problem


def test_audit_verify_detects_a_removed_newest_entry(patient: Patient, physician: User) -> None:
    patients.read_patient(physician, patient.id)
    AuditEntry.objects.filter(seq=AuditEntry.objects.order_by("-seq")[0].seq)._raw_delete("default")
    assert "removed at the end" in audit.verify().problem


def test_audit_entries_cannot_be_changed_or_deleted_through_the_model(patient: Patient) -> None:
    entry = written_entries().get()
    entry.actor = "x"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


def test_regression_assessment_values_were_audited_in_exponent_notation(
    patient: Patient, physician: User, nurse: User
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=day(-24)
    )
    patients.record_assessment(
        nurse,
        episode.id,
        kind="omed_mg_per_day",
        value=Decimal("2E+2"),
        taken_at=at(-23, 0),
    )
    entry = AuditEntry.objects.get(action="assessment.record")
    assert entry.after is not None and entry.after["value"] == "200 mg/day"


def test_a_refusal_by_role_says_what_was_refused_and_which_roles_may(pharmacist: User) -> None:
    with pytest.raises(Forbidden) as caught:
        patients.create_patient(
            pharmacist,
            mrn="MRN-3",
            family_name="A",
            given_name="B",
            birth_date=date(1980, 1, 1),
            today=TODAY,
        )
    assert str(caught.value) == (
        "pharma.cist may not create or edit patient records: a physician or a nurse may "
        "(patient.write)"
    )


def test_regression_a_conflict_raised_through_a_context_manager_stayed_a_conflict() -> None:
    @contextmanager
    def around() -> Iterator[None]:
        yield

    with pytest.raises(Conflict), around():  # a frozen Conflict became FrozenInstanceError
        raise Conflict("implant", "x", 1, 2)
