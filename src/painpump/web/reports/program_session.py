"""The session report of one programming of the pump with a prescription as a PDF, for a
titration between refills: the patient and pump, the prescription executed (drugs and
concentrations, program, patient boluses, phase, reason, the overrides given at prescribing and
its double-checks), its double-check history (the versions rejected, each accept refused),
each setting before and after, the program before and after side by side, the warnings and the
overrides that passed them, who prescribed, double-checked and programmed it and when, the dates
the pump then gives with its next refill visit now (and, boxed, that a later programming or
refill replaced those dates, with the pump's dates now), the programmer's readbacks (a
difference, the incident it opened and its closure) and lines for the signatures; "READBACK
DIFFERS" in a box on page 1 while the session is stopped.
Sections shared with the refill's report: web.reports.session_sections. Moments and dates read
on the clinic's wall clock and in its formats (the session's locale)."""

from __future__ import annotations

from reportlab.platypus import Flowable

from painpump.clinic.models import Prescription
from painpump.clinic.reads import prescriptions
from painpump.clinic.reads.prescription_work import ReadbackSession
from painpump.clinic.reads.report_data import ProgrammingSession
from painpump.core import prescription as rx
from painpump.web.reports.layout import (
    day,
    facts,
    gap,
    moment,
    note,
    render,
    section,
    table,
    text,
)
from painpump.web.reports.session_sections import (
    before_after,
    dates_now,
    differs_banner,
    double_check_history,
    double_check_words,
    next_visit,
    patient_and_device,
    prescription_executed,
    readbacks,
    session_signatures,
    warnings_passed,
    with_weekly_averages,
)

TITLE = "Programming session"
HISTORY = "Double-check history"
"""The section of the versions rejected and the accepts refused (at the one executed too)."""
CHANGES = (0.26, 0.37, 0.37)
UNSET = "—"


def _subtitle(session: ProgrammingSession) -> str:
    at = moment(session.locale, session.programmed_at)
    occasion = "at a refill" if session.refill_id is not None else "between refills"
    return f"Programmed {occasion}, {at} · program {session.program_id}"


def _changes(session: ProgrammingSession, executed: ReadbackSession) -> list[Flowable]:
    record = executed.prescription
    changes = with_weekly_averages(
        session.changes, _replaced(record, session.replaced), prescriptions.as_core(record)
    )
    if not changes:
        return [text("No setting changed.")]
    before = "Before" if session.replaced is None else f"Before (#{session.replaced})"
    after = f"After (#{record.number})"
    rows = [
        [change.setting.capitalize(), change.before or UNSET, change.after or UNSET]
        for change in changes
    ]
    return [table(["Setting", before, after], rows, CHANGES)]


def _replaced(record: Prescription, number: int | None) -> rx.Prescription | None:
    """The prescription numbered `number` of `record`'s pump (the one the pump ran before)."""
    if number is None:
        return None
    replaced = Prescription.objects.filter(implant_id=record.implant_id, number=number).first()
    return None if replaced is None else prescriptions.as_core(replaced)


def _people(session: ProgrammingSession, executed: ReadbackSession) -> list[Flowable]:
    locale = session.locale
    record = executed.prescription
    checked = double_check_words(record.checked_by, record.checked_at, locale)
    refill_by = "not recorded"
    stopped = record.program_kind == rx.ProgramKind.STOPPED
    absent = (
        f"none: the pump is stopped since {moment(locale, session.programmed_at)}"
        if stopped
        else "not recorded"
    )
    if session.refill_by is not None:
        refill_by = day(locale, session.refill_by)
        if session.limited_by is not None:
            refill_by += f", limited by the {session.limited_by.words}"
    rows: list[tuple[str, object]] = [
        ("Prescribed by", f"{record.prescribed_by} at {moment(locale, record.prescribed_at)}"),
        ("Double-checked by", checked or "not required (not a high-alert prescription)"),
        ("Programmed by", f"{session.programmed_by} at {moment(locale, session.programmed_at)}"),
        ("Phase", session.phase.value),
        ("Low-reservoir alarm expected", moment(locale, session.alarm_at) or absent),
        ("Reservoir empty", moment(locale, session.empty_at) or absent),
        ("Refill by", refill_by),
        ("Next refill visit (as stored now)", next_visit(session.since, session.device, locale)),
    ]
    return [facts(rows, columns=1), *dates_now(session.since, session.device, locale)]


def _signatures(session: ProgrammingSession, executed: ReadbackSession) -> list[Flowable]:
    record = executed.prescription
    checked = double_check_words(record.checked_by, record.checked_at, session.locale)
    return session_signatures(
        f"Programmer ({session.programmed_by})", record.prescribed_by, checked
    )


def render_program_session(session: ProgrammingSession, executed: ReadbackSession) -> bytes:
    """The session report as PDF bytes; `executed`: the programming with the prescription it
    executed, its readbacks and the incidents they opened."""
    locale = session.locale
    story: list[Flowable] = [text(TITLE, "title"), text(_subtitle(session), "subtitle")]
    story += differs_banner(executed)
    if session.refill_id is not None:
        story += [
            note(
                "The fill, the reconciliation and the verification of this refill are on its "
                f"session report (refill {session.refill_id})."
            ),
            gap(6),
        ]
    story += [
        section(
            "Patient, pump and catheter",
            *patient_and_device(session.patient, session.device, locale),
        ),
        section("Prescription executed", *prescription_executed(executed, session.refused, locale)),
        section(
            HISTORY,
            *double_check_history(session.history, session.refused, executed, locale),
        ),
        section("Settings before and after", *_changes(session, executed)),
        section("Program before and after", *before_after(session.before, session.after, locale)),
        section(
            "Warnings",
            *warnings_passed(
                session.warnings, session.overrides_without_record, locale, "programming"
            ),
        ),
        section("Prescribed, double-checked and programmed", *_people(session, executed)),
        section("Programmer readback", *readbacks(executed, locale)),
        section("Signatures", *_signatures(session, executed)),
        gap(10),
        note(
            "Settings, doses and dates are the stored records of this programming and its "
            "prescription, each quantity in its drug's unit. Check them against the labeling of "
            "the drugs and devices you use."
        ),
    ]
    return render(
        story,
        title=TITLE,
        identity=session.patient,
        printed_at=session.printed_at,
        locale=locale,
    )
