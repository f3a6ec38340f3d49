"""What the printable reports gather: the session of a refill that changed the concentration
(reconciliation with its reason and thresholds, program before and after, bridge with its duration,
the overridden warning with its stored message and source and the reason typed for it, verification
or its absence, the appointment) and the clinician summary of the patient; each carries the clinic's
locale and counts days taken from a moment on the clinic's calendar; each read checks the role, is
audited, and an unknown id is NotFound."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from frozen import NOW, ZONE_NAME, at
from painpump.clinic.actions import patients
from painpump.clinic.errors import NotFound
from painpump.clinic.models import Appointment, AuditEntry, ClinicSettings, Implant, Patient, Refill
from painpump.clinic.reads import report_data
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import CARRIED_OVER
from painpump.core.overrides import GivenAt
from painpump.core.units import Q
from report_scenario import (
    DAY_60,
    OVERRIDE_REASON,
    PRESCRIBED_AT,
    changed_concentration,
    first_fill_on_the_prescribers_reason,
    history,
    verified,
)

pytestmark = pytest.mark.django_db


def test_the_session_of_a_concentration_change_shows_what_was_in_and_what_was_put_in(
    implant: Implant, nurse: User, physician: User
) -> None:
    refill = changed_concentration(nurse, implant)
    session = report_data.refill_session(physician, refill.id, now=NOW)
    assert session.patient.mrn == "MRN-0001"
    assert session.device.serial == "NGP123456H"
    assert session.device.dead_volume == Q(Decimal("0.25"), "mL")
    check = session.reconciliation
    assert check is not None
    assert (str(check.expected), str(check.aspirated), str(check.difference)) == (
        "8 mL",
        "6 mL",
        "-2 mL",
    )
    assert check.finding == "overinfusion"
    assert "suspect overinfusion" in check.reason
    assert check.accuracy.startswith("+/-")
    assert check.accuracy_source
    assert str(check.programmed_since_fill) == "12 mL"  # the 20 mL fill less the 8 mL expected
    assert [str(d) for d in session.drugs] == ["baclofen 1000 mcg/mL"]
    assert str(session.volume) == "18 mL" and session.lot == "LOT-42"
    assert session.before is not None
    assert [str(d) for d in session.before.drugs] == ["baclofen 2000 mcg/mL"]
    assert (str(session.before.rate), str(session.after.rate)) == ("0.2 mL/day", "0.4 mL/day")
    assert str(session.before.dose) == str(session.after.dose) == "400 mcg/day"
    assert session.after.mode == "continuous"
    assert str(session.before.programmed_by) == "programmed by dr.house at a refill"
    assert str(session.after.programmed_by) == "programmed by nurse.joy at a refill"
    assert session.bridge is not None
    # 0.25 mL of 2000 mcg/mL at 0.2 mL/day lasts 1.25 days (core.volumes.bridge)
    assert str(session.bridge.rate) == "0.2 mL/day"
    assert str(session.bridge.duration) == "30 hour"


def test_the_overridden_warning_keeps_its_message_source_and_the_reason_who_and_when(
    implant: Implant, nurse: User, physician: User
) -> None:
    refill = changed_concentration(nurse, implant)
    session = report_data.refill_session(physician, refill.id, now=NOW)
    (warning,) = session.warnings
    assert warning.rule == "reconciliation"
    assert "suspect overinfusion" in warning.message
    assert warning.source
    passed = warning.override
    assert passed is not None and passed.reason == OVERRIDE_REASON
    assert (passed.by, passed.at, passed.where) == (
        "nurse.joy",
        refill.performed_at,
        GivenAt.REFILL,
    )
    assert session.overrides_without_record == ()


def test_an_override_the_prescriber_gave_is_the_prescribers_not_the_nurses_who_filled(
    patient: Patient, physician: User, pharmacist: User, nurse: User
) -> None:
    """The nurse typed no reason: the start-dose warning passed on the physician's, given when
    signing the prescription, and the session and the summary say so."""
    refill = first_fill_on_the_prescribers_reason(physician, pharmacist, nurse, patient)
    session = report_data.refill_session(physician, refill.id, now=NOW)
    [warning] = [w for w in session.warnings if w.rule == "max_start_dose"]
    passed = warning.override
    assert passed is not None and passed.reason == CARRIED_OVER["max_start_dose"]
    assert (passed.by, passed.at, passed.where) == ("dr.house", PRESCRIBED_AT, GivenAt.PRESCRIBING)
    summary = report_data.patient_summary(physician, patient.id, now=NOW)
    [given] = [o for r in summary.refills.items for o in r.overrides]
    assert (given.by, given.at, given.where) == ("dr.house", PRESCRIBED_AT, GivenAt.PRESCRIBING)


def test_the_prescribers_very_words_typed_by_the_nurse_are_the_nurses(
    patient: Patient, physician: User, pharmacist: User, nurse: User
) -> None:
    """Regression: who gave an override was decided by comparing the refill's reason with the
    prescription's, so the nurse's reason in the prescriber's words went to the prescriber."""
    refill = first_fill_on_the_prescribers_reason(
        physician, pharmacist, nurse, patient, typed=CARRIED_OVER
    )
    session = report_data.refill_session(physician, refill.id, now=NOW)
    [warning] = [w for w in session.warnings if w.rule == "max_start_dose"]
    passed = warning.override
    assert passed is not None and passed.reason == CARRIED_OVER["max_start_dose"]
    assert (passed.by, passed.at, passed.where) == (
        "nurse.joy",
        refill.performed_at,
        GivenAt.REFILL,
    )
    summary = report_data.patient_summary(physician, patient.id, now=NOW)
    [given] = [o for r in summary.refills.items for o in r.overrides]
    assert (given.by, given.where, given.as_recorded) == ("nurse.joy", GivenAt.REFILL, False)


