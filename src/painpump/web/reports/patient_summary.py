"""The clinician summary of a patient as a PDF: the incidents open on the record, therapy
(indications, episodes with their pathway dates, pumps and catheters), the dose history as a
table and a step chart (a single bolus as its bolus and as it stands), refills with their
reconciliation, the alarms the patient reported, and outcomes before the implant and now with
small charts. Long histories show their newest entries and say how many there are. Moments and
dates read on the clinic's wall clock and in its formats (the summary's locale)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from reportlab.platypus import Flowable, KeepTogether

from painpump.clinic.reads import drug_units
from painpump.clinic.reads.prescription_history import Version
from painpump.clinic.reads.report_data import (
    OutcomePoint,
    OutcomeSeries,
    PatientSummary,
    ProgramLine,
    Recent,
    RefillLine,
)
from painpump.core.locale import ClinicLocale
from painpump.core.overrides import GivenOverride
from painpump.core.prescription import BolusState, Prescription
from painpump.core.refill import DeliveryFinding, syringe_reading_words
from painpump.core.units import side_by_side
from painpump.web.reports.charts import Line, line_chart, step_chart
from painpump.web.reports.layout import (
    WIDTH,
    count,
    day,
    facts,
    gap,
    heading,
    lines,
    local_day,
    moment,
    note,
    render,
    section,
    short_day,
    table,
    text,
)
from painpump.web.templatetags.syringe_reading import within_reading

TITLE = "Clinician summary"
SCALES = {"pain_nrs": (0.0, 10.0), "ashworth": (0.0, 4.0)}
"""Fixed chart scales of the scores (NRS 0-10, modified Ashworth 0-4); doses scale to the data."""

T = TypeVar("T")


def _count(recent: Recent[T], noun: str, nouns: str, extra: str = "") -> Flowable:
    recorded = f"{recent.total} {noun if recent.total == 1 else nouns}{extra} recorded"
    if recent.bounded:
        return count(f"{recorded}; the newest {len(recent.items)} are listed here.")
    return count(f"{recorded}.")


def _therapy(summary: PatientSummary) -> list[Flowable]:
    locale = summary.locale
    flow: list[Flowable] = [heading("Therapy")]
    if not summary.episodes:
        flow.append(text("No episode of care."))
    for episode in summary.episodes:
        rows: list[tuple[str, object]] = [
            ("Indication", episode.indication),
            ("Stage", episode.stage),
            ("Referred", day(locale, episode.referred_on)),
            ("Test-phase outcome", episode.outcome or "none recorded"),
        ]
        if episode.closed_on is not None:
            rows.append(("Closed", f"{day(locale, episode.closed_on)} ({episode.closed_reason})"))
        steps = [[day(locale, d.on), d.step, d.recorded_by] for d in episode.dates]
        flow.append(
            KeepTogether(
                [
                    facts(rows),
                    gap(3),
                    table(["Pathway date", "Step", "Recorded by"], steps, [0.3, 0.4, 0.3]),
                    gap(6),
                ]
            )
        )
    if summary.devices:
        devices = [
            [
                d.name,
                d.serial,
                d.reservoir,
                f"{d.catheter_model}, {d.catheter_length}",
                d.dead_volume,
                d.alarm_volume,
                short_day(locale, d.implanted_on),
                short_day(locale, d.explanted_on) or "in place",
            ]
            for d in summary.devices
        ]
        flow.append(
            table(
                [
                    "Pump",
                    "Serial",
                    "Reservoir",
                    "Catheter",
                    "Dead volume",
                    "Alarm at",
                    "Implanted",
                    "Explanted",
                ],
                devices,
                [0.22, 0.13, 0.1, 0.15, 0.1, 0.09, 0.11, 0.1],
            )
        )
    else:
        flow.append(text("No pump implanted."))
    return flow


def _plain(program: ProgramLine, locale: ClinicLocale) -> str:
    drugs = " + ".join(str(d) for d in program.drugs) or "no fill recorded"
    started = f"{moment(locale, program.started_at)}, {program.programmed_by}"
    if program.bolus_run is None:
        return f"{drugs}: {program.dose} at {program.rate} ({program.mode}), since {started}"
    bolus = program.bolus.words if program.bolus else program.mode
    return f"{drugs}: {bolus} from {started}; {_bolus_state(program, locale)}"


def _bolus_state(program: ProgramLine, locale: ClinicLocale) -> str:
    """A single bolus as the chart says it: running until its end, then the pump stops; or
    stopped since its end, pumping nothing."""
    run = program.bolus_run
    assert run is not None
    ends = moment(locale, run.ends_at)
    if run.state is BolusState.STOPPED:
        return f"{run.state.words} {ends}: pumps nothing"
    return f"{run.state.words} {ends}, then the pump stops"


def _dose_cells(program: ProgramLine, locale: ClinicLocale) -> tuple[str, str, str]:
    """The end (or the state of a single bolus), the daily dose (or the bolus) and the rate
    with the mode, as the dose history lists them."""
    ended = moment(locale, program.ended_at)
    rate = f"{program.rate} ({program.mode})"
    if program.bolus_run is None:
        return ended or "running", str(program.dose), rate
    state = ended or _bolus_state(program, locale)
    bolus = program.bolus
    if bolus is None:  # no fill on record to draw it from
        return state, program.mode, rate
    return state, bolus.words, f"{bolus.rate_words} for its duration, then {rate}"


def _incidents(summary: PatientSummary) -> list[Flowable]:
    """The incidents open on the patient's record (each stays open until a physician closes
    it with what was done)."""
    if not summary.incidents:
        return [section("Open incidents", text("No open incident."))]
    rows = [
        [i.kind, f"{i.opened_by} {moment(summary.locale, i.opened_at)}", i.summary]
        for i in summary.incidents
    ]
    return [
        section(
            "Open incidents",
            table(["Incident", "Opened by, at", "Summary"], rows, [0.22, 0.2, 0.58]),
        )
    ]


def _next_refill(summary: PatientSummary) -> list[Flowable]:
    """The pump's alarm, empty and refill-by dates as stored, and its next refill visit."""
    locale, found = summary.locale, summary.next_refill
    if found is None:
        return []
    booked = found.visit
    if booked is None or booked.starts_at is None:
        visit = "none proposed or booked: book one"
    else:
        visit = f"{moment(locale, booked.starts_at)} ({booked.status})"
        if booked.overdue:
            visit += ", after the refill-by date: " + (
                booked.late_reason or "urgent, book the nearest open slot with a recorded reason"
            )
    return [
        heading("Next refill"),
        facts(
            [
                ("Low-reservoir alarm", moment(locale, found.alarm_at)),
                ("Empty", moment(locale, found.empty_at)),
                ("Refill by", day(locale, found.refill_by)),
                ("Refill visit", visit),
            ]
        ),
    ]


