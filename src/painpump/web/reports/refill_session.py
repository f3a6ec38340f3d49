"""The refill/programming session report of one refill as a PDF: the patient and device, what
was in the pump and what its reconciliation says, what was put in, the program before and after
side by side, the bridge, the warnings and the overrides that passed them (reason, who, when and
where: the prescriber's at prescribing, or given at the refill), who performed and who verified
it ("NOT YET VERIFIED" in a box when a required verification is missing; who double-checked the
prescription and when, where that made a verification unnecessary, also beside the second
clinician's signature line), the next refill-by date and its appointment; the prescription the
session executed with its double-checks, the programmer's readbacks (what was read back, names
and times, each difference from what was prescribed or expected, the incident a difference
opened and its closure or that it is open) and lines for the signatures of the nurse and the
second clinician. Moments and dates read on the clinic's wall clock and in its formats (the
session's locale)."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable

from painpump.clinic.models import Incident
from painpump.clinic.reads import drug_units
from painpump.clinic.reads.overrides_given import prescription_overrides
from painpump.clinic.reads.prescription_work import ReadbackSession
from painpump.clinic.reads.report_data import ProgramLine, RefillSession
from painpump.core.locale import ClinicLocale
from painpump.core.prescription import WEEKDAYS, duration_words
from painpump.core.refill import DeliveryFinding, beyond_pocket_fill
from painpump.core.units import side_by_side
from painpump.web.prescription_display import shown
from painpump.web.reports.layout import (
    banner,
    bold,
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

TITLE = "Refill and programming session"
NOT_VERIFIED = "NOT YET VERIFIED"
CLINICAL = frozenset({"Drug(s) and concentration", "Daily dose", "Rate", "Mode"})
"""The settings whose change the before/after table marks."""


def _patient_and_device(session: RefillSession) -> list[Flowable]:
    patient, device, locale = session.patient, session.device, session.locale
    return [
        facts(
            [
                ("Patient", patient.name + (" (archived)" if patient.archived else "")),
                ("Record number", patient.mrn),
                ("Born", day(locale, patient.birth_date)),
                ("Pump", device.name),
                ("Pump serial", device.serial),
                ("Reservoir", device.reservoir),
                ("Low-reservoir alarm at", device.alarm_volume),
                ("Implanted", day(locale, device.implanted_on)),
                ("Catheter", device.catheter_model),
                ("Catheter length", device.catheter_length),
                ("Dead volume", device.dead_volume),
            ]
        )
    ]


def _in_the_pump(session: RefillSession) -> list[Flowable]:
    check = session.reconciliation
    if check is None:
        return [text("First fill of this pump: there was no residual to aspirate or reconcile.")]
    verdict = (
        "within the pump accuracy"
        if check.finding is DeliveryFinding.NONE
        else check.finding.upper()
    )
    if beyond_pocket_fill(check.pocket_fill_limit, check.difference.canonical):
        verdict += f"; difference beyond {check.pocket_fill_limit}: POSSIBLE POCKET FILL"
    compared = [check.expected, check.aspirated, check.difference]
    if check.programmed_since_fill is not None:
        compared.append(check.programmed_since_fill)
    shown = side_by_side(compared)  # one number of decimal places for the volumes compared
    rows: list[tuple[str, object]] = [
        ("Expected residual (pump)", shown[0]),
        ("Aspirated volume", shown[1]),
        ("Difference (aspirated - expected)", shown[2]),
        ("Programmed since last fill", shown[3] if len(shown) == 4 else "not recomputable"),
        ("Delivery error", check.delivery_error),
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


def _program_cells(program: ProgramLine | None, locale: ClinicLocale) -> list[str]:
    if program is None:
        return ["none (first fill)"] + [""] * 5
    dose, rate = str(program.dose), str(program.rate)
    if program.bolus is not None:  # a single bolus: its bolus, then nothing
        dose, rate = (
            program.bolus.words,
            f"{program.bolus.rate_words} for its duration, then {rate}",
        )
    return [
        " + ".join(str(d) for d in program.drugs),
        dose,
        rate,
        program.mode,
        moment(locale, program.started_at),
        program.programmed_by.short,
    ]


def _before_after(session: RefillSession) -> list[Flowable]:
    labels = ["Drug(s) and concentration", "Daily dose", "Rate", "Mode", "Started", "Programmed by"]
    before = _program_cells(session.before, session.locale)
    after = _program_cells(session.after, session.locale)
    rows: list[list[object]] = []
    for label, old, new in zip(labels, before, after, strict=True):
        changed = session.before is not None and old != new and label in CLINICAL
        rows.append([bold(label), old, bold(new) if changed else new, "changed" if changed else ""])
    return [table(["Setting", "Before", "After", ""], rows, [0.2, 0.33, 0.33, 0.14])]


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


def _warnings(session: RefillSession) -> list[Flowable]:
    locale = session.locale
    body: list[Flowable] = []
    if session.warnings:
        rows = [
            [
                lines(w.rule, *([f"{w.tier} limit"] if w.tier else [])),
                w.message,
                w.limit,
                w.source + ("" if w.verified else " (unverified source)"),
                lines(
                    f'"{w.override.reason}"',
                    f"{w.override.by}, {moment(locale, w.override.at)}",
                    w.override.words,
                )
                if w.override
                else "NO OVERRIDE RECORDED",
            ]
            for w in session.warnings
        ]
        body.append(
            table(
                ["Rule (tier)", "Warning", "Limit", "Source", "Override: reason, by, when, where"],
                rows,
                [0.13, 0.3, 0.1, 0.22, 0.25],
            )
        )
    for passed in session.overrides_without_record:
        body.append(
            text(
                f'Override {passed.rule}: "{passed.reason}", by {passed.by}, '
                f"{moment(locale, passed.at)}, {passed.words} (the warning shown at the "
                "time was not stored with this refill)"
            )
        )
    return body or [text("No warning was raised.")]


def _double_check(session: RefillSession) -> str:
    """Who double-checked the prescription executed, and when ("" when nobody had to)."""
    if not session.double_checked_by:
        return ""
    return f"{session.double_checked_by} at {moment(session.locale, session.double_checked_at)}"


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
    ]
    booked = session.appointment
    if booked is None:
        rows.append(("Appointment", "none booked"))
    else:
        when = day(locale, booked.on)
        if booked.starts_at is not None:
            zone = locale.local(booked.starts_at).tzname()
            when += f" at {locale.format_time(booked.starts_at)} {zone}"
        late = ""
        if booked.overdue:
            late = "; after the refill-by date" + (
                f": {booked.late_reason}" if booked.late_reason else ""
            )
        rows.append(("Appointment", f"{when} ({booked.status}{late}) {booked.note}".strip()))
    return [facts(rows, columns=1)]


def _prescription(executed: ReadbackSession | None, locale: ClinicLocale) -> list[Flowable]:
    if executed is None:
        return [text("Recorded before refills executed a signed prescription.")]
    rx = shown(executed.prescription)
    record = rx.record
    rows: list[tuple[str, object]] = [
        ("Prescription", f"#{record.number} ({record.get_status_display()})"),
        ("Prescribed by", f"{record.prescribed_by} at {moment(locale, record.prescribed_at)}"),
        ("Reason", record.reason),
        *(
            (name.capitalize(), value)
            for name, value in _settings(rx.settings, record.program_kind)
        ),
    ]
    checks = [
        [
            check.checked_by,
            moment(locale, check.checked_at),
            "accepted" if check.accepted else "rejected",
            check.comment or "",
        ]
        for check in record.checks.all()
    ]
    flow: list[Flowable] = [facts(rows, columns=1), gap()]
    given = [
        [o.rule, f'"{o.reason}"', o.by, moment(locale, o.at)]
        for o in prescription_overrides(record)
    ]
    if given:
        header = ["Override at prescribing", "Reason", "By", "At"]
        flow += [table(header, given, OVERRIDES), gap()]
    if checks:
        flow.append(table(["Double-checked by", "At", "Result", "Comment"], checks, CHECKS))
    else:
        flow.append(text("No double-check (not a high-alert prescription)."))
    return flow


def _settings(settings: dict[str, str], kind: str) -> list[tuple[str, str]]:
    """The settings printed: a continuous program's dose once, not as a step of every day."""
    steps = kind == "continuous"
    return [(n, v) for n, v in settings.items() if v and not (steps and n.startswith("steps "))]


