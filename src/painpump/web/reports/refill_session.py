"""The refill/programming session report of one refill as a PDF: the patient and device, what
was in the pump (with the patient-bolus counts it reported) and what its reconciliation says,
what was put in, the program before and after side by side, the bridge, the warnings and the
overrides that passed them (reason, who, when and where: the prescriber's at prescribing, or
given at the refill), who performed and who verified it ("NOT YET VERIFIED" in a box when a
required verification is missing; who double-checked the prescription and when, where that made
a verification unnecessary, also beside the second clinician's signature line), the dates the
refill gave and the pump's next refill visit now (boxed, when a later programming or refill
replaced those dates, with the pump's dates now); the prescription the session executed with its
double-checks and the worst day with every patient bolus, its double-check history (the versions
rejected, each accept refused), the programmer's readbacks (what was read back, names, times, each
difference from what was prescribed or expected, the incident a difference opened and its
closure or that it is open; "READBACK DIFFERS" in a box on page 1 while the session is stopped)
and lines for the signatures of the nurse, the prescribing physician and the second clinician
(the sections it shares with the programming report: web.reports.session_sections). Moments and
dates read on the clinic's wall clock and in its formats (the session's locale)."""

from __future__ import annotations

from reportlab.platypus import Flowable

from painpump.clinic.reads.prescription_work import ReadbackSession
from painpump.clinic.reads.report_data import ReconciliationLine, RefillSession
from painpump.core.refill import DeliveryFinding, beyond_pocket_fill
from painpump.core.units import side_by_side
from painpump.web.reports.layout import (
    banner,
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
)
from painpump.web.templatetags.syringe_reading import (
    NOT_MEANINGFUL,
    reading_words,
    within_reading,
)

TITLE = "Refill and programming session"
HISTORY = "Double-check history"
"""The section of the versions rejected and the accepts refused (at the one executed too)."""
NOT_VERIFIED = "NOT YET VERIFIED"


def _in_the_pump(session: RefillSession) -> list[Flowable]:
    check = session.reconciliation
    if check is None:
        return [text("First fill of this pump: there was no residual to aspirate or reconcile.")]
    return [*_reconciled(check), gap(), *_patient_boluses(session)]


def _patient_boluses(session: RefillSession) -> list[Flowable]:
    """The patient-bolus counts the pump reported at this refill (none at a first fill)."""
    if session.last_fill_at is None:
        return []
    since = day(session.locale, session.locale.today(session.last_fill_at))
    if session.ptm is None:
        return [
            text(
                f"Patient boluses since the last fill ({since}): none recorded (required only "
                "while patient boluses are prescribed)."
            )
        ]
    counts = session.ptm
    return [
        facts(
            [
                (f"Patient-bolus requests since the last fill ({since})", counts.requests),
                ("Patient boluses given", counts.given),
            ],
            columns=1,
        )
    ]


def _twin_row(check: ReconciliationLine, shown: list[str]) -> list[tuple[str, object]]:
    """What the pump's twin expected, as stored with the refill (no row without a history)."""
    if check.twin is None:
        return []
    if check.twin.least == check.twin.most:
        return [("Expected residual (pump's twin)", shown[0])]
    return [
        (
            "Expected residual (pump's twin)",
            f"between {shown[0]} (every allowed patient bolus given) and {shown[1]} (none given)",
        )
    ]


def _reconciled(check: ReconciliationLine) -> list[Flowable]:
    verdict = (
        "within the pump accuracy"
        if check.finding is DeliveryFinding.NONE
        else check.finding.upper()
    )
    error = check.delivery_error
    if within_reading(check):  # a percentage of so small a difference says nothing
        error, verdict = NOT_MEANINGFUL, reading_words(check.difference)
    if beyond_pocket_fill(check.pocket_fill_limit, check.difference.canonical):
        verdict += f"; difference beyond {check.pocket_fill_limit}: POSSIBLE POCKET FILL"
    twin = [] if check.twin is None else [check.twin.least, check.twin.most]
    compared = [check.expected, check.aspirated, check.difference, *twin]
    if check.programmed_since_fill is not None:
        compared.append(check.programmed_since_fill)
    shown = side_by_side(compared)  # one number of decimal places for the volumes compared
    rows: list[tuple[str, object]] = [
        ("Expected residual (pump)", shown[0]),
        ("Aspirated volume", shown[1]),
        *_twin_row(check, shown[3:5]),
        ("Difference (aspirated - expected)", shown[2]),
        (
            "Programmed since last fill",
            shown[-1] if check.programmed_since_fill is not None else "not recomputable",
        ),
        ("Delivery error", error),
        ("Verdict", verdict),
    ]
    thresholds = [
        (
            "Pump accuracy",
            f"{check.accuracy}"
            + ("" if check.accuracy_verified else " (unverified: check the device labeling)")
            + f" — source: {check.accuracy_source}",
        )
    ]
    if check.pocket_fill_limit is not None:
        beyond = "exceeded" if check.consequential else "not exceeded"
        thresholds.append(
            (
                "Pocket-fill limit",
                f"{check.pocket_fill_limit} ({beyond}) — source: {check.pocket_fill_source}",
            )
        )
    return [
        facts(rows),
        gap(),
        text(f"Reason: {check.reason}"),
        gap(),
        facts(thresholds, columns=1),
    ]