def test_an_override_stored_before_where_it_was_given_was_kept_is_the_performers_as_recorded(
    patient: Patient, physician: User, pharmacist: User, nurse: User
) -> None:
    """No words are compared: the prescriber's reason on a refill stored without where it was
    given is credited to the nurse who performed it, worded as recorded."""
    refill = first_fill_on_the_prescribers_reason(physician, pharmacist, nurse, patient)
    older = [{"rule": o["rule"], "reason": o["reason"]} for o in refill.acknowledged]
    Refill.objects.filter(id=refill.id).update(acknowledged=older)
    session = report_data.refill_session(physician, refill.id, now=NOW)
    [warning] = [w for w in session.warnings if w.rule == "max_start_dose"]
    passed = warning.override
    assert passed is not None and passed.reason == CARRIED_OVER["max_start_dose"]
    assert (passed.by, passed.at, passed.where) == (
        "nurse.joy",
        refill.performed_at,
        GivenAt.REFILL,
    )
    assert passed.as_recorded and "as recorded" in passed.words


def test_a_refill_recorded_before_warnings_or_reasons_were_stored_names_the_rules_passed(
    implant: Implant, nurse: User, physician: User
) -> None:
    refill = changed_concentration(nurse, implant)
    Refill.objects.filter(id=refill.id).update(warnings=[], acknowledged=["reconciliation"])
    session = report_data.refill_session(physician, refill.id, now=NOW)
    assert session.warnings == ()
    (passed,) = session.overrides_without_record
    assert passed.rule == "reconciliation" and "before reasons were recorded" in passed.reason


def test_an_unverified_change_is_flagged_and_a_verified_one_names_the_second_clinician(
    implant: Implant, nurse: User, pharmacist: User
) -> None:
    refill = changed_concentration(nurse, implant)
    unverified = report_data.refill_session(pharmacist, refill.id, now=NOW)
    assert unverified.awaiting_verification
    assert unverified.performed_by == "nurse.joy" and unverified.performed_at == DAY_60
    verified(pharmacist, refill)
    done = report_data.refill_session(pharmacist, refill.id, now=NOW)
    assert not done.awaiting_verification
    assert done.verified_by == "pharma.cist"
    assert done.verified_at is not None


def test_the_session_names_the_refill_by_date_and_the_pumps_next_visit(
    implant: Implant, nurse: User
) -> None:
    refill = changed_concentration(nurse, implant)
    session = report_data.refill_session(nurse, refill.id, now=NOW)
    assert session.refill_by == refill.refill_by
    assert session.since.pump is not None
    visit = session.since.pump.visit
    assert visit is not None
    assert visit.due_by == refill.refill_by
    assert visit.on <= refill.refill_by
    assert session.since.replaced_by is None and not session.since.moved