def _doses(summary: PatientSummary) -> list[Flowable]:
    locale = summary.locale
    flow: list[Flowable] = [heading("Dose history")]
    current = summary.current
    running = f"Running program: {_plain(current, locale)}" if current else "No running program."
    flow.append(text(running))
    programs = summary.programs.items
    if not programs:
        return flow
    flow += [gap(3), _count(summary.programs, "program", "programs")]
    rows = [
        [
            moment(locale, p.started_at),
            ended,
            " + ".join(str(d) for d in p.drugs),
            dose,
            rate,
            p.pump_serial,
            p.programmed_by.short,
        ]
        for p in programs
        for ended, dose, rate in [_dose_cells(p, locale)]
    ]
    flow.append(
        table(
            ["Started", "Ended", "Drug(s)", "Daily dose", "Rate (mode)", "Pump", "Programmed by"],
            rows,
            [0.12, 0.12, 0.18, 0.12, 0.15, 0.14, 0.17],
        )
    )
    drug = programs[-1].principal
    charted = [p for p in programs if p.principal == drug]
    unit = programs[-1].dose.unit
    steps = [(p.started_at, p.ended_at, p.dose.to(unit).value) for p in charted]
    title = f"Daily dose of {drug or 'the pump'} ({unit})"
    if len(charted) < len(programs):
        title += f": the {len(charted)} programs with {drug}"
    flow += _overrides(
        locale, [(f"Program from {moment(locale, p.started_at)}", p.overrides) for p in programs]
    )
    flow += [gap(6), step_chart(title, steps, until=summary.printed_at, locale=locale)]
    return flow


def _overrides(
    locale: ClinicLocale, owners: Sequence[tuple[str, Sequence[GivenOverride]]]
) -> list[Flowable]:
    """The soft limits passed, under the refill or program each belongs to: the rule, the reason
    given for it, who, when and where (the prescriber's at prescribing; rule-two-tiers)."""
    said = [
        f'{owner}: override {o.rule}: "{o.reason}", by {o.by}, {moment(locale, o.at)}, {o.words}'
        for owner, passed in owners
        for o in passed
    ]
    if not said:
        return []
    return [gap(3), count("Soft limits passed with a reason (overrides)"), *map(text, said)]