CHECKS = (0.2, 0.25, 0.15, 0.4)
OVERRIDES = (0.2, 0.4, 0.15, 0.25)
READS = (0.13, 0.15, 0.3, 0.12, 0.3)


def _readbacks(executed: ReadbackSession | None, locale: ClinicLocale) -> list[Flowable]:
    if executed is None:
        return [text("No readback (recorded before readbacks were kept).")]
    drug = drug_units.principal_of(executed.prescription)
    rows = [
        [
            readback.read_by,
            moment(locale, readback.read_at),
            lines(*_read_back(readback.entered, drug)),
            "matches" if readback.matches else "differs: session stopped",
            lines(
                *(
                    f"{m['field']}: read back {m['entered']}, "
                    f"{m.get('against', 'prescribed')} {m['prescribed']}"
                    for m in (drug_units.entry_texts(found, drug) for found in readback.mismatches)
                )
            ),
        ]
        for readback in executed.programming.readbacks
    ]
    state = f"Session {executed.programming.state}."
    if not rows:
        return [text(state)]
    header = ["Read back by", "At", "Read back", "Result", "Differences"]
    incidents = [_incident(incident, locale) for incident in executed.incidents]
    return [table(header, rows, READS), gap(), *incidents, text(state)]


def _incident(incident: Incident, locale: ClinicLocale) -> Flowable:
    """The incident a differing readback opened, and who closed it with what, or that it is
    open (the session stays stopped until then: clinic.reads.prescription_history)."""
    closure = (
        (
            "Incident closed",
            f"by {incident.closed_by} at {moment(locale, incident.closed_at)}: "
            f"{incident.resolution}",
        )
        if incident.closed_at is not None
        else ("Incident", "open: the session stays stopped until a physician closes it")
    )
    said = drug_units.incident_summary(incident)
    opened = f"by {incident.opened_by} at {moment(locale, incident.opened_at)}: {said}"
    return facts([("Incident opened", opened), closure], columns=1)


