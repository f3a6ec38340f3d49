"""Drill: an insider with write access to the database tampers with the audit trail and the
records, and `painpump audit verify` must catch every tampering. A small demo clinic is seeded in
a scratch SQLite database (its trail padded with entries up to the size asked for, its
checkpoints written as the service writes them); then, each on a fresh copy of that clinic, the
newest entries are deleted and the head rewound (a cut tail), every entry and the head deleted
(a wiped trail, with and without the checkpoint file), an entry edited and every later hash
recomputed with the plain digest and with the application's own keyed hash under a key the
insider chose, a refill's volume edited, a second clinician's verification forged, a forged
checkpoint appended; and (the second outside attack) a program inserted, a refill's alarm and
empty dates moved, a refill taken off the verification list, a double-check forged, a
prescription's high-alert flag cleared and a clinic limit loosened; (the third) a refill
moved to another patient's pump, a prescription's fluid change edited and a row made unreadable;
and (the fourth) a role granted and the superuser flag set behind the application, the readback
tolerance widened, a patient's alarm acknowledged, a readback rewritten, a refill visit
cancelled, a test phase moved in an episode's pathway state, an episode without a pump closed,
an assessment edited and a pathway event deleted; and (the sixth) a cut tail grown back past
its checkpoint, a prescription's stored daily dose doubled, a baclofen pump's high-risk flag and
drugs edited and a request for the admin role inserted for a second admin to approve; and (the
sixth's open findings) a prescription step moved to weekday 9, a program's prescriber, limiting
factor and warnings, a refill's warnings and idempotency key and an assessment's recording time
edited, and an account inserted; and (issue 14's insiders with database write) an API token
inserted for a physician, a program's awaiting-readback flag cleared and a prescription's
warnings cleared; and (the eighth) a clinic catheter figure and a hard clinic limit inserted and
approved by an honest physician (as painpump approved them before: it refuses now); an
episode's pathway state edited and laundered by a step taken as painpump took it before (it
refuses now), and an account's name edited.
Figures: the size of the trail and the time verify takes for it.

`drill(full)` runs it in a process of its own (Django is configured once per process):
`python -m painpump.devtools.security.tamper --entries N --patients P`."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from painpump.devtools.faults.report import Report
from painpump.devtools.security.common import run_apart

SMALL = {"patients": 10, "entries": 3_000}
FULL = {"patients": 40, "entries": 120_000}
PADDING_BATCH = 1000  # padding entries per transaction


def drill(full: bool) -> Report:
    size = FULL if full else SMALL
    args = ["--patients", str(size["patients"]), "--entries", str(size["entries"])]
    return run_apart("tamper", args)


# -- the tampering, as an insider with database access does it: around the models ------------


def cut_tail(entries: int) -> None:
    """Delete the newest `entries` and rewind the head to the entry before them."""
    from painpump.clinic.models import AuditEntry, AuditHead

    newest = AuditEntry.objects.order_by("-seq")
    doomed = list(newest.values_list("seq", flat=True)[:entries])
    AuditEntry.objects.filter(seq__in=doomed)._raw_delete("default")
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None
    AuditHead.objects.filter(id=1).update(count=AuditEntry.objects.count(), last_hash=last.hash)


def grow_back(entries: int) -> None:
    """Let the clinic append `entries` entries after a cut, one transaction each, checkpointed as
    the service does: the trail grows past the count it was cut from."""
    from django.db import transaction

    from painpump.clinic import audit, audit_checkpoints

    for number in range(entries):
        with transaction.atomic():
            audit.record("drill", "drill.padding", "drill", f"grown {number}", after={"n": number})
        if audit_checkpoints.pending():  # within an outer transaction (a test's), not committed
            audit_checkpoints.write()


def wipe() -> None:
    """Delete every entry and the head; the records stay."""
    from painpump.clinic.models import AuditEntry, AuditHead

    AuditEntry.objects.all()._raw_delete("default")
    AuditHead.objects.all()._raw_delete("default")


def recompute(seq: int, after: dict[str, Any], digest: Callable[[dict[str, Any]], str]) -> None:
    """Set entry `seq`'s `after`, then recompute its hash and every later one with `digest`
    (relinking each entry to the one before) and point the head at the new last hash."""
    from painpump.clinic.audit import hashed_fields
    from painpump.clinic.models import AuditEntry, AuditHead

    AuditEntry.objects.filter(seq=seq).update(after=after)
    before = AuditEntry.objects.filter(seq__lt=seq).order_by("-seq").first()
    previous = before.hash if before else "0" * 64
    for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
        entry.prev_hash = previous
        previous = digest(hashed_fields(entry))
        AuditEntry.objects.filter(seq=entry.seq).update(prev_hash=entry.prev_hash, hash=previous)
    AuditHead.objects.filter(id=1).update(last_hash=previous)


def plain_digest(fields: dict[str, Any]) -> str:
    """The unkeyed SHA-256 digest painpump's chain used before it was keyed."""
    from painpump.clinic.audit_keys import UNKEYED, AuditKey

    return AuditKey(UNKEYED, b"").digest("entry", fields)