def _judged(refill: RefillLine) -> tuple[str, str]:
    """The refill's delivery error and verdict; a difference no larger than a syringe is read
    to judged in mL, as its reconciliation judged it, not as a percentage of a tiny delivery."""
    compared = (refill.expected, refill.aspirated, refill.difference)
    if within_reading(refill) and all(volume is not None for volume in compared):
        shown = side_by_side([volume for volume in compared if volume is not None])
        return shown[2], f"within {syringe_reading_words()}"
    verdict = "within accuracy" if refill.finding == DeliveryFinding.NONE else refill.finding
    return refill.delivery_error, verdict


def _refills(summary: PatientSummary) -> list[Flowable]:
    locale = summary.locale
    flow: list[Flowable] = [heading("Refills with their reconciliation")]
    if not summary.refills.items:
        return [*flow, text("No refill recorded.")]
    rows = [
        [
            moment(locale, r.performed_at),
            " + ".join(str(d) for d in r.drugs),
            lines(r.volume, r.lot),
            _residual(r),
            *_judged(r),
            lines(r.performed_by, f"verified: {_verification(r, locale)}"),
            short_day(locale, r.refill_by),
        ]
        for r in summary.refills.items
    ]
    flow += [
        _count(summary.refills, "refill", "refills"),
        table(
            [
                "Performed",
                "Drug(s)",
                "Fill, lot",
                "Expected / aspirated (difference)",
                "Error",
                "Verdict",
                "By, verification",
                "Refill by",
            ],
            rows,
            [0.11, 0.12, 0.12, 0.16, 0.07, 0.13, 0.17, 0.12],
        ),
    ]
    flow += _overrides(
        locale,
        [
            (f"Refill of {moment(locale, r.performed_at)}", r.overrides)
            for r in summary.refills.items
        ],
    )
    return flow


def _verification(refill: RefillLine, locale: ClinicLocale) -> str:
    if not refill.needs_verification:
        return "not required"
    if not refill.verified_by:
        return "NOT YET VERIFIED"
    return f"{refill.verified_by} {moment(locale, refill.verified_at)}"


def _residual(refill: RefillLine) -> str:
    if refill.expected is None or refill.aspirated is None:
        return ""
    compared = [refill.expected, refill.aspirated]
    if refill.difference is not None:
        compared.append(refill.difference)
    shown = side_by_side(compared)
    difference = f" ({shown[2]})" if len(shown) == 3 else ""
    return f"{shown[0]} / {shown[1]}{difference}"


def _alarms(summary: PatientSummary) -> list[Flowable]:
    locale = summary.locale
    flow: list[Flowable] = [heading("Alarms reported")]
    if not summary.alarms.items:
        return [*flow, text("No alarm reported.")]
    rows = [
        [
            moment(locale, a.reported_at),
            a.kind,
            a.note,
            a.recorded_by,
            f"{a.acknowledged_by} {moment(locale, a.acknowledged_at)}"
            if a.acknowledged_at
            else "OPEN",
            a.action_taken,
        ]
        for a in summary.alarms.items
    ]
    flow += [
        _count(summary.alarms, "alarm", "alarms", f" ({summary.open_alarms} open)"),
        table(
            ["Reported", "Alarm", "Note", "Recorded by", "Acknowledged", "Action taken"],
            rows,
            [0.15, 0.2, 0.18, 0.12, 0.17, 0.18],
        ),
    ]
    return flow


def _shown(point: OutcomePoint | None, locale: ClinicLocale) -> str:
    if point is None:
        return "none recorded"
    return f"{point.shown} on {short_day(locale, local_day(locale, point.taken_at))}"


def _series_name(series: OutcomeSeries) -> str:
    return series.label + (f", {series.limb_words}" if series.limb else "")


def _outcome_charts(outcomes: Sequence[OutcomeSeries], locale: ClinicLocale) -> list[Flowable]:
    charts: list[Flowable] = []
    for kind in dict.fromkeys(s.kind for s in outcomes):
        group = [s for s in outcomes if s.kind == kind and s.points.items]
        if not group:
            continue
        lines = [
            Line(s.limb_words or s.label, [(p.taken_at, p.value) for p in s.points.items])
            for s in group
        ]
        low, high = SCALES.get(kind, (0.0, None))
        title = group[0].label
        if group[0].unit and group[0].unit not in title:
            title += f" ({group[0].unit})"
        if any(s.points.bounded for s in group):
            title += ": newest measurements"
        charts.append(
            line_chart(title, lines, locale=locale, y_min=low, y_max=high, width=WIDTH, height=120)
        )
    return charts