def _read_back(entered: dict[str, Any], drug: str | None) -> list[str]:
    """What the nurse typed from the programmer, a line a setting (days alike printed once),
    each quantity in its drug's unit (`drug`: the principal; None: as typed)."""
    shown = [f"reservoir {entered.get('reservoir', '')}", ", ".join(entered.get("drugs", []))]
    bolus = entered.get("bolus")
    if bolus:
        shown.append(f"single bolus {bolus['dose']} over {duration_words(bolus['duration_s'])}")
    else:
        days = [", ".join(day) for day in entered.get("days", [])]
        kind = entered.get("program", "")
        if days and all(day == days[0] for day in days):
            shown.append(f"{kind} every day: {days[0]}")
        else:
            shown += [f"{kind} {name}: {day}" for name, day in zip(WEEKDAYS, days, strict=False)]
    ptm = entered.get("ptm")
    shown.append(
        "PTM off"
        if not ptm
        else f"PTM {ptm['dose']} over {duration_words(ptm['duration_s'])}, lockout "
        f"{duration_words(ptm['lockout_s'])}, at most {ptm['max_per_day']} a day"
    )
    change = entered.get("fluid_change")
    if change:
        rate = f" at {change['rate']}" if "rate" in change else ""
        shown.append(f"{change['kind']} {change['volume']}{rate}")
    return shown if drug is None else [drug_units.reworded(line, drug) for line in shown]


def _signatures(session: RefillSession) -> list[Flowable]:
    line = "_" * 34
    checked = _double_check(session)
    second = f"Second clinician (double-check: {checked})" if checked else "Second clinician"
    return [
        facts(
            [
                ("Nurse (filled and programmed)", f"{line}  date {'_' * 12}"),
                (second, f"{line}  date {'_' * 12}"),
            ],
            columns=1,
        )
    ]


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
    story += [
        section("Patient, pump and catheter", *_patient_and_device(session)),
        section("Prescription executed", *_prescription(executed, session.locale)),
        section("What was in the pump", *_in_the_pump(session)),
        section("What was put in", *_put_in(session)),
        section("Program before and after", *_before_after(session)),
        section("Bridge or priming bolus", *_bridge(session)),
        section("Warnings", *_warnings(session)),
        section("Performed and verified", *_people(session)),
        section("Programmer readback", *_readbacks(executed, session.locale)),
        section("Next refill", *_next(session)),
        section("Signatures", *_signatures(session)),
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