def insider_digest(fields: dict[str, Any]) -> str:
    """The application's own keyed hash, under a key of the insider's choosing."""
    from painpump.clinic.audit_keys import AuditKey

    return AuditKey("insider", b"a key the insider chose, not the clinic's").digest("entry", fields)


def edit_refill_volume() -> str:
    """Add 5 mL to one refill's stored volume, its trail untouched; the refill's id."""
    from django.db.models import F

    from painpump.clinic.models import Refill

    refill = Refill.objects.order_by("performed_at").last()
    assert refill is not None
    Refill.objects.filter(id=refill.id).update(volume_ml=F("volume_ml") + Decimal(5))
    return str(refill.id)


def forge_verification() -> str:
    """Mark a refill as verified by a second clinician who never did; the refill's id."""
    from painpump import clock
    from painpump.clinic.models import Refill

    refill = Refill.objects.filter(verified_by="").order_by("performed_at").last()
    assert refill is not None
    Refill.objects.filter(id=refill.id).update(
        verified_by="demo.pharmacist1", verified_at=clock.now()
    )
    return str(refill.id)


def insert_program() -> str:
    """Insert a copy of the newest program under a new id, a dose doubled; its id."""
    from painpump.clinic.models import Program

    program = Program.objects.order_by("started_at").last()
    assert program is not None
    program.pk = None
    program.dose_mcg_per_day *= 2
    program.save(force_insert=True)
    return str(program.id)


def move_refill_dates() -> str:
    """Move the newest refill's alarm and empty dates a month later; the refill's id."""
    from datetime import timedelta

    from django.db.models import F

    from painpump.clinic.models import Refill

    refill = Refill.objects.order_by("performed_at").last()
    assert refill is not None
    later = timedelta(days=30)
    Refill.objects.filter(id=refill.id).update(
        alarm_at=F("alarm_at") + later, empty_at=F("empty_at") + later
    )
    return str(refill.id)


def clear_needs_verification() -> str:
    """Take a refill waiting for its second clinician off the list; the refill's id."""
    from painpump.clinic.models import Refill

    refill = Refill.objects.filter(needs_verification=True).order_by("performed_at").last()
    assert refill is not None
    Refill.objects.filter(id=refill.id).update(needs_verification=False)
    return str(refill.id)


def forge_double_check() -> str:
    """Rewrite the newest double-check as an acceptance by a clinician who never did it; the
    prescription's id."""
    from painpump.clinic.models import PrescriptionCheck

    check = PrescriptionCheck.objects.order_by("checked_at").last()
    assert check is not None
    PrescriptionCheck.objects.filter(id=check.id).update(
        checked_by="demo.nobody", accepted=True, mismatches=[]
    )
    return str(check.prescription_id)


def clear_high_alert() -> str:
    """Clear a high-alert prescription's flag (the next one then skips its double-check); the
    prescription's id."""
    from painpump.clinic.models import Prescription

    record = Prescription.objects.filter(high_alert=True).order_by("prescribed_at").last()
    assert record is not None
    Prescription.objects.filter(id=record.id).update(high_alert=False)
    return str(record.id)


def double_prescribed_dose() -> str:
    """Double the stored daily dose of the newest prescription in force (refills and programming
    take their dose from it), its steps and trail untouched; its id."""
    from django.db.models import F

    from painpump.clinic.models import Prescription

    record = Prescription.objects.filter(status="active").order_by("prescribed_at").last()
    assert record is not None
    Prescription.objects.filter(id=record.id).update(
        daily_dose_mcg_per_day=F("daily_dose_mcg_per_day") * 2
    )
    return str(record.id)


def hide_baclofen() -> str:
    """Clear a baclofen pump's high-risk flag and name another drug in its stored drugs (the
    badge, the MRI withdrawal instructions and the drug filter go); the pump's id."""
    from painpump.clinic.models import Implant

    implant = Implant.objects.filter(high_risk=True).order_by("id").first()
    assert implant is not None
    Implant.objects.filter(id=implant.id).update(high_risk=False, drug_names="morphine")
    return str(implant.id)


def loosen_clinic_limit() -> str:
    """Raise a clinic limit tenfold; the limit's id."""
    from django.db.models import F

    from painpump.clinic.models import ClinicLimit

    limit = ClinicLimit.objects.order_by("set_at").first()
    assert limit is not None
    ClinicLimit.objects.filter(id=limit.id).update(value=F("value") * 10)
    return str(limit.id)


