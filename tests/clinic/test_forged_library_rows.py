"""Rows written in the database for an honest second person to put in force (the eighth outside
attack): a clinic catheter figure and a hard clinic limit inserted as if a pharmacist had entered
them, an honest entry's figure edited before its approval, a removal request forged on a limit in
force, a prescription inserted for the double-check and a refill inserted for verification. The
approval, accept or verification is refused naming the row as written outside painpump, nothing
changes, withdrawing or rejecting stays possible, and `painpump audit verify` fails before and
after the attempt, and on a row an earlier release approved; honest rows still approve and
verify."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from painpump.clinic import audit
from painpump.clinic.actions import catheters, library, prescriptions, programs, refills
from painpump.clinic.models import (
    AuditEntry,
    ClinicCatheter,
    ClinicLimit,
    Implant,
    Prescription,
    Refill,
)
from painpump.clinic.reads import prescriptions as prescription_reads
from painpump.clinic.roles import Role
from painpump.core.clinic_catheters import parse_volume_per_cm
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

OUTSIDE = "it was written outside painpump"


def problems() -> tuple[str, ...]:
    return audit.verify().problems


def enter(pharmacist: User, per_cm: str = "2.6 uL/cm") -> ClinicCatheter:
    return catheters.add_catheter(
        pharmacist,
        model="8709SC",
        name="Intrathecal catheter 8709SC",
        manufacturer="Medtronic",
        volume_per_cm=parse_volume_per_cm(per_cm),
        source="Medtronic IFU 8709SC rev C, page 12",
    )


def hard_limit(pharmacist: User) -> ClinicLimit:
    return library.add_limit(
        pharmacist,
        drug="baclofen",
        rule="max_daily_dose",
        value=parse("900 mcg/day", Kind.DOSE_RATE, "value"),
        severity="hard",
        source="Baclofen policy BP-7, section 3",
        idempotency_key=str(uuid4()),
    )


# -- a catheter figure inserted -------------------------------------------------------------------


def test_an_inserted_catheter_figure_is_refused_approval_and_fails_verify(
    pharmacist: User, physician: User
) -> None:
    key = tamper.insert_catheter_figure(pharmacist.username)
    named = f"clinic_catheter {key}: no audit entry records it"
    assert any(p.startswith(named) for p in problems())
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        catheters.approve_catheter(physician, UUID(key), expected_version=1)
    assert (caught.value.field, caught.value.value) == ("entry", key)
    assert caught.value.problem == (
        "has no audit entry (`catheter.add` enters one): it was written outside painpump "
        "(nothing approved; archive a waiting entry to withdraw it)"
    )
    row = ClinicCatheter.objects.get(id=key)
    assert (row.approved_by, row.approved_at, row.version) == ("", None, 1)
    assert AuditEntry.objects.count() == entries
    assert any(p.startswith(named) for p in problems())
    catheters.archive_catheter(pharmacist, row.id, expected_version=1)  # withdrawn: cleared
    assert audit.verify().ok, problems()


def test_a_catheter_figure_an_earlier_release_approved_keeps_failing_verify(
    pharmacist: User,
) -> None:
    key = tamper.approve_as_before("clinic_catheter", tamper.insert_catheter_figure())
    assert problems() == (
        f"clinic_catheter {key}: `catheter.approve` by demo.physician2 (entry "
        f"{AuditEntry.objects.get(object_id=key).seq}) decided on it, though no `catheter.add` "
        f"audit entry before it records its entering: {OUTSIDE}",
    )


def test_an_honest_figure_edited_before_its_approval_is_refused(
    pharmacist: User, physician: User
) -> None:
    row = enter(pharmacist)
    ClinicCatheter.objects.filter(id=row.id).update(volume_ul_per_cm=Decimal("26"))
    with pytest.raises(Refusal) as caught:
        catheters.approve_catheter(physician, row.id, expected_version=1)
    assert caught.value.problem.startswith(
        "differs from its trail (volume_per_cm is '0.026 mL/cm (26 uL/cm)' in the database, "
        "'0.0026 mL/cm (2.6 uL/cm)' in entry "
    )
    assert OUTSIDE in caught.value.problem
    assert ClinicCatheter.objects.get(id=row.id).pending


def test_an_edited_figure_an_earlier_release_approved_is_named_by_its_approval(
    pharmacist: User,
) -> None:
    row = enter(pharmacist)
    added = AuditEntry.objects.get(action="catheter.add").seq
    ClinicCatheter.objects.filter(id=row.id).update(volume_ul_per_cm=Decimal("26"))
    tamper.approve_as_before("clinic_catheter", str(row.id))
    approved = AuditEntry.objects.get(action="catheter.approve").seq
    assert problems() == (  # painpump.clinic.audit_continuity names it
        f"clinic_catheter {row.id}: entry {approved} records volume_per_cm before as "
        f"'0.026 mL/cm (26 uL/cm)', but entry {added} left it as '0.0026 mL/cm (2.6 uL/cm)': "
        "the record was changed outside the application between them",
    )


def test_an_honest_figure_still_approves_and_verifies(pharmacist: User, physician: User) -> None:
    row = enter(pharmacist)
    done = catheters.approve_catheter(physician, row.id, expected_version=1)
    assert (done.approved_by, done.pending) == (physician.username, False)
    asked = catheters.archive_catheter(pharmacist, row.id, expected_version=2)
    removed = catheters.approve_catheter(physician, row.id, expected_version=asked.version)
    assert removed.archived_at is not None
    assert audit.verify().ok, problems()


# -- a clinic limit inserted ----------------------------------------------------------------------


def test_an_inserted_hard_limit_is_refused_approval_and_fails_verify(
    pharmacist: User, physician: User
) -> None:
    key = tamper.insert_clinic_limit(pharmacist.username)
    named = f"clinic_limit {key}: no audit entry records it"
    assert any(p.startswith(named) for p in problems())
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        library.approve_limit(physician, UUID(key), expected_version=1)
    assert (caught.value.field, caught.value.value) == ("limit", key)
    assert caught.value.problem == (
        "has no audit entry (`library.limit.add` or `library.limit.change` enters one): it was "
        "written outside painpump (nothing approved; archive a pending limit to withdraw it)"
    )
    row = ClinicLimit.objects.get(id=key)
    assert (row.approved_by, row.approved_at, row.version) == ("", None, 1)
    assert AuditEntry.objects.count() == entries
    assert any(p.startswith(named) for p in problems())
    library.archive_limit(pharmacist, row.id, expected_version=1)  # withdrawn: cleared
    assert audit.verify().ok, problems()


def test_a_limit_an_earlier_release_approved_keeps_failing_verify(pharmacist: User) -> None:
    key = tamper.approve_as_before("clinic_limit", tamper.insert_clinic_limit())
    assert problems() == (
        f"clinic_limit {key}: `library.limit.approve` by demo.physician2 (entry "
        f"{AuditEntry.objects.get(object_id=key).seq}) decided on it, though no "
        "`library.limit.add` or `library.limit.change` audit entry before it records its "
        f"entering: {OUTSIDE}",
    )


def test_a_removal_request_forged_on_a_limit_in_force_is_refused(
    pharmacist: User, physician: User
) -> None:
    row = hard_limit(pharmacist)
    row = library.approve_limit(physician, row.id, expected_version=row.version)
    ClinicLimit.objects.filter(id=row.id).update(archive_requested_by=pharmacist.username)
    with pytest.raises(Refusal) as caught:
        library.approve_limit(physician, row.id, expected_version=row.version)
    assert "removal_requested_by is 'pharma.cist' in the database, None in entry" in (
        caught.value.problem
    )
    assert ClinicLimit.objects.get(id=row.id).archived_at is None


def test_an_honest_hard_limit_still_approves_its_removal_and_verifies(
    pharmacist: User, physician: User, make_user: Callable[..., User]
) -> None:
    row = hard_limit(pharmacist)
    row = library.approve_limit(physician, row.id, expected_version=row.version)
    asked = library.archive_limit(pharmacist, row.id, expected_version=row.version)
    removed = library.approve_limit(physician, row.id, expected_version=asked.version)
    assert removed.archived_at is not None
    assert audit.verify().ok, problems()


# -- a prescription inserted for the double-check, a refill for verification ---------------------


def inserted_prescription(implant: Implant, physician: User) -> Prescription:
    """A copy of the prescription in force, awaiting its double-check, as if `physician` had
    signed it (its drugs and steps copied too); no audit entry."""
    honest = prescription_reads.in_force(implant)
    assert honest is not None
    drugs, steps = list(honest.drugs.all()), list(honest.steps.all())
    forged = Prescription.objects.get(id=honest.id)
    forged.pk, forged.number = uuid4(), honest.number + 1
    forged.status, forged.supersedes, forged.prescribed_by = (
        Prescription.Status.AWAITING_CHECK,
        honest,
        physician.username,
    )
    forged.save(force_insert=True)
    for drug in drugs:
        drug.pk, drug.prescription = None, forged
        drug.save(force_insert=True)
    for step in steps:
        step.pk, step.prescription = None, forged
        step.save(force_insert=True)
    return forged


def test_an_inserted_prescription_is_refused_at_the_double_check(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    forged = inserted_prescription(implant, physician)
    named = f"prescription {forged.id}: no audit entry records it"
    assert any(p.startswith(named) for p in problems())
    core = prescription_reads.as_core(forged)
    entries = CheckEntries(core.drugs, core.program, core.ptm, core.fluid_change)
    with pytest.raises(Refusal) as caught:
        prescriptions.double_check(
            pharmacist, forged.id, entries=entries, accept=True, comment="", now=FIRST_FILL
        )
    assert (caught.value.field, caught.value.value) == ("prescription", f"#{forged.number}")
    assert caught.value.problem == (
        "has no audit entry (`prescription.create` enters one): it was written outside painpump "
        "(nothing accepted; reject it with a comment)"
    )
    assert Prescription.objects.get(id=forged.id).status == Prescription.Status.AWAITING_CHECK
    assert any(p.startswith(named) for p in problems())
    prescriptions.double_check(
        pharmacist,
        forged.id,
        entries=None,
        accept=False,
        comment="not signed through painpump",
        now=FIRST_FILL,
    )
    assert Prescription.objects.get(id=forged.id).status == Prescription.Status.REJECTED


def test_an_inserted_refill_is_refused_its_verification(
    implant: Implant, physician: User, make_user: Callable[..., User]
) -> None:
    honest = Refill.objects.get(implant=implant)
    drugs = list(honest.drugs.all())
    forged = Refill.objects.get(id=honest.id)
    forged.pk, forged.idempotency_key = uuid4(), "the insider's"
    forged.needs_verification, forged.verified_by, forged.verified_at = True, "", None
    forged.save(force_insert=True)
    for drug in drugs:
        drug.pk, drug.refill = None, forged
        drug.save(force_insert=True)
    verifier = make_user("pharma.two", Role.PHARMACIST)
    with pytest.raises(Refusal) as caught:
        refills.verify_refill(verifier, forged.id, FIRST_FILL)
    assert caught.value.problem == (
        "has no audit entry (`refill.perform` enters one): it was written outside painpump "
        "(nothing verified; report it to the clinic's admin)"
    )
    assert Refill.objects.get(id=forged.id).verified_by == ""
    assert any(p.startswith(f"refill {forged.id}: no audit entry records it") for p in problems())


def test_an_inserted_ready_prescription_is_refused_at_programming_and_verify_names_it(
    implant: Implant, physician: User
) -> None:
    """A prescription inserted ready (no double-check needed) was programmed, with no second
    person involved; the programming refuses it and changes nothing."""
    forged = inserted_prescription(implant, physician)
    Prescription.objects.filter(id=forged.id).update(status=Prescription.Status.READY)
    version = Implant.objects.get(id=implant.id).version
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        programs.program_pump(
            physician, implant.id, expected_version=version, now=FIRST_FILL + timedelta(hours=1)
        )
    assert caught.value.field == "prescription"
    assert caught.value.problem == (
        "has no audit entry (`prescription.create` enters one): it was written outside painpump "
        "(nothing programmed; report it to the clinic's admin)"
    )
    assert Prescription.objects.get(id=forged.id).status == Prescription.Status.READY
    assert Implant.objects.get(id=implant.id).version == version
    assert AuditEntry.objects.count() == entries
    assert any(str(forged.id) in p for p in problems())