def test_the_session_carries_the_appointments_start_and_its_late_reason(
    implant: Implant, nurse: User
) -> None:
    refill = changed_concentration(nurse, implant)
    starts = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    Appointment.objects.filter(due_by=refill.refill_by).update(
        starts_at=starts, minutes=30, overdue=True, late_reason="patient abroad"
    )
    pump = report_data.refill_session(nurse, refill.id, now=NOW).since.pump
    assert pump is not None and pump.visit is not None
    line = pump.visit
    assert (line.starts_at, line.overdue, line.late_reason) == (starts, True, "patient abroad")


def test_both_reports_carry_the_clinics_locale(implant: Implant, nurse: User) -> None:
    ClinicSettings.objects.update_or_create(id=1, defaults={"date_format": "dmy_dots"})
    session = report_data.refill_session(nurse, Refill.objects.get().id, now=NOW)
    summary = report_data.patient_summary(nurse, implant.episode.patient_id, now=NOW)
    for locale in (session.locale, summary.locale):
        assert locale.zone.key == ZONE_NAME
        assert locale.format_date(date(2026, 11, 25)) == "25.11.2026"


def test_the_first_fill_has_nothing_to_reconcile_and_no_program_before(
    implant: Implant, nurse: User
) -> None:
    first = Refill.objects.get(implant=implant)
    session = report_data.refill_session(nurse, first.id, now=NOW)
    assert session.first_fill
    assert session.reconciliation is None
    assert session.before is None
    assert session.bridge is None
    # her established dose, above the label's start: passed with the prescriber's reason, which
    # a second clinician double-checked before the fill, so nothing waits for verification
    (warning,) = session.warnings
    assert warning.rule == "max_start_dose" and warning.override is not None
    assert warning.override.reason == CARRIED_OVER["max_start_dose"]
    assert not session.awaiting_verification


def test_reading_a_session_report_is_audited(implant: Implant, nurse: User, auditor: User) -> None:
    refill = changed_concentration(nurse, implant)
    report_data.refill_session(auditor, refill.id, now=NOW)
    entry = AuditEntry.objects.filter(action="report.refill_session").get()
    assert entry.actor == "audi.tor"
    assert entry.object_id == str(refill.id)
    assert entry.patient_id == implant.episode.patient_id


def test_an_admin_may_not_read_either_report_and_nothing_is_audited(
    implant: Implant, admin: User
) -> None:
    with pytest.raises(Forbidden):
        report_data.refill_session(admin, Refill.objects.get().id, now=NOW)
    with pytest.raises(Forbidden):
        report_data.patient_summary(admin, implant.episode.patient_id, now=NOW)
    assert not AuditEntry.objects.filter(action__startswith="report.").exists()


def test_unknown_ids_are_not_found(nurse: User) -> None:
    with pytest.raises(NotFound):
        report_data.refill_session(nurse, uuid4(), now=NOW)
    with pytest.raises(NotFound):
        report_data.patient_summary(nurse, uuid4(), now=NOW)


def test_the_summary_gathers_therapy_doses_refills_alarms_and_outcomes(
    implant: Implant, nurse: User, physician: User
) -> None:
    refill = changed_concentration(nurse, implant)
    history(nurse, implant)
    summary = report_data.patient_summary(physician, implant.episode.patient_id, now=NOW)
    (episode,) = summary.episodes
    assert episode.indication == "Spasticity: stroke"
    assert episode.outcome == "responder"
    steps = [d.step for d in episode.dates]
    assert steps[0] == "referral" and "implant" in steps
    (device,) = summary.devices
    assert device.serial == "NGP123456H"
    assert summary.programs.total == 2 and not summary.programs.bounded
    assert summary.current is not None
    assert str(summary.current.rate) == "0.4 mL/day"
    assert [str(d) for d in summary.current.drugs] == ["baclofen 1000 mcg/mL"]
    assert [str(d) for d in summary.programs.items[0].drugs] == ["baclofen 2000 mcg/mL"]
    assert summary.refills.total == 2
    last = summary.refills.items[-1]
    assert last.finding == "overinfusion" and last.delivery_error == "16.67 %"
    assert last.needs_verification and not last.verified_by
    assert summary.refills.items[0].finding == "first fill"
    assert summary.alarms.total == 1 and summary.open_alarms == 1
    assert summary.alarms.items[0].acknowledged_at is None
    pain = next(s for s in summary.outcomes if s.kind == "pain_nrs")
    assert pain.before is not None and pain.now is not None
    assert (pain.before.shown, pain.now.shown) == ("7", "3")
    ashworth = next(s for s in summary.outcomes if s.kind == "ashworth")
    assert ashworth.limb == "left_leg"
    assert refill.refill_by == summary.refills.items[-1].refill_by