def move_refill_to_another_pump() -> str:
    """Move the newest refill onto another patient's pump; the refill's id."""
    from painpump.clinic.models import Implant, Refill

    refill = Refill.objects.order_by("performed_at").select_related("implant__episode").last()
    assert refill is not None
    other = Implant.objects.exclude(episode__patient=refill.implant.episode.patient_id).first()
    assert other is not None
    Refill.objects.filter(id=refill.id).update(implant=other)
    return str(refill.id)


def edit_fluid_change() -> str:
    """Set a prescription that bridged the old fluid to none; the prescription's id."""
    from painpump.clinic.models import Prescription

    record = Prescription.objects.exclude(fluid_change="none").order_by("prescribed_at").last()
    if record is None:
        record = Prescription.objects.order_by("prescribed_at").last()
        assert record is not None
        Prescription.objects.filter(id=record.id).update(fluid_change="bridge")
    else:
        Prescription.objects.filter(id=record.id).update(fluid_change="none")
    return str(record.id)


def unreadable_refill() -> str:
    """Write text into a refill's volume (SQLite keeps it); the refill's id."""
    from django.db import connection

    from painpump.clinic.models import Refill

    refill = Refill.objects.order_by("performed_at").last()
    assert refill is not None
    with connection.cursor() as cursor:
        cursor.execute("update clinic_refill set volume_ml = 'abc' where id = %s", [refill.id.hex])
    return str(refill.id)


def grant_role(username: str | None = None, role: str = "admin") -> str:
    """Give an account a role behind the application (`insert into auth_user_groups`): by
    default the newest account an audited action created; its username."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from painpump.clinic.models import AuditEntry

    if username is None:
        created = AuditEntry.objects.filter(action="user.create").order_by("seq").last()
        assert created is not None and isinstance(created.after, dict)
        username = str(created.after["username"])
    user = User.objects.get(username=username)
    group, _ = Group.objects.get_or_create(name=role)
    with connection.cursor() as cursor:
        cursor.execute(
            "insert into auth_user_groups (user_id, group_id) values (%s, %s)", [user.id, group.id]
        )
    return username


def insert_role_request(username: str, requested_by: str, role: str = "admin") -> int:
    """Insert a request for `role` on `username`'s account, as if the admin `requested_by` had
    asked for it, waiting for an honest second admin's approval; its id."""
    from django.contrib.auth.models import User

    from painpump import clock
    from painpump.clinic.models import RoleGrant

    grant = RoleGrant.objects.create(
        user=User.objects.get(username=username),
        role=role,
        requested_by=requested_by,
        requested_at=clock.now(),
    )
    return grant.id


def make_superuser(username: str | None = None) -> str:
    """Set an account's `is_superuser` and `is_staff` behind the application; its username."""
    from django.contrib.auth.models import User

    from painpump.clinic.models import AuditEntry

    if username is None:
        created = AuditEntry.objects.filter(action="user.create").order_by("seq").first()
        assert created is not None and isinstance(created.after, dict)
        username = str(created.after["username"])
    User.objects.filter(username=username).update(is_superuser=True, is_staff=True)
    return username


def widen_readback_tolerance() -> None:
    """Set the programmer readback's tolerance to 0.9 mL, nine times the default."""
    from painpump.clinic.models import ClinicSettings

    ClinicSettings.objects.filter(id=1).update(readback_tolerance_ml=Decimal("0.9"))


def acknowledge_alarm() -> str:
    """Close the newest open patient alarm without saying what was done; its id."""
    from painpump import clock
    from painpump.clinic.models import AlarmReport

    alarm = AlarmReport.objects.filter(acknowledged_at__isnull=True).order_by("reported_at").last()
    assert alarm is not None
    AlarmReport.objects.filter(id=alarm.id).update(
        acknowledged_at=clock.now(), acknowledged_by="demo.nobody", action_taken="none"
    )
    return str(alarm.id)


def clear_readback() -> str:
    """Make the newest programmer readback that differed read back what it should have: the
    reservoir entered rewritten, its differences cleared; its id."""
    from painpump.clinic.models import Readback

    newest = Readback.objects.order_by("-read_at")
    readback = next((r for r in newest if r.mismatches), None) or newest.first()
    assert readback is not None
    entered = {**readback.entered, "reservoir": "19.5 mL"}
    Readback.objects.filter(id=readback.id).update(entered=entered, mismatches=[])
    return str(readback.id)


def cancel_appointment() -> str:
    """Cancel the earliest open refill visit; its id."""
    from painpump.clinic.models import Appointment

    visit = (
        Appointment.objects.filter(kind="refill", status__in=("proposed", "booked"))
        .order_by("on")
        .first()
    )
    assert visit is not None
    Appointment.objects.filter(id=visit.id).update(status="cancelled")
    return str(visit.id)


