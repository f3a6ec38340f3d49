"""The clinic's own catheter entries (clinic.actions.catheters): a pharmacist enters a Medtronic
catheter's volume per cm from its labeling; it waits, unapplied, until a second pharmacist or
physician approves it (never the one who entered it); from then on the implantation judges the
dead volume against it as against a catalog catheter, its messages and audit entry naming the
clinic's figure. A model the catalog holds and an implausible figure are refused; a new figure
for a model in force waits as its replacement; archiving one in force waits for a second
approver; every change is audited in its transaction, under optimistic concurrency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from frozen import ZONE
from painpump.clinic import audit
from painpump.clinic.actions import catheters, implantation, patients
from painpump.clinic.errors import Conflict
from painpump.clinic.models import AuditEntry, ClinicCatheter, Episode, Implant, Patient
from painpump.clinic.reads import catheters as entries
from painpump.clinic.roles import Forbidden, Role
from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode
from painpump.core.clinic_catheters import parse_volume_per_cm
from painpump.core.dead_volume import ABOVE_CATHETER, UNCHECKED
from painpump.core.decision import Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, of, parse

pytestmark = pytest.mark.django_db

IFU = "Medtronic IFU 8709SC rev C, page 12"


@pytest.fixture
def second_pharmacist(make_user: Callable[..., User]) -> User:
    return make_user("pharma.two", Role.PHARMACIST)


def enter(user: User, per_cm: str = "2.6 uL/cm", **changes: Any) -> ClinicCatheter:
    values: dict[str, Any] = {
        "model": "8709SC",
        "name": "Intrathecal catheter 8709SC",
        "manufacturer": "Medtronic",
        "volume_per_cm": parse_volume_per_cm(per_cm),
        "source": IFU,
    }
    return catheters.add_catheter(user, **(values | changes))


def approved(pharmacist: User, physician: User, per_cm: str = "2.6 uL/cm") -> ClinicCatheter:
    row = enter(pharmacist, per_cm)
    return catheters.approve_catheter(physician, row.id, expected_version=row.version)


def today() -> date:
    return timezone.localdate(timezone=ZONE)


def responder(physician: User, patient: Patient) -> Episode:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=today() - timedelta(days=60)
    )
    return responder_episode(physician, episode.id, start=today() - timedelta(days=30))


def register(physician: User, episode: Episode, dead_volume: str, **extra: Any) -> Implant:
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=timezone.now(),
        pump_model="synchromed-ii-20",
        pump_serial="NGP000001",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse(dead_volume, Kind.VOLUME, "dead_volume"),
        alarm_volume=None,
        implanted_on=today(),
        **extra,
    )


def warnings_of(physician: User, episode: Episode, dead_volume: str) -> set[str]:
    preview = implantation.preview_implantation(
        physician,
        episode.id,
        implanted_on=today(),
        discharged_on=None,
        now=timezone.now(),
        catheter=("8709SC", of(Decimal(60), "cm"), parse(dead_volume, Kind.VOLUME, "d")),
    )
    return {f.rule for f in preview.findings if f.verdict is Verdict.WARN}


def actions() -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="clinic_catheter").values_list("action", flat=True)
    )


def test_an_entered_figure_waits_for_its_second_approver_and_is_not_applied(
    pharmacist: User, physician: User, patient: Patient
) -> None:
    row = enter(pharmacist)
    assert row.pending and row.model == "8709sc"
    assert row.volume_ul_per_cm == Decimal("2.6") and row.entered_by == "pharma.cist"
    assert entries.approved_for("8709SC") is None
    assert warnings_of(physician, responder(physician, patient), "0.25 mL") == {UNCHECKED}
    entry = AuditEntry.objects.get(action="catheter.add")
    assert entry.after is not None
    assert (entry.after["volume_per_cm"], entry.after["pending"]) == (
        "0.0026 mL/cm (2.6 uL/cm)",
        True,
    )


def test_the_one_who_entered_a_figure_cannot_approve_it(pharmacist: User) -> None:
    row = enter(pharmacist)
    with pytest.raises(Forbidden) as caught:
        catheters.approve_catheter(pharmacist, row.id, expected_version=row.version)
    assert "pharma.cist entered this figure" in str(caught.value)
    assert "second pharmacist or physician" in str(caught.value)
    row.refresh_from_db()
    assert row.pending and row.version == 1
    assert actions() == ["catheter.add"]


@pytest.mark.parametrize("approver", ["physician", "second_pharmacist"])
def test_once_approved_the_implantation_judges_the_dead_volume_against_the_clinics_figure(
    request: pytest.FixtureRequest,
    pharmacist: User,
    physician: User,
    patient: Patient,
    approver: str,
) -> None:
    by = request.getfixturevalue(approver)
    row = enter(pharmacist)
    row = catheters.approve_catheter(by, row.id, expected_version=row.version)
    assert (row.approved_by, row.version) == (by.username, 2)
    episode = responder(physician, patient)
    assert warnings_of(physician, episode, "0.16 mL") == set()  # 60 cm x 0.0026 mL/cm = 0.156 mL
    assert warnings_of(physician, episode, "0.25 mL") == {ABOVE_CATHETER}
    implant = register(physician, episode, "0.16 mL")
    figure = entries.figure_recorded(implant)
    assert figure is not None
    assert (figure["basis"], figure["model"], figure["volume_per_cm"]) == (
        "clinic",
        "8709sc",
        "0.0026 mL/cm",
    )
    assert (figure["entry"], figure["entry_version"], figure["approved_by"]) == (
        str(row.id),
        2,
        by.username,
    )
    assert figure["verified"] is False
    assert figure["words"] == (
        f"0.0026 mL/cm, the clinic's figure approved by {by.username}, unverified by painpump"
    )


def test_a_dead_volume_below_the_clinics_figure_is_refused_naming_it_and_writes_nothing(
    pharmacist: User, physician: User, patient: Patient
) -> None:
    approved(pharmacist, physician)
    episode = responder(physician, patient)
    written = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        register(physician, episode, "0.1 mL", acknowledge=dict(MEDTRONIC_CATHETER))
    refusal = caught.value
    assert (refusal.field, refusal.value) == ("dead_volume", "0.1 mL")
    assert "the 0.156 mL the 8709sc holds (60 cm x 0.0026 mL/cm, the clinic's figure approved " in (
        refusal.limit
    )
    assert refusal.source.startswith(f"clinic catheter entry: {IFU} (entered by pharma.cist")
    assert not Implant.objects.exists()
    assert AuditEntry.objects.count() == written


def test_the_medtronic_acknowledgement_no_longer_fits_once_the_figure_is_approved(
    pharmacist: User, physician: User, patient: Patient
) -> None:
    """The unchecked warning is gone: acknowledging it is refused, as for a catalog catheter."""
    approved(pharmacist, physician)
    with pytest.raises(Refusal, match="acknowledges no warning of this dead volume"):
        register(
            physician,
            responder(physician, patient),
            "0.16 mL",
            acknowledge=dict(MEDTRONIC_CATHETER),
        )


def test_without_an_approved_entry_the_unchecked_path_is_as_it_was(
    pharmacist: User, physician: User, patient: Patient
) -> None:
    enter(pharmacist, model="8731SC")  # waiting, and of another model
    implant = register(
        physician, responder(physician, patient), "0.25 mL", acknowledge=dict(MEDTRONIC_CATHETER)
    )
    assert entries.figure_recorded(implant) is None
    entry = AuditEntry.objects.get(action="implant.register")
    assert entry.after is not None and entry.after["acknowledged"] == dict(MEDTRONIC_CATHETER)


@pytest.mark.parametrize("role_user", ["admin", "physician", "nurse", "auditor"])
def test_only_a_pharmacist_enters_a_figure(request: pytest.FixtureRequest, role_user: str) -> None:
    with pytest.raises(Forbidden) as caught:
        enter(request.getfixturevalue(role_user))
    assert "decides hard refusals of an implant's dead volume" in str(caught.value)
    assert not ClinicCatheter.objects.exists() and actions() == []


@pytest.mark.parametrize("role_user", ["admin", "nurse", "auditor"])
def test_a_role_without_library_approve_cannot_approve(
    request: pytest.FixtureRequest, pharmacist: User, role_user: str
) -> None:
    row = enter(pharmacist)
    with pytest.raises(Forbidden, match=r"a physician or a pharmacist may \(library\.approve\)"):
        catheters.approve_catheter(
            request.getfixturevalue(role_user), row.id, expected_version=row.version
        )
    row.refresh_from_db()
    assert row.pending


def test_an_entry_for_a_catalog_catheter_or_an_implausible_figure_is_refused_and_writes_nothing(
    pharmacist: User,
) -> None:
    with pytest.raises(Refusal, match="its sourced figure stands"):
        enter(pharmacist, model="prometra-catheter")
    with pytest.raises(Refusal) as caught:
        enter(pharmacist, "2.6 mL/cm")
    assert (caught.value.field, caught.value.value) == ("volume_per_cm", "2.6 mL/cm (2600 uL/cm)")
    assert "0.0005 to 0.01 mL/cm" in caught.value.limit
    assert not ClinicCatheter.objects.exists() and actions() == []


def test_one_entry_waits_per_model(pharmacist: User, second_pharmacist: User) -> None:
    enter(pharmacist)
    with pytest.raises(Refusal) as caught:
        enter(second_pharmacist, "2.7 uL/cm", model=" 8709sc ")
    assert caught.value.problem == "already has an entry waiting for approval"
    assert "approve or archive the one pharma.cist entered" in caught.value.limit
    assert ClinicCatheter.objects.count() == 1


def test_the_database_keeps_one_entry_in_force_per_model(pharmacist: User, physician: User) -> None:
    in_force = approved(pharmacist, physician)
    second = ClinicCatheter(
        **{
            f.attname: getattr(in_force, f.attname)
            for f in ClinicCatheter._meta.concrete_fields
            if f.attname != "id"
        }
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_a_new_figure_for_a_model_in_force_names_it_and_replaces_it_once_approved(
    pharmacist: User, physician: User, second_pharmacist: User, patient: Patient
) -> None:
    old = approved(pharmacist, physician)
    with pytest.raises(Refusal) as caught:
        enter(second_pharmacist, "2.8 uL/cm")
    assert caught.value.problem == "already has an entry in force"
    assert f"entry {old.id}, version {old.version}" in caught.value.limit
    with pytest.raises(Conflict):
        enter(second_pharmacist, "2.8 uL/cm", replaces=(old.id, old.version - 1))
    new = enter(second_pharmacist, "2.8 uL/cm", replaces=(old.id, old.version))
    assert new.pending and new.replaces_id == old.id
    in_force = entries.approved_for("8709SC")
    assert in_force is not None and in_force.volume_per_cm == Decimal("0.0026")  # old still applies
    catheters.approve_catheter(physician, new.id, expected_version=new.version)
    old.refresh_from_db()
    assert old.archived_at is not None and old.archived_by == "dr.house"
    in_force = entries.approved_for("8709SC")
    assert in_force is not None and in_force.volume_per_cm == Decimal("0.0028")
    replaced = AuditEntry.objects.get(action="catheter.replace")
    assert replaced.after is not None and replaced.after["replaced_by"] == str(new.id)
    assert actions() == [
        "catheter.add",
        "catheter.approve",
        "catheter.add",
        "catheter.replace",
        "catheter.approve",
    ]


def test_replaces_must_name_the_entry_in_force(pharmacist: User, physician: User) -> None:
    other = approved(pharmacist, physician)
    with pytest.raises(Refusal, match="replaces nothing in force"):
        enter(pharmacist, model="8731SC", replaces=(other.id, other.version))


def test_withdrawing_a_waiting_entry_is_immediate_and_audited(pharmacist: User) -> None:
    row = enter(pharmacist)
    row = catheters.archive_catheter(pharmacist, row.id, expected_version=row.version)
    assert row.archived_at is not None and row.archived_by == "pharma.cist"
    assert entries.status_of(row) is entries.Status.ARCHIVED
    assert ClinicCatheter.objects.filter(id=row.id).exists()  # kept, never deleted
    assert actions() == ["catheter.add", "catheter.archive"]


def test_archiving_an_entry_in_force_waits_for_a_second_approver_and_it_applies_until_then(
    pharmacist: User, physician: User, second_pharmacist: User
) -> None:
    row = approved(pharmacist, physician)
    row = catheters.archive_catheter(pharmacist, row.id, expected_version=row.version)
    assert row.removal_pending and row.archived_at is None
    assert entries.approved_for("8709SC") is not None
    with pytest.raises(Forbidden, match=r"pharma\.cist asked for this archiving"):
        catheters.approve_catheter(pharmacist, row.id, expected_version=row.version)
    with pytest.raises(Refusal, match="is already asked"):
        catheters.archive_catheter(second_pharmacist, row.id, expected_version=row.version)
    row = catheters.approve_catheter(second_pharmacist, row.id, expected_version=row.version)
    assert row.archived_at is not None and row.archived_by == "pharma.two"
    assert entries.approved_for("8709SC") is None
    assert actions()[-2:] == ["catheter.archive_request", "catheter.archive"]
    with pytest.raises(Refusal, match="is archived"):
        catheters.archive_catheter(pharmacist, row.id, expected_version=row.version)


def test_a_stale_version_conflicts_and_changes_nothing(pharmacist: User, physician: User) -> None:
    row = enter(pharmacist)
    with pytest.raises(Conflict):
        catheters.approve_catheter(physician, row.id, expected_version=row.version + 1)
    with pytest.raises(Conflict):
        catheters.archive_catheter(pharmacist, row.id, expected_version=row.version + 1)
    row.refresh_from_db()
    assert row.pending and row.version == 1 and actions() == ["catheter.add"]


def test_every_change_is_audited_with_before_and_after(pharmacist: User, physician: User) -> None:
    row = approved(pharmacist, physician)
    entry = AuditEntry.objects.get(action="catheter.approve")
    assert (entry.actor, entry.object_id) == ("dr.house", str(row.id))
    assert entry.before is not None and entry.after is not None
    assert (entry.before["pending"], entry.after["pending"]) == (True, False)
    assert (entry.before["version"], entry.after["version"]) == (1, 2)
    assert entry.after["approved_by"] == "dr.house"
    assert entry.patient_id is None


def test_every_catheter_entry_changed_through_the_services_verifies(
    pharmacist: User, physician: User, second_pharmacist: User
) -> None:
    old = approved(pharmacist, physician)
    new = enter(second_pharmacist, "2.8 uL/cm", replaces=(old.id, old.version))
    catheters.approve_catheter(physician, new.id, expected_version=new.version)
    waiting = enter(pharmacist, model="8731SC")
    catheters.archive_catheter(pharmacist, waiting.id, expected_version=waiting.version)
    outcome = audit.verify()
    assert outcome.ok, outcome.problems


def test_a_figure_edited_or_approved_in_the_database_fails_audit_verify(
    pharmacist: User, physician: User
) -> None:
    entry = enter(pharmacist)
    ClinicCatheter.objects.filter(id=entry.id).update(
        approved_by="dr.house", approved_at=timezone.now()
    )
    found = audit.verify()
    assert not found.ok
    assert any(f"clinic_catheter {entry.id}" in p and "approved_by" in p for p in found.problems)
    ClinicCatheter.objects.filter(id=entry.id).update(
        approved_by="", approved_at=None, volume_ul_per_cm=Decimal("26")
    )
    found = audit.verify()
    assert any("volume_per_cm" in p for p in found.problems), found.problems