def test_an_ashworth_grade_of_1_plus_reads_as_the_scale_writes_it(
    implant: Implant, nurse: User, physician: User
) -> None:
    patients.record_assessment(
        nurse,
        implant.episode_id,
        kind="ashworth",
        value="1.5",
        limb="left_leg",
        taken_at=at(-1, 9),
    )
    summary = report_data.patient_summary(physician, implant.episode.patient_id, now=NOW)
    ashworth = next(s for s in summary.outcomes if s.kind == "ashworth")
    assert ashworth.now is not None and ashworth.now.shown == "1+"
    assert ashworth.limb_words == "left leg"


def test_a_long_history_is_bounded_to_the_newest_entries_with_the_total_stated(
    implant: Implant, nurse: User, physician: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed_concentration(nurse, implant)
    monkeypatch.setattr(report_data, "RECENT_REFILLS", 1)
    monkeypatch.setattr(report_data, "RECENT_PROGRAMS", 1)
    summary = report_data.patient_summary(physician, implant.episode.patient_id, now=NOW)
    assert summary.refills.total == 2 and len(summary.refills.items) == 1
    assert summary.refills.bounded
    assert summary.refills.items[0].finding == "overinfusion"  # the newest
    assert summary.programs.total == 2 and len(summary.programs.items) == 1
    assert summary.programs.items[0].ended_at is None


def test_reading_the_summary_is_audited(implant: Implant, pharmacist: User) -> None:
    report_data.patient_summary(pharmacist, implant.episode.patient_id, now=NOW)
    entry = AuditEntry.objects.filter(action="report.patient_summary").get()
    assert entry.actor == "pharma.cist"
    assert entry.patient_id == implant.episode.patient_id


def test_an_assessment_on_the_evening_before_the_implant_day_counts_as_before_it(
    implant: Implant, nurse: User, physician: User
) -> None:
    # 02:00 UTC on the implant day is 21:00 or 22:00 the evening before in New York
    implanted_on = implant.implanted_on
    evening_before = datetime.combine(implanted_on, time(2, 0), tzinfo=UTC)
    for value, taken_at in [
        ("6", evening_before),
        ("3", evening_before + timedelta(days=30)),
    ]:
        patients.record_assessment(
            nurse, implant.episode_id, kind="pain_nrs", value=value, limb="", taken_at=taken_at
        )
    summary = report_data.patient_summary(physician, implant.episode.patient_id, now=NOW)
    pain = next(s for s in summary.outcomes if s.kind == "pain_nrs")
    assert pain.before is not None and pain.before.shown == "6"
    assert pain.now is not None and pain.now.shown == "3"


def test_the_summary_prints_the_pump_s_stored_dates_and_its_next_refill_visit(
    implant: Implant, physician: User
) -> None:
    summary = report_data.patient_summary(physician, implant.episode.patient_id, now=NOW)
    stored = Implant.objects.get(id=implant.id)
    visit = Appointment.objects.get(kind="refill", status="proposed")
    found = summary.next_refill
    assert found is not None
    assert (found.alarm_at, found.empty_at, found.refill_by) == (
        stored.alarm_at,
        stored.empty_at,
        stored.refill_by,
    )
    assert found.visit is not None
    assert (found.visit.starts_at, found.visit.status, found.visit.overdue) == (
        visit.starts_at,
        "proposed",
        visit.overdue,
    )