def skip_the_wait() -> str:
    """Move an episode's test phase two months earlier in its stored pathway state (the wait
    before an implantation then looks served); its id."""
    from datetime import date, timedelta

    from painpump.clinic.models import Episode

    tested = Episode.objects.order_by("id")
    episode = next((e for e in tested if e.pathway_state.get("test_started_on")), None)
    assert episode is not None
    state = dict(episode.pathway_state)
    earlier = date.fromisoformat(state["test_started_on"]) - timedelta(days=60)
    state["test_started_on"] = earlier.isoformat()
    Episode.objects.filter(id=episode.id).update(pathway_state=state)
    return str(episode.id)


def close_episode() -> str:
    """Close an episode that has no pump, as if the patient had left the pathway; its id."""
    from painpump import clock
    from painpump.clinic.models import Episode

    episode = Episode.objects.filter(implants=None, closed_at=None).order_by("id").first()
    assert episode is not None
    Episode.objects.filter(id=episode.id).update(
        stage="closed", closed_at=clock.now(), closed_reason="left the pathway"
    )
    return str(episode.id)


def edit_assessment() -> str:
    """Lower the newest assessment's value to 0 (a pain score, a spasticity grade); its id."""
    from painpump.clinic.models import Assessment

    assessment = Assessment.objects.order_by("taken_at").last()
    assert assessment is not None
    Assessment.objects.filter(id=assessment.id).update(value=Decimal(0))
    return str(assessment.id)


def delete_pathway_event() -> str:
    """Delete an episode's newest pathway event; the episode's id."""
    from painpump.clinic.models import PathwayEvent

    event = PathwayEvent.objects.order_by("id").last()
    assert event is not None
    PathwayEvent.objects.filter(id=event.id)._raw_delete("default")
    return str(event.episode_id)


def step_on_weekday_nine() -> str:
    """Move a prescription step to weekday 9, a day no week has; the prescription's id."""
    from painpump.clinic.models import PrescriptionStep

    step = PrescriptionStep.objects.order_by("id").last()
    assert step is not None
    PrescriptionStep.objects.filter(id=step.id).update(weekday=9)
    return str(step.prescription_id)


def edit_program_prescriber() -> str:
    """Name another physician as the prescriber of the newest program; its id."""
    from painpump.clinic.models import Program

    program = Program.objects.exclude(prescription=None).order_by("started_at").last()
    assert program is not None
    Program.objects.filter(id=program.id).update(prescribed_by="demo.nobody")
    return str(program.id)


def edit_program_limit() -> str:
    """Swap what limits the newest program's refill-by date (the reservoir, the drug's
    stability); its id."""
    from painpump.clinic.models import Program

    program = Program.objects.order_by("started_at").last()
    assert program is not None
    other = "stability" if program.limited_by == "reservoir" else "reservoir"
    Program.objects.filter(id=program.id).update(limited_by=other)
    return str(program.id)


FORGED_WARNING = {
    "rule": "forged",
    "message": "a warning no check gave",
    "limit": "none",
    "source": "the insider",
    "verified": True,
}


def forge_program_warnings() -> str:
    """Replace the warnings the newest program was prescribed with by a forged one; its id."""
    from painpump.clinic.models import Program

    program = Program.objects.order_by("started_at").last()
    assert program is not None
    Program.objects.filter(id=program.id).update(warnings=[FORGED_WARNING])
    return str(program.id)


def forge_refill_warnings() -> str:
    """Replace the warnings shown at the newest refill by a forged one (its report then prints
    a reason never given); its id."""
    from painpump.clinic.models import Refill

    refill = Refill.objects.order_by("performed_at").last()
    assert refill is not None
    Refill.objects.filter(id=refill.id).update(warnings=[FORGED_WARNING])
    return str(refill.id)


def move_assessment_recording() -> str:
    """Move the time the newest assessment was recorded a month earlier; its id."""
    from datetime import timedelta

    from django.db.models import F

    from painpump.clinic.models import Assessment

    assessment = Assessment.objects.order_by("recorded_at").last()
    assert assessment is not None
    Assessment.objects.filter(id=assessment.id).update(
        recorded_at=F("recorded_at") - timedelta(days=30)
    )
    return str(assessment.id)


def reuse_refill_key() -> str:
    """Give the newest refill the key of the performer's next retry, so that their next refill
    is answered with this one and never recorded; its id."""
    from painpump.clinic.models import Refill

    refill = Refill.objects.order_by("performed_at").last()
    assert refill is not None
    Refill.objects.filter(id=refill.id).update(idempotency_key="the-next-refill")
    return str(refill.id)