def _outcomes(summary: PatientSummary) -> list[Flowable]:
    flow: list[Flowable] = [heading("Outcomes: before the implant and now")]
    if not summary.outcomes:
        return [*flow, text("No assessment recorded.")]
    rows = [
        [
            _series_name(s),
            _shown(s.before, summary.locale),
            _shown(s.now, summary.locale),
            str(s.points.total),
        ]
        for s in summary.outcomes
    ]
    flow += [
        table(
            ["Measure", "Before the implant", "Now", "Measurements"], rows, [0.36, 0.24, 0.24, 0.16]
        ),
        note(
            "Before: the last measurement taken before the first implant (without an implant, "
            "the first one taken). Now: the latest measurement after it."
        ),
    ]
    for chart in _outcome_charts(summary.outcomes, summary.locale):
        flow += [gap(6), chart]
    return flow


def _prescriptions(versions: Sequence[Version], locale: ClinicLocale) -> list[Flowable]:
    """Every prescription version of the pump in place, newest first, its double-checks and
    programmings a line each (a version programmed at every refill for years spans pages)."""
    if not versions:
        return [section("Prescriptions", text("No prescription."))]
    rows = []
    for version in versions:
        record, values = version.record, version.prescription
        after = f" after {version.refused_words}" if version.refused else ""
        checks = [
            f"{'accepted' if c.accepted else 'rejected'} by {c.checked_by} "
            f"{moment(locale, c.checked_at)}{after}" + (f": {c.comment}" if c.comment else "")
            for c in version.checks
        ]
        if not checks:
            checks = [f"none yet: {version.refused_words}" if version.refused else "none"]
        programmed = [
            f"{p.program.programmed_by or p.program.prescribed_by} "
            f"{moment(locale, p.program.started_at)} ({p.state})"
            for p in version.programmed
        ]
        drugs = drug_units.drugs(values)
        principal = values.principal[0]
        ptm = (
            f"; PTM {drug_units.shown(principal, values.ptm.dose)} x{values.ptm.max_per_day}/day"
            if values.ptm
            else ""
        )
        rows.append(
            [
                f"#{record.number} {record.get_status_display()}",
                lines(
                    f"{record.prescribed_by} {moment(locale, record.prescribed_at)}",
                    record.reason,
                ),
                f"{drugs}; {_prescribed(values)}{ptm}",
                lines(*checks),
                lines(*(programmed or ["not yet"])),
            ]
        )
    header = ["Version", "Prescribed", "Settings", "Double-check", "Programmed"]
    return [section("Prescriptions", table(header, rows, (0.14, 0.22, 0.26, 0.2, 0.18)))]


def _prescribed(values: Prescription) -> str:
    """The program's kind in words (never its stored name) with its daily dose, or a single
    bolus as the pump gives it (its dose in the order's unit, volume and rate)."""
    principal = values.principal[0]
    delivery = values.bolus_delivery
    if delivery is not None:
        return drug_units.bolus_delivery(principal, delivery)
    return f"{values.program.kind.label} {drug_units.shown(principal, values.daily_dose)}"


def render_patient_summary(summary: PatientSummary, versions: Sequence[Version]) -> bytes:
    """The clinician summary as PDF bytes, with the prescription versions of the pump in place
    (clinic.reads.prescription_history)."""
    patient, locale = summary.patient, summary.locale
    story: list[Flowable] = [
        text(TITLE, "title"),
        text(f"Printed {moment(locale, summary.printed_at)}", "subtitle"),
        section(
            "Patient",
            facts(
                [
                    ("Patient", patient.name + (" (archived)" if patient.archived else "")),
                    ("Record number", patient.mrn),
                    ("Born", day(locale, patient.birth_date)),
                ],
                columns=3,
            ),
        ),
        *_incidents(summary),
        *_therapy(summary),
        *_prescriptions(versions, locale),
        *_next_refill(summary),
        *_doses(summary),
        *_refills(summary),
        *_alarms(summary),
        *_outcomes(summary),
        gap(10),
        note(
            "Doses, volumes and dates are the stored records; each is printed with its unit. "
            "Check them against the labeling of the drugs and devices you use."
        ),
    ]
    return render(
        story, title=TITLE, identity=patient, printed_at=summary.printed_at, locale=locale
    )
