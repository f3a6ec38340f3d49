"""The session report of one programming of the pump with a prescription as a PDF, for a
titration between refills: the patient and pump, the prescription executed (drugs and
concentrations, program, patient boluses, phase, reason, the overrides given at prescribing and
its double-checks), the versions rejected and the accepts refused at the double-check on its way,
each setting before and after, the program before and after side by side, the warnings and the
overrides that passed them, who prescribed, double-checked and programmed it and when, the dates
the pump then gives, the programmer's readbacks (a difference, the incident it opened and its
closure) and lines for the signatures; "READBACK DIFFERS" in a box while the session is stopped.
Sections shared with the refill's report: web.reports.session_sections. Moments and dates read
on the clinic's wall clock and in its formats (the session's locale)."""

from __future__ import annotations

from reportlab.platypus import Flowable

from painpump.clinic.reads import drug_units
from painpump.clinic.reads.prescription_work import ReadbackSession
from painpump.clinic.reads.report_data import ProgrammingSession
from painpump.web.reports.layout import (
    banner,
    day,
    facts,
    gap,
    lines,
    moment,
    note,
    render,
    section,
    table,
    text,
)
from painpump.web.reports.session_sections import (
    before_after,
    double_check_words,
    patient_and_device,
    prescription_executed,
    readbacks,
    signature_lines,
    warnings_passed,
)

TITLE = "Programming session"
DIFFERS = "READBACK DIFFERS"
STOPPED = "stopped"
"""The state of a session whose readback differs or whose incident is open
(clinic.reads.prescription_history.Programming.state)."""
CHANGES = (0.26, 0.37, 0.37)
REFUSED = (0.2, 0.25, 0.55)
UNSET = "—"


def _subtitle(session: ProgrammingSession) -> str:
    at = moment(session.locale, session.programmed_at)
    occasion = "at a refill" if session.refill_id is not None else "between refills"
    return f"Programmed {occasion}, {at} · program {session.program_id}"


def _changes(session: ProgrammingSession, executed: ReadbackSession) -> list[Flowable]:
    if not session.changes:
        return [text("No setting changed.")]
    before = "Before" if session.replaced is None else f"Before (#{session.replaced})"
    after = f"After (#{executed.prescription.number})"
    rows = [
        [change.setting.capitalize(), change.before or UNSET, change.after or UNSET]
        for change in session.changes
    ]
    return [table(["Setting", before, after], rows, CHANGES)]


def _rejections(session: ProgrammingSession, executed: ReadbackSession) -> list[Flowable]:
    """The versions rejected before the one executed, and its accepts refused because entries
    differed (each entry as entered, in its drug's unit)."""
    locale = session.locale
    flow: list[Flowable] = []
    for rejected in session.rejected:
        flow.append(
            facts(
                [
                    (
                        f"Prescription #{rejected.number}",
                        f"by {rejected.prescribed_by} at "
                        f"{moment(locale, rejected.prescribed_at)}: {rejected.reason}",
                    ),
                    (
                        "Rejected",
                        f"by {rejected.rejected_by} at {moment(locale, rejected.rejected_at)}: "
                        f'"{rejected.comment}"',
                    ),
                ],
                columns=1,
            )
        )
        flow.append(gap())
    if session.refused:
        drug = drug_units.principal_of(executed.prescription)
        rows = [
            [
                attempt.by,
                moment(locale, attempt.at),
                lines(
                    *(
                        f"{entry['field']} entered as {entry['entered']}"
                        for entry in (
                            drug_units.entry_texts(vars(differed), drug)
                            for differed in attempt.differed
                        )
                    )
                ),
            ]
            for attempt in session.refused
        ]
        header = ["Accept refused", "At", "Entries that did not match"]
        flow.append(table(header, rows, REFUSED))
    return flow or [text("No version was rejected and no accept was refused at the double-check.")]


def _people(session: ProgrammingSession, executed: ReadbackSession) -> list[Flowable]:
    locale = session.locale
    record = executed.prescription
    checked = double_check_words(record.checked_by, record.checked_at, locale)
    refill_by = "not recorded"
    if session.refill_by is not None:
        refill_by = day(locale, session.refill_by)
        if session.limited_by is not None:
            refill_by += f", limited by the {session.limited_by.words}"
    rows: list[tuple[str, object]] = [
        ("Prescribed by", f"{record.prescribed_by} at {moment(locale, record.prescribed_at)}"),
        ("Double-checked by", checked or "not required (not a high-alert prescription)"),
        ("Programmed by", f"{session.programmed_by} at {moment(locale, session.programmed_at)}"),
        ("Phase", session.phase.value),
        ("Low-reservoir alarm expected", moment(locale, session.alarm_at) or "not recorded"),
        ("Reservoir empty", moment(locale, session.empty_at) or "not recorded"),
        ("Refill by", refill_by),
    ]
    return [facts(rows, columns=1)]


def _signatures(session: ProgrammingSession, executed: ReadbackSession) -> list[Flowable]:
    record = executed.prescription
    checked = double_check_words(record.checked_by, record.checked_at, session.locale)
    second = f"Second clinician (double-check: {checked})" if checked else "Second clinician"
    return signature_lines(
        f"Programmer ({session.programmed_by})",
        f"Prescribing physician ({record.prescribed_by})",
        second,
    )


def _differs_banner(executed: ReadbackSession) -> Flowable:
    return banner(
        DIFFERS,
        f"The programmer's readback differs from prescription #{executed.prescription.number}: "
        "the session stays stopped until the pump reads back as prescribed and a physician "
        "closes the incident.",
    )


def render_program_session(session: ProgrammingSession, executed: ReadbackSession) -> bytes:
    """The session report as PDF bytes; `executed`: the programming with the prescription it
    executed, its readbacks and the incidents they opened."""
    locale = session.locale
    story: list[Flowable] = [text(TITLE, "title"), text(_subtitle(session), "subtitle")]
    if executed.programming.state == STOPPED:
        story += [_differs_banner(executed), gap(6)]
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
        section("Prescription executed", *prescription_executed(executed, locale)),
        section("Rejected at the double-check", *_rejections(session, executed)),
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
