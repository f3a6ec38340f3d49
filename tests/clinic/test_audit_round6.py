"""Three tamperings the sixth outside attack (issue 14) found `painpump audit verify` answering ok
to: a cut tail that passed once the trail grew back past the latest checkpoint's count, a
prescription's stored daily dose edited, and a baclofen pump's high-risk flag and drug names
edited. Each is reproduced here and now fails verify, naming what was changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, implanted_pump, single_bolus_programmed
from painpump.clinic import audit, audit_checkpoints
from painpump.clinic.actions import patients, role_grants, users
from painpump.clinic.actions import prescriptions as prescription_actions
from painpump.clinic.models import AuditEntry, Implant, Patient, Prescription, RoleGrant
from painpump.clinic.reads import prescription_history, prescriptions
from painpump.clinic.roles import Role, roles_of
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

LATER = FIRST_FILL + timedelta(hours=2)
CHANGED = "it was changed outside the application"


def checkpointed() -> audit_checkpoints.Checkpoint:
    """The checkpoint the service writes when the transaction so far commits."""
    written = audit_checkpoints.write()
    assert written is not None
    return written


def seq_at(count: int) -> int:
    """The seq of the entry at position `count` of the chain (1 is the first)."""
    return AuditEntry.objects.order_by("seq").values_list("seq", flat=True)[count - 1]


# -- 1. a cut tail grown back ----------------------------------------------------------------------


def test_a_cut_tail_fails_even_once_the_trail_grows_back_past_its_checkpoint(
    implant: Implant, nurse: User
) -> None:
    for _ in range(3):  # who read the record: what the insider cuts
        patients.read_patient(nurse, implant.episode.patient_id)
    witnessed = checkpointed()
    tamper.cut_tail(3)
    assert not audit.verify().ok
    tamper.grow_back(5)  # users read a few pages: new entries, new checkpoints past the old count
    outcome = audit.verify()
    assert not outcome.ok
    assert outcome.checkpoint == witnessed.count + 2  # the latest checkpoint matches the chain
    assert outcome.problems == (
        f"entry {seq_at(witnessed.count)}, number {witnessed.count} of the chain, is not the one "
        f"a signed checkpoint of {witnessed.count} entries witnessed (hash "
        f"{witnessed.head[:12]}, the chain's is "
        f"{AuditEntry.objects.get(seq=seq_at(witnessed.count)).hash[:12]}; "
        f"{audit_checkpoints.path()}): the trail was rewritten, or cut and grown back",
    )


def test_every_checkpoint_the_chain_no_longer_holds_counts_the_first_few_named(
    patient: Patient, nurse: User
) -> None:
    checkpointed()
    for _ in range(5):
        patients.read_patient(nurse, patient.id)
        checkpointed()
    first = AuditEntry.objects.count() - 4
    tamper.cut_tail(5)
    tamper.grow_back(7)
    problems = audit.verify().problems
    named = [p for p in problems if "is not the one a signed checkpoint" in p]
    assert [p.split(",")[1] for p in named] == [
        f" number {count} of the chain" for count in (first, first + 1, first + 2)
    ]
    assert problems[-1] == (
        "2 more signed checkpoints name an entry the chain no longer holds at their count"
    )


def test_a_trail_checkpointed_many_times_over_verifies_without_a_note(
    patient: Patient, nurse: User
) -> None:
    """Every line is compared, a checkpoint written twice for the same state too."""
    checkpointed()
    for _ in range(3):
        patients.read_patient(nurse, patient.id)
        checkpointed()
        checkpointed()
    outcome = audit.verify()
    assert outcome.ok, outcome.problems
    assert outcome.notes == ()


# -- 2. a prescription's stored daily dose ---------------------------------------------------------


def in_force(implant: Implant) -> Prescription:
    record = prescriptions.in_force(implant)
    assert record is not None
    return record


def test_a_prescriptions_daily_dose_edited_in_the_database_is_named(implant: Implant) -> None:
    record = in_force(implant)
    Prescription.objects.filter(id=record.id).update(daily_dose_mcg_per_day=800)
    outcome = audit.verify()
    assert not outcome.ok
    assert outcome.problems == (
        f"prescription {record.id}: daily_dose_mcg_per_day is 800 mcg/day in the database, but "
        "its program (the largest day of its steps, or its single bolus) gives 400 mcg/day: "
        f"{CHANGED}",
    )


def test_the_drill_doubling_the_prescribed_dose_is_caught(implant: Implant) -> None:
    record = tamper.double_prescribed_dose()
    assert any(
        p.startswith(f"prescription {record}: daily_dose_mcg_per_day is 800 mcg/day")
        for p in audit.verify().problems
    )


def test_a_flex_prescription_whose_daily_dose_has_more_places_than_stored_verifies(
    implant: Implant,
) -> None:
    """393.333… mcg/day, stored to six places: no false alarm."""
    physician = User.objects.get(username=in_force(implant).prescribed_by)
    program = rx.flex_program(
        [
            rx.step_row("every day", "00:00", "399 mcg/day", "steps[0]"),
            rx.step_row("every day", "07:00", "391 mcg/day", "steps[1]"),
        ]
    )
    draft = rx.Prescription(prescriptions.as_core(in_force(implant)).drugs, program)
    preview = prescription_history.preview_prescription(physician, implant.id, draft, at=LATER)
    record = prescription_actions.prescribe(
        physician,
        implant.id,
        draft,
        reason="a little less by day",
        now=LATER,
        expected_version=preview.version,
        overrides={w.rule: "her established dose" for w in preview.warnings},
    )
    stored = Prescription.objects.get(id=record.id)
    assert stored.daily_dose_mcg_per_day != prescriptions.as_core(stored).daily_dose.canonical
    assert audit.verify().ok, audit.verify().problems


def test_a_single_bolus_prescriptions_daily_dose_is_its_bolus_and_verifies(
    implant: Implant,
) -> None:
    single_bolus_programmed(implant.id, at=LATER)
    assert audit.verify().ok, audit.verify().problems


# -- 3. a pump's high-risk flag and drug names -----------------------------------------------------


def test_a_baclofen_pumps_high_risk_flag_cleared_in_the_database_is_named(
    implant: Implant,
) -> None:
    refill = implant.refills.get()
    Implant.objects.filter(id=implant.id).update(high_risk=False)
    assert audit.verify().problems == (
        f"implant {implant.id}: high_risk is False in the database, but its newest refill "
        f"({refill.id}, baclofen) gives True: {CHANGED}",
    )


def test_a_pumps_drug_names_edited_in_the_database_are_named(implant: Implant) -> None:
    refill = implant.refills.get()
    tamper.hide_baclofen()
    assert audit.verify().problems == (
        f"implant {implant.id}: high_risk is False in the database, but its newest refill "
        f"({refill.id}, baclofen) gives True: {CHANGED}",
        f"implant {implant.id}: drug_names is 'morphine' in the database, but its newest refill "
        f"({refill.id}, baclofen) gives 'baclofen': {CHANGED}",
    )


def test_a_pump_not_yet_filled_marked_high_risk_in_the_database_is_named(
    patient: Patient, physician: User
) -> None:
    empty = implanted_pump(physician, patient.id, "NGP000001H")
    Implant.objects.filter(id=empty.id).update(high_risk=True, drug_names="baclofen")
    assert audit.verify().problems == (
        f"implant {empty.id}: high_risk is True in the database, but a pump not yet filled "
        f"gives False: {CHANGED}",
        f"implant {empty.id}: drug_names is 'baclofen' in the database, but a pump not yet "
        f"filled gives '': {CHANGED}",
    )


# -- a role request inserted in the database ------------------------------------------------------


def test_a_role_request_inserted_in_the_database_is_refused_approval_and_named_by_verify(
    admin: User, nurse: User, make_user: Callable[..., User]
) -> None:
    second = make_user("ad.two", Role.ADMIN)
    grant = tamper.insert_role_request(nurse.username, admin.username)
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        users.approve_grant(second, grant)
    assert caught.value.field == "request" and caught.value.value == str(grant)
    assert caught.value.problem == (
        f"for admin on {nurse.username} by 'ad.min' has no `user.role_request` audit entry: it "
        "was written outside the application (decline it)"
    )
    assert roles_of(User.objects.get(id=nurse.id)) == {Role.NURSE}
    assert AuditEntry.objects.count() == entries
    assert (
        f"role request {grant}: admin for {nurse.username}, asked by 'ad.min' and waiting for a "
        "second admin, has no `user.role_request` audit entry (written outside the application; "
        "`approve` refuses it, decline it)"
    ) in audit.verify().problems
    assert role_grants.decline(second, grant).status == RoleGrant.Status.DECLINED
    assert audit.verify().ok, audit.verify().problems


def test_a_declined_request_set_waiting_again_in_the_database_is_refused_and_named(
    admin: User, nurse: User, make_user: Callable[..., User]
) -> None:
    second = make_user("ad.two", Role.ADMIN)
    (asked,) = role_grants.ask(admin.username, nurse, [Role.PHARMACIST])
    role_grants.decline(second, asked.id)
    declined = AuditEntry.objects.get(action="user.role_decline").seq
    RoleGrant.objects.filter(id=asked.id).update(status=RoleGrant.Status.PENDING)
    with pytest.raises(Refusal) as caught:
        users.approve_grant(second, asked.id)
    assert f"was declined already in its audit trail (entry {declined})" in caught.value.problem
    assert (
        f"role request {asked.id}: pharmacist for {nurse.username}, asked by 'ad.min' and waiting "
        f"for a second admin, was declined already in its audit trail (entry {declined}) "
        "(written outside the application; `approve` refuses it, decline it)"
    ) in audit.verify().problems


def test_an_audited_request_edited_to_another_role_in_the_database_is_refused(
    admin: User, nurse: User, make_user: Callable[..., User]
) -> None:
    second = make_user("ad.two", Role.ADMIN)
    (asked,) = role_grants.ask(admin.username, nurse, [Role.PHARMACIST])
    RoleGrant.objects.filter(id=asked.id).update(role=Role.ADMIN.value)
    with pytest.raises(Refusal) as caught:
        users.approve_grant(second, asked.id)
    assert caught.value.problem.startswith(
        f"for admin on {nurse.username} by 'ad.min' is not what its `user.role_request` recorded "
        f"(entry {AuditEntry.objects.get(action='user.role_request').seq}: pharmacist for "
        f"{nurse.username} by 'ad.min')"
    )
    assert roles_of(User.objects.get(id=nurse.id)) == {Role.NURSE}