def _put_in(session: RefillSession) -> list[Flowable]:
    rows = [
        [("principal: " if i == 0 else "") + d.drug, d.concentration]
        for i, d in enumerate(session.drugs)
    ]
    return [
        table(["Drug", "Concentration"], rows, [0.5, 0.5]),
        gap(),
        facts([("Volume filled", session.volume), ("Lot", session.lot)]),
    ]


def _bridge(session: RefillSession) -> list[Flowable]:
    if session.priming is not None:
        return [text(f"Priming bolus: {session.priming.words()}, as prescribed.")]
    if session.bridge is None:
        return [
            text(
                "No bridge or priming bolus: the fluid did not change, none was prescribed, or "
                "no dead volume."
            )
        ]
    line = session.bridge
    duration = f" for {line.duration}" if line.duration is not None else ""
    return [
        text(
            f"The {line.volume} of the previous drug left in the pump tubing and catheter is "
            f"delivered at {line.rate}{duration}, then the new program runs at {line.then_rate}."
        )
    ]


def _double_check(session: RefillSession) -> str:
    """Who double-checked the prescription executed, and when ("" when nobody had to)."""
    return double_check_words(session.double_checked_by, session.double_checked_at, session.locale)


def _people(session: RefillSession) -> list[Flowable]:
    locale = session.locale
    if not session.needs_verification and session.double_checked_by:
        verification = (
            f"{_double_check(session)} (double-checked the prescription before programming; "
            "no verification after the refill required)"
        )
    elif not session.needs_verification:
        verification = "not required (no change of drug or concentration, no soft limit passed)"
    elif session.verified_by:
        verification = f"{session.verified_by} at {moment(locale, session.verified_at)}"
    else:
        verification = NOT_VERIFIED
    rows: list[tuple[str, object]] = [
        ("Performed by", session.performed_by),
        ("Performed at", moment(locale, session.performed_at)),
        ("Second clinician", verification),
    ]
    flow: list[Flowable] = [facts(rows, columns=1)]
    if session.awaiting_verification:
        flow += [gap(), _unverified_banner()]
    return flow


def _next(session: RefillSession) -> list[Flowable]:
    locale = session.locale
    rows: list[tuple[str, object]] = [
        ("Low-reservoir alarm expected", moment(locale, session.alarm_at)),
        ("Reservoir empty", moment(locale, session.empty_at)),
        (
            "Refill by",
            f"{day(locale, session.refill_by)}, limited by the {session.limited_by.words}",
        ),
        ("Next refill visit (as stored now)", next_visit(session.since, session.device, locale)),
    ]
    return [facts(rows, columns=1), *dates_now(session.since, session.device, locale)]


def _signatures(session: RefillSession, executed: ReadbackSession | None) -> list[Flowable]:
    prescriber = "" if executed is None else executed.prescription.prescribed_by
    return session_signatures(_nurse(session), prescriber, _double_check(session))


def _nurse(session: RefillSession) -> str:
    """The nurse's line, naming who recorded the refill (and who programmed, if another)."""
    programmer = session.after.programmed_by.username
    if programmer in ("", session.performed_by):
        return f"Nurse (filled and programmed: {session.performed_by})"
    return f"Nurse (filled: {session.performed_by}; programmed: {programmer})"


def _unverified_banner() -> Flowable:
    return banner(
        NOT_VERIFIED,
        "This refill changed the drug or concentration or passed a soft limit (an override): "
        "it counts only once a second clinician has verified it.",
    )


def render_refill_session(session: RefillSession, executed: ReadbackSession | None) -> bytes:
    """The session report as PDF bytes; `executed`: the programming of the refill, with the
    prescription it executed and its readbacks (None for a refill recorded before refills
    executed prescriptions)."""
    kind = "First fill" if session.first_fill else "Refill"
    performed = moment(session.locale, session.performed_at)
    story: list[Flowable] = [
        text(TITLE, "title"),
        text(f"{kind} of {performed} · refill {session.refill_id}", "subtitle"),
    ]
    if session.awaiting_verification:
        story += [_unverified_banner(), gap(6)]
    story += differs_banner(executed)
    story += [
        section(
            "Patient, pump and catheter",
            *patient_and_device(session.patient, session.device, session.locale),
        ),
        section(
            "Prescription executed",
            *prescription_executed(executed, session.refused, session.locale),
        ),
        *(
            []
            if executed is None
            else [
                section(
                    HISTORY,
                    *double_check_history(
                        session.history, session.refused, executed, session.locale
                    ),
                )
            ]
        ),
        section("What was in the pump", *_in_the_pump(session)),
        section("What was put in", *_put_in(session)),
        section(
            "Program before and after",
            *before_after(session.before, session.after, session.locale),
        ),
        section("Bridge or priming bolus", *_bridge(session)),
        section(
            "Warnings",
            *warnings_passed(
                session.warnings, session.overrides_without_record, session.locale, "refill"
            ),
        ),
        section("Performed and verified", *_people(session)),
        section("Programmer readback", *readbacks(executed, session.locale)),
        section("Next refill", *_next(session)),
        section("Signatures", *_signatures(session, executed)),
        gap(10),
        note(
            "Volumes, doses and dates are the stored records of this refill; the reconciliation's "
            "reason and thresholds and the bridge duration are recomputed by painpump's core "
            "from them. Check them against the labeling of the drugs and devices you use."
        ),
    ]
    return render(
        story,
        title=TITLE,
        identity=session.patient,
        printed_at=session.printed_at,
        locale=session.locale,
    )