def insert_account(username: str = "in.sider", role: str = "physician") -> str:
    """Insert an account holding `role` in the database, no audited action making it; its
    username."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "insert into auth_user (username, password, is_superuser, is_staff, is_active, "
            "first_name, last_name, email, date_joined) "
            "values (%s, '!', %s, %s, %s, '', '', '', '2026-01-01 00:00:00')",
            [username, False, False, True],
        )
    group, _ = Group.objects.get_or_create(name=role)
    User.objects.get(username=username).groups.add(group)
    return username


def insert_token(username: str = "demo.physician1", secret: str = "pp_an-insiders-token") -> str:
    """Insert a read-write API token for `username` in the database, stored as the plain SHA-256
    of `secret` (the digest painpump stored before it keyed it), no audited action making it;
    the secret."""
    import hashlib

    from django.contrib.auth.models import User

    from painpump.api.models import ApiToken

    ApiToken.objects.create(
        user=User.objects.get(username=username),
        prefix=secret[:11],
        digest=hashlib.sha256(secret.encode("utf-8")).hexdigest(),
        read_only=False,
    )
    return secret


def clear_awaiting_readback() -> str:
    """Take the program in force longest awaiting its readback off the dashboard's list; its
    id."""
    from painpump.clinic.models import Program

    program = (
        Program.objects.filter(awaiting_readback=True, ended_at=None).order_by("started_at").first()
    )
    assert program is not None
    Program.objects.filter(id=program.id).update(awaiting_readback=False)
    return str(program.id)


def clear_prescription_warnings() -> str:
    """Clear the warnings the newest prescription that had any was signed with (the chart then
    shows it signed without them); its id."""
    from painpump.clinic.models import Prescription

    record = Prescription.objects.exclude(warnings=[]).order_by("prescribed_at").last()
    assert record is not None
    Prescription.objects.filter(id=record.id).update(warnings=[])
    return str(record.id)


def insert_catheter_figure(entered_by: str = "demo.pharmacist") -> str:
    """Insert a clinic catheter figure ten times a plausible one (22 uL/cm for the 8780), as if
    `entered_by` had entered it, waiting for an honest second approver; its id."""
    from painpump import clock
    from painpump.clinic.models import ClinicCatheter

    row = ClinicCatheter.objects.create(
        model="8780",
        name="Intrathecal catheter 8780",
        manufacturer="Medtronic",
        volume_ul_per_cm=Decimal("22.0"),
        source="Medtronic IFU 8780",
        entered_by=entered_by,
        entered_at=clock.now(),
    )
    return str(row.id)


def insert_clinic_limit(set_by: str = "demo.pharmacist") -> str:
    """Insert a hard clinic limit on morphine's concentration (25 000 mcg/mL), as if `set_by`
    had set it, waiting for an honest second approver; its id."""
    from painpump import clock
    from painpump.clinic.models import ClinicLimit

    row = ClinicLimit.objects.create(
        drug="morphine",
        rule="max_concentration",
        value=Decimal("25000"),
        unit="mcg/mL",
        severity="hard",
        source="the insider's policy",
        set_by=set_by,
        set_at=clock.now(),
    )
    return str(row.id)


def approve_as_before(kind: str, key: str, approver: str = "demo.physician2") -> str:
    """Approve an inserted library row as painpump did before the eighth outside attack (whose
    approval did not read the row's trail, and the approval entry let verify pass): the row put
    in force and its `approve` entry written; `key`."""
    from django.db import transaction

    from painpump import clock
    from painpump.clinic import audit, audit_checkpoints
    from painpump.clinic.actions import catheters, library
    from painpump.clinic.models import ClinicCatheter, ClinicLimit

    snapshot: Callable[[Any], dict[str, Any]] = (
        catheters.snapshot if kind == "clinic_catheter" else library.snapshot
    )
    action = "catheter.approve" if kind == "clinic_catheter" else "library.limit.approve"
    with transaction.atomic():
        row: ClinicCatheter | ClinicLimit = (
            ClinicCatheter.objects.get(id=key)
            if kind == "clinic_catheter"
            else ClinicLimit.objects.get(id=key)
        )
        before = snapshot(row)
        row.approved_by, row.approved_at = approver, clock.now()
        row.version += 1
        row.save()
        audit.record(approver, action, kind, row.id, before=before, after=snapshot(row))
    if audit_checkpoints.pending():  # within an outer transaction (a test's), not committed
        audit_checkpoints.write()
    return key


def launder_pathway_state(physician: str = "demo.physician1") -> str:
    """Refer a patient anew, move the episode's stage start a month earlier in its stored pathway
    state, and close it as painpump took a step before the eighth outside attack: from whatever
    state it found, its entry recording the edited state's digest (verify passed again). The
    ordinary step is refused now (AssertionError if it is not); the episode's id."""
    from datetime import timedelta
    from unittest import mock

    from django.contrib.auth.models import User

    from painpump import clock
    from painpump.clinic import audit_checkpoints
    from painpump.clinic.actions import pathway, patients
    from painpump.clinic.locale import clinic_today
    from painpump.clinic.models import Episode, Patient

    user = User.objects.get(username=physician)
    now = clock.now()
    today = clinic_today(now)
    patient = Patient.objects.filter(archived_at=None).order_by("id").first()
    assert patient is not None
    episode = patients.open_episode(user, patient.id, indication="tumour_pain", referred_on=today)
    state = dict(episode.pathway_state)
    state["stage_since"] = (today - timedelta(days=30)).isoformat()
    Episode.objects.filter(id=episode.id).update(pathway_state=state)

    def close() -> None:
        version, why = episode.version, "moved to another clinic"
        pathway.step(
            user, episode.id, "close", expected_version=version, now=now, on=today, reason=why
        )

    try:
        close()
    except pathway.ChangedOutside:
        pass
    else:
        raise AssertionError("a step continued from a pathway state changed outside painpump")
    unchecked = mock.patch.object(
        pathway, "as_audited", lambda row: pathway.state_digest(row.pathway_state)
    )
    with unchecked:
        close()
    if audit_checkpoints.pending():  # within an outer transaction (a test's), not committed
        audit_checkpoints.write()
    return str(episode.id)


def rename_account(username: str = "demo.nurse2") -> str:
    """Rename an account behind the application (`update auth_user set first_name='Chief',
    last_name='Physician'`); its username."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "update auth_user set first_name = 'Chief', last_name = 'Physician' "
            "where username = %s",
            [username],
        )
    return username


def forge_checkpoint() -> None:
    """Append a checkpoint line signed without the audit key."""
    from painpump.clinic import audit_checkpoints, audit_keys

    line = {"count": 10**9, "head": "f" * 64, "at": "2030-01-01T00:00:00+00:00"}
    line |= {"key_id": audit_keys.require_key().id, "signature": "0" * 64}
    with audit_checkpoints.path().open("a", encoding="utf-8") as file:
        file.write(json.dumps(line) + "\n")


# -- the drill's own process ------------------------------------------------------------------


def _middle_refill_entry() -> tuple[int, dict[str, Any]]:
    """A refill's entry from the middle of the trail, its `after` with the volume changed."""
    from painpump.clinic.models import AuditEntry

    rows = AuditEntry.objects.filter(action="refill.perform").order_by("seq")
    entry = rows[rows.count() // 2]
    after = dict(entry.after or {})
    after["volume"] = "1 mL"
    return entry.seq, after


def _cut_and_grown_back() -> None:
    cut_tail(3)
    grow_back(5)


def _wipe_with_checkpoints() -> None:
    from painpump.clinic import audit_checkpoints

    wipe()
    audit_checkpoints.path().unlink()


SCENARIOS: dict[str, tuple[Callable[[], object], str]] = {
    # name: (the tampering, a phrase the problems must hold: the control that caught it)
    "cut tail": (lambda: cut_tail(3), "entries were deleted (a cut tail or a wiped trail)"),
    "cut tail grown back past its checkpoint": (
        _cut_and_grown_back,
        "the trail was rewritten, or cut and grown back",
    ),
    "wiped trail": (wipe, "entries were deleted (a cut tail or a wiped trail)"),
    "wiped trail and checkpoints": (_wipe_with_checkpoints, "no audit entry records it"),
    "edited entry, chain recomputed with the plain digest": (
        lambda: recompute(*_middle_refill_entry(), plain_digest),
        "its hash is the plain unkeyed digest",
    ),
    "edited entry, chain recomputed with the application's code without its key": (
        lambda: recompute(*_middle_refill_entry(), insider_digest),
        "content does not match its hash",
    ),
    "refill volume edited": (edit_refill_volume, ": volume is "),
    "verification forged": (forge_verification, ": verified_by is 'demo.pharmacist1'"),
    "forged checkpoint": (forge_checkpoint, "does not match (the line was edited or forged)"),
    "program inserted": (insert_program, "no audit entry records it"),
    "refill alarm and empty dates moved": (move_refill_dates, ": alarm_at is "),
    "refill taken off the verification list": (
        clear_needs_verification,
        ": needs_verification is False in the database, True",
    ),
    "double-check forged": (forge_double_check, ": double_check is {'checked_by': "),
    "high-alert flag cleared": (clear_high_alert, ": high_alert is False in the database, True"),
    "clinic limit loosened": (loosen_clinic_limit, ": value is "),
    "refill moved to another patient's pump": (move_refill_to_another_pump, ": implant is "),
    "prescription's fluid change edited": (edit_fluid_change, ": fluid_change is "),
    "refill row unreadable": (unreadable_refill, ": its row cannot be read"),
    "role granted in the database": (grant_role, ": roles is ['admin'"),
    "superuser flag set in the database": (make_superuser, ": superuser is True in the database"),
    "readback tolerance widened": (widen_readback_tolerance, "readback_tolerance is '0.9 mL'"),
    "patient alarm acknowledged in the database": (acknowledge_alarm, ": acknowledged_at is "),
    "readback cleared": (clear_readback, ": entered is "),
    "refill visit cancelled": (cancel_appointment, ": status is 'cancelled'"),
    "test phase moved in the pathway state": (skip_the_wait, ": state_digest is "),
    "episode without a pump closed": (close_episode, ": stage is 'closed'"),
    "assessment edited": (edit_assessment, ": value is "),
    "pathway event deleted": (delete_pathway_event, "pathway events in the database"),
    "prescribed daily dose edited": (double_prescribed_dose, ": daily_dose_mcg_per_day is "),
    "baclofen pump's high-risk flag and drugs edited": (hide_baclofen, ": high_risk is False"),
    "role request inserted in the database": (
        lambda: insert_role_request("demo.nurse1", "demo.admin"),
        "has no `user.role_request` audit entry",
    ),
    "prescription step moved to weekday 9": (step_on_weekday_nine, "a step's weekday is 9"),
    "program's prescriber edited": (edit_program_prescriber, ": prescribed_by is 'demo.nobody'"),
    "program's limiting factor edited": (edit_program_limit, ": limited_by is "),
    "program's warnings forged": (forge_program_warnings, ": warnings is [{'rule': 'forged'"),
    "refill's warnings forged": (forge_refill_warnings, ": warnings is [{'rule': 'forged'"),
    "assessment's recording time moved": (move_assessment_recording, ": recorded_at is "),
    "refill's idempotency key reused": (reuse_refill_key, ": idempotency_key is 'the-next"),
    "account inserted in the database": (insert_account, "no audit entry records its creation"),
    "api token inserted in the database": (
        insert_token,
        "no `token.create` audit entry records its creation",
    ),
    "program's awaiting-readback flag cleared": (
        clear_awaiting_readback,
        ": awaiting_readback is False in the database, True",
    ),
    "prescription's warnings cleared": (clear_prescription_warnings, ": warnings is [] in the"),
    "clinic catheter figure inserted, approved as before the eighth attack": (
        lambda: approve_as_before("clinic_catheter", insert_catheter_figure()),
        "though no `catheter.add` audit entry before it records its entering",
    ),
    "clinic limit inserted, approved as before the eighth attack": (
        lambda: approve_as_before("clinic_limit", insert_clinic_limit()),
        "audit entry before it records its entering",
    ),
    "pathway state edited and laundered by a step taken as before the eighth attack": (
        launder_pathway_state,
        " records state_digest before as ",
    ),
    "account renamed in the database": (
        rename_account,
        ": name is 'Chief Physician' in the database",
    ),
}


class _Clinic:
    """The seeded clinic's database and checkpoints, kept aside; each scenario gets a copy."""

    def __init__(self, work: Path) -> None:
        from django.conf import settings

        from painpump.clinic import audit_checkpoints

        self.database = Path(settings.DATABASES["default"]["NAME"])
        self.checkpoints = audit_checkpoints.path()
        self.kept = work / "kept"
        self.kept.mkdir()
        self._swap(self.database, self.kept / "db")
        self._swap(self.checkpoints, self.kept / "checkpoints")

    def copy(self) -> None:
        self._swap(self.kept / "db", self.database)
        self._swap(self.kept / "checkpoints", self.checkpoints)

    @staticmethod
    def _swap(source: Path, target: Path) -> None:
        from django.db import connections

        connections.close_all()
        shutil.copyfile(source, target)


def _clinic_limit() -> None:
    """A soft clinic limit, set by the demo's pharmacist (the demo sets none)."""
    from django.contrib.auth.models import User

    from painpump.clinic.actions import library
    from painpump.core.units import Kind, parse

    library.add_limit(
        User.objects.get(username="demo.pharmacist"),
        drug="baclofen",
        rule="max_daily_dose",
        value=parse("900 mcg/day", Kind.DOSE_RATE, "value"),
        severity="soft",
        source="the tamper drill's clinic policy",
        idempotency_key="tamper-drill",
    )


def _open_alarm() -> None:
    """A low-reservoir alarm a patient reported, open (the demo has none)."""
    from django.contrib.auth.models import User

    from painpump import clock
    from painpump.clinic.actions import alarms
    from painpump.clinic.models import Implant

    implant = Implant.objects.filter(refill_by__isnull=False).order_by("id").first()
    assert implant is not None
    alarms.report_alarm(
        User.objects.get(username="demo.nurse1"),
        implant.id,
        kind="low_reservoir",
        reported_at=clock.now(),
        note="the tamper drill's patient heard the pump beep",
    )


def _unread_program() -> None:
    """A pump programmed again with its prescription in force, signed anew, and not read back
    yet (the demo reads every programming back)."""
    from dataclasses import replace

    from django.contrib.auth.models import User

    from painpump import clock
    from painpump.clinic.actions import prescriptions, programs
    from painpump.clinic.demo.seed import demo_reason
    from painpump.clinic.models import Implant, Prescription
    from painpump.clinic.reads import prescriptions as reads
    from painpump.clinic.reads.pump_state import dosing_rules, pump_state
    from painpump.core.prescription import FluidChange
    from painpump.core.prescription_compare import CheckEntries
    from painpump.core.prescription_decision import decide_prescription

    now = clock.now()
    implant = next(
        pump
        for pump in Implant.objects.filter(explanted_on=None).order_by("id")
        if reads.in_force(pump) is not None
    )
    in_force = reads.in_force(implant)
    assert in_force is not None
    again = replace(reads.as_core(in_force), fluid_change=FluidChange.NONE)
    shown = decide_prescription(pump_state(implant), again, now, dosing_rules())
    signed = prescriptions.prescribe(
        User.objects.get(username=in_force.prescribed_by),
        implant.id,
        again,
        reason="the tamper drill's pump, programmed again",
        now=now,
        expected_version=Implant.objects.get(id=implant.id).version,
        overrides={w.rule: demo_reason(w.rule, w.drug) for w in shown.warnings},
    )
    if signed.status == Prescription.Status.AWAITING_CHECK:
        prescriptions.double_check(
            User.objects.get(username="demo.pharmacist"),
            signed.id,
            entries=CheckEntries(again.drugs, again.program, again.ptm, again.fluid_change),
            accept=True,
            comment="",
            now=now,
        )
    programs.program_pump(
        User.objects.get(username="demo.nurse1"),
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=now,
    )


def _pad(entries: int) -> None:
    """Append drill entries until the trail holds `entries`, a batch per transaction."""
    from django.db import transaction

    from painpump.clinic import audit
    from painpump.clinic.models import AuditHead

    head = AuditHead.objects.get(id=1)
    for start in range(head.count, entries, PADDING_BATCH):
        with transaction.atomic():
            for number in range(start, min(start + PADDING_BATCH, entries)):
                audit.record("drill", "drill.padding", "drill", number, after={"n": number})


def run(patients: int, entries: int) -> Report:
    from django.core.management import call_command

    from painpump.clinic import audit, audit_checkpoints
    from painpump.clinic.demo import seed

    report = Report("tamper", "sqlite")
    call_command("migrate", interactive=False, verbosity=0)
    began = time.perf_counter()
    seed.seed(patients=patients, seed=1)
    _clinic_limit()
    _open_alarm()
    _unread_program()
    _pad(entries)
    report.figures["seed_seconds"] = round(time.perf_counter() - began, 1)
    clinic = _Clinic(Path.cwd())
    clinic.copy()
    began = time.perf_counter()
    intact = audit.verify()
    seconds = time.perf_counter() - began
    report.figures |= {
        "entries": intact.entries,
        "checkpoints": len(audit_checkpoints.path().read_text().splitlines()),
        "verify_seconds": round(seconds, 2),
        "verified_entries_per_second": round(intact.entries / seconds),
    }
    if not intact.ok:
        report.problems.append(f"the untouched trail does not verify: {intact.problem}")
    caught: dict[str, str] = {}
    for name, (tamper, phrase) in SCENARIOS.items():
        clinic.copy()
        tamper()
        outcome = audit.verify()
        if outcome.ok:
            report.problems.append(f"{name}: verify answered ok")
        elif not any(phrase in problem for problem in outcome.problems):
            report.problems.append(f"{name}: caught, but not by {phrase!r}: {outcome.problem}")
        caught[name] = outcome.problem[:160]
    report.figures["caught"] = caught
    report.figures["checkpoint_microseconds"] = _checkpoint_cost()
    return report


def _checkpoint_cost(times: int = 2000) -> float:
    """What a checkpoint adds to a write transaction (the head read, signed and appended to the
    file), in microseconds."""
    from painpump.clinic import audit_checkpoints

    began = time.perf_counter()
    for _ in range(times):
        audit_checkpoints.write()
    return round((time.perf_counter() - began) / times * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=SMALL["patients"])
    parser.add_argument("--entries", type=int, default=SMALL["entries"])
    options = parser.parse_args()
    from painpump.runtime import setup_django

    setup_django()
    print(json.dumps(run(options.patients, options.entries).as_json()))


if __name__ == "__main__":
    main()
