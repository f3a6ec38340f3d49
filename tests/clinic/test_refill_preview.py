"""Refills, prescriptions and programmings previewed before they are committed: the review shows
what the service then records (rate, projection, bridge, appointment, four-eyes flag), a hard
limit comes back as the stop that the confirmation would raise, a reason counts only for the
warning it was typed for, a form opened before someone else's change is a conflict, and the
recorded refill reads back with its reconciliation and warnings for the second clinician."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from painpump.clinic.actions import settings_service
from painpump.clinic.actions.programs import program_pump
from painpump.clinic.actions.refills import confirm_refill, verify_refill
from painpump.clinic.errors import Conflict
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import Appointment, AuditEntry, Implant, Prescription, Program, Refill
from painpump.clinic.reads.prescription_history import preview_prescription
from painpump.clinic.reads.program_preview import (
    preview_program_change,
    program_record,
)
from painpump.clinic.reads.refill_preview import (
    override_reasons,
    preview_refill,
    warning_key,
)
from painpump.clinic.reads.refill_record import refill_record
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import prescription as rx
from painpump.core.decision import Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
REASON = "residual re-measured, pump interrogated again"
EXPECTED = parse("8 mL", Kind.VOLUME, "expected")
DOSE = parse("400 mcg/day", Kind.DOSE_RATE, "dose")


def volume(text: str) -> Q:
    return parse(text, Kind.VOLUME, "v")


def half_prescribed(physician: User, pharmacist: User, implant: Implant) -> Prescription:
    """Baclofen 1000 mcg/mL at the same dose, prescribed and double-checked on day 60."""
    return prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen("1000 mcg/mL"),
        DOSE,
        at=DAY_60 - timedelta(hours=2),
    )


def continuous(fill: Fill, dose: Q) -> rx.Prescription:
    return rx.Prescription(fill.drugs, rx.PrescribedProgram.continuous(dose))


def confirm(
    user: User,
    implant: Implant,
    *,
    aspirated: str = "8 mL",
    fill: Fill | None = None,
    dose: Q = DOSE,
    overrides: dict[str, str] | None = None,
    key: str = "web-1",
    version: int | None = None,
) -> Refill:
    return confirm_refill(
        user,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version if version is None else version,
        idempotency_key=key,
        performed_at=DAY_60,
        expected=EXPECTED,
        aspirated=volume(aspirated),
        fill=fill or baclofen(),
        dose=dose,
        overrides=overrides or {},
    )


def test_the_preview_shows_what_the_refill_then_records(implant: Implant, nurse: User) -> None:
    preview = preview_refill(
        nurse,
        implant.id,
        at=DAY_60,
        expected=EXPECTED,
        aspirated=volume("8 mL"),
        fill=baclofen(),
        dose=DOSE,
    )
    assert preview.stop is None and not preview.warnings
    assert preview.reconciliation is not None and preview.reconciliation.finding == "none"
    assert preview.programmed == volume("12 mL")
    assert preview.before.dose == DOSE and preview.before.reservoir == EXPECTED
    assert preview.after is not None and preview.appointment is not None
    refill = confirm(nurse, implant)
    assert preview.after.rate is not None
    assert preview.after.rate.canonical == refill.program.rate_ml_per_day == Decimal("0.2")
    assert (preview.after.alarm_at, preview.after.empty_at, preview.after.refill_by) == (
        refill.alarm_at,
        refill.empty_at,
        refill.refill_by,
    )
    booked = Appointment.objects.exclude(status="done").get()
    assert booked.on == preview.appointment.day
    assert not preview.needs_verification and not refill.needs_verification


def test_an_overinfusion_is_a_warning_with_the_pump_accuracy_and_the_pocket_fill_threshold(
    implant: Implant, nurse: User
) -> None:
    preview = preview_refill(
        nurse, implant.id, at=DAY_60, expected=EXPECTED, aspirated=volume("6 mL")
    )
    check = preview.reconciliation
    assert check is not None and check.finding == "overinfusion"
    assert check.accuracy_percent == Decimal("14.5")
    assert check.consequential and check.consequential_limit is not None
    assert "Maino" in check.consequential_limit.source
    [warning] = preview.warnings
    assert warning.rule == "reconciliation" and "ECRI" in warning.source
    refill = confirm(
        nurse,
        implant,
        aspirated="6 mL",
        overrides=override_reasons(preview.warnings, {warning_key(warning): REASON}),
    )
    assert refill.needs_verification
    assert refill.warnings[0]["message"] == warning.message


def test_a_concentration_change_previews_the_bridge_it_records(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    half = baclofen("1000 mcg/mL")
    half_prescribed(physician, pharmacist, implant)
    preview = preview_refill(
        nurse,
        implant.id,
        at=DAY_60,
        expected=EXPECTED,
        aspirated=volume("8 mL"),
        fill=half,
        dose=DOSE,
    )
    assert preview.bridge is not None
    assert preview.prescription is not None and preview.prescription.number == 2
    # double-checked before: nothing left for a second clinician after the refill
    assert not preview.needs_verification
    refill = confirm(nurse, implant, fill=half)
    assert preview.bridge.bridge_rate.canonical == refill.bridge_rate_ml_per_day
    assert preview.bridge.bridge_volume.canonical == refill.bridge_volume_ml
    assert not refill.needs_verification


@pytest.mark.parametrize(
    ("concentration", "limit"),
    [
        ("3000 mcg/mL", "<= 2000 mcg/mL (hard limit: no override)"),
        (
            "2000 mg/mL",
            "concentration within 50 mcg/mL to 2000 mcg/mL (usual range) (hard limit: no override)",
        ),
    ],
    ids=["above-the-label", "mg-for-mcg"],
)
def test_a_hard_limit_is_the_stop_of_the_preview_and_names_the_concentration(
    implant: Implant, physician: User, nurse: User, concentration: str, limit: str
) -> None:
    """Previewed as a prescription, the concentration's hard limit is the stop; a refill with it
    is refused as not prescribed."""
    preview = preview_prescription(
        physician, implant.id, continuous(baclofen(concentration), DOSE), at=DAY_60
    )
    assert preview.stop is not None
    assert preview.stop.field == "drugs[0]"
    assert preview.stop.limit == limit
    with pytest.raises(Refusal, match="differs from the prescription"):
        preview_refill(
            nurse,
            implant.id,
            at=DAY_60,
            expected=EXPECTED,
            aspirated=volume("8 mL"),
            fill=baclofen(concentration),
            dose=DOSE,
        )
    assert Refill.objects.count() == 1
    assert Prescription.objects.count() == 1


def test_an_overfill_is_the_stop_of_the_preview(implant: Implant, nurse: User) -> None:
    preview = preview_refill(
        nurse,
        implant.id,
        at=DAY_60,
        expected=EXPECTED,
        aspirated=volume("8 mL"),
        fill=baclofen(volume="21 mL"),
        dose=DOSE,
    )
    assert preview.stop is not None and preview.stop.field == "volume"
    assert "pump reservoir" in preview.stop.limit


def test_a_nurse_may_not_preview_a_new_dose_and_an_auditor_no_refill(
    implant: Implant, nurse: User, auditor: User
) -> None:
    new_dose = parse("440 mcg/day", Kind.DOSE_RATE, "dose")
    with pytest.raises(Refusal) as caught:
        preview_refill(
            nurse,
            implant.id,
            at=DAY_60,
            expected=EXPECTED,
            aspirated=volume("8 mL"),
            fill=baclofen(),
            dose=new_dose,
        )
    assert caught.value.field == "dose"
    assert caught.value.limit.endswith("signed by a physician")
    with pytest.raises(Forbidden, match="physician"):
        preview_prescription(nurse, implant.id, continuous(baclofen(), new_dose), at=DAY_60)
    with pytest.raises(Forbidden):
        preview_refill(auditor, implant.id, at=DAY_60)


def test_looking_at_a_refill_before_it_is_done_is_audited(implant: Implant, nurse: User) -> None:
    preview_refill(nurse, implant.id, at=DAY_60, expected=EXPECTED, aspirated=volume("8 mL"))
    entry = AuditEntry.objects.filter(action="refill.preview").get()
    assert entry.actor == "nurse.joy" and entry.patient_id == implant.episode.patient_id


def test_a_reason_counts_only_for_the_warning_it_was_typed_for() -> None:
    shown = Finding("max_daily_dose", Verdict.WARN, "1200 mcg/day exceeds 1000", "<= 1000", "x")
    other = Finding("max_daily_dose", Verdict.WARN, "1300 mcg/day exceeds 1000", "<= 1000", "x")
    assert warning_key(shown) != warning_key(other)
    typed = {warning_key(shown): f"  {REASON}  "}
    assert override_reasons([shown], typed) == {"max_daily_dose": REASON}
    assert override_reasons([other], typed) == {}
    assert override_reasons([shown, other], typed) == {}
    assert override_reasons([shown], {warning_key(shown): "   "}) == {}


def test_a_form_opened_before_another_refill_is_a_conflict_and_a_retry_is_not(
    implant: Implant, nurse: User
) -> None:
    opened = Implant.objects.get(id=implant.id).version
    first = confirm(nurse, implant, key="web-1", version=opened)
    assert confirm(nurse, implant, key="web-1", version=opened).id == first.id
    with pytest.raises(Conflict):
        confirm(nurse, implant, key="web-2", version=opened)
    assert Refill.objects.count() == 2


def test_the_recorded_refill_reads_back_with_its_reconciliation_and_verification(
    implant: Implant, nurse: User, physician: User
) -> None:
    preview = preview_refill(
        nurse, implant.id, at=DAY_60, expected=EXPECTED, aspirated=volume("6 mL")
    )
    refill = confirm(
        nurse,
        implant,
        aspirated="6 mL",
        overrides=override_reasons(
            preview.warnings, {warning_key(w): REASON for w in preview.warnings}
        ),
    )
    mine = refill_record(nurse, refill.id)
    assert mine.reconciliation is not None
    # the warning also words the aspirate against the pump's twin (the page shows the twin's
    # figure stored beside it); the reconciliation recomputed from the volumes does not
    assert preview.warnings[0].message.startswith(
        f"{mine.reconciliation.message}; the pump's twin expects 8 mL from the recorded history"
    )
    assert mine.twin_expected is not None and str(mine.twin_expected.least) == "8 mL"
    assert mine.before.dose == DOSE and mine.before.reservoir == EXPECTED
    assert mine.after.reservoir == volume("20 mL")
    assert [w.rule for w in mine.warnings] == ["reconciliation"]
    assert "pharmacist or physician" in mine.verification
    assert mine.appointment is not None and mine.appointment.due_by == refill.refill_by
    assert refill_record(physician, refill.id).verification == ""
    verify_refill(physician, refill.id, DAY_60)
    assert refill_record(nurse, refill.id).verification == "verified"


def test_the_clinician_who_refilled_is_told_someone_else_must_verify(
    implant: Implant, physician: User
) -> None:
    refill = confirm(physician, implant, aspirated="6 mL", overrides={"reconciliation": REASON})
    assert "you performed this refill" in refill_record(physician, refill.id).verification


def test_a_titration_preview_shows_what_the_programming_then_records(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    now = FIRST_FILL + timedelta(days=10)
    dose = parse("440 mcg/day", Kind.DOSE_RATE, "dose")
    prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=now)
    preview = preview_program_change(nurse, implant.id, at=now)
    assert preview.stop is None and preview.after is not None
    assert preview.prescription.number == 2
    assert preview.before.reservoir == volume("18 mL")  # 10 days at 0.2 mL/day
    program = program_pump(nurse, implant.id, expected_version=preview.version, now=now)
    implant.refresh_from_db()
    assert preview.after.rate is not None
    assert preview.after.rate.canonical == program.rate_ml_per_day == Decimal("0.22")
    assert (preview.after.alarm_at, preview.after.refill_by) == (
        implant.alarm_at,
        implant.refill_by,
    )
    record = program_record(physician, program.id)
    assert record.before.dose == DOSE and record.after.dose == dose
    assert record.after.refill_by == implant.refill_by
    prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        parse("480 mcg/day", Kind.DOSE_RATE, "dose"),
        at=now + timedelta(days=2),
    )
    with pytest.raises(Conflict):  # the form was opened before the last prescription
        program_pump(nurse, implant.id, expected_version=preview.version, now=now)
    assert Program.objects.filter(implant=implant).count() == 2


def test_a_titration_record_shows_the_dates_it_recorded_after_the_settings_change(
    implant: Implant, physician: User, pharmacist: User, admin: User
) -> None:
    now = FIRST_FILL + timedelta(days=10)
    dose = parse("440 mcg/day", Kind.DOSE_RATE, "dose")
    prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=now)
    program = program_pump(
        physician,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=now,
    )
    recorded = program_record(physician, program.id)
    settings = clinic_settings()
    margin = settings.refill_margin_days + 7
    settings_service.update_settings(
        admin, expected_version=settings.version, refill_margin_days=margin
    )
    again = program_record(physician, program.id)
    assert again.after == recorded.after and again.after.refill_by == program.refill_by
    # the program it replaced shows the projection it ran with (the first fill's)
    first = Refill.objects.get(implant=implant)
    assert (again.before.alarm_at, again.before.refill_by) == (first.alarm_at, first.refill_by)


def test_a_titration_step_beyond_the_label_is_the_stop_and_nurses_may_not_prescribe(
    implant: Implant, physician: User, nurse: User
) -> None:
    now = FIRST_FILL + timedelta(days=10)
    too_much = continuous(baclofen(), parse("600 mcg/day", Kind.DOSE_RATE, "dose"))
    preview = preview_prescription(physician, implant.id, too_much, at=now)
    assert preview.stop is not None and "max_step_percent" in preview.stop.problem
    assert preview.needs_double_check
    with pytest.raises(Forbidden, match="physician"):
        preview_prescription(nurse, implant.id, too_much, at=now)
    with pytest.raises(Refusal, match="is not ready to program"):
        preview_program_change(nurse, implant.id, at=now)
