"""The sections the session reports share (the refill's and the programming's between refills):
the patient and pump, the prescription executed with its double-checks (and the worst day with
every patient bolus beside its daily dose), its double-check history (the versions rejected on
its way and since the previous session, and the accepts refused under each version), the program
before and after side by side, the warnings with the overrides that passed them, the
programmer's readbacks (what was read back, each difference, the incident it opened and its
closure) with the page-1 box while the session is stopped, the pump's dates now when a later
programming replaced the session's, and the lines for the signatures. Moments read on the
clinic's wall clock (the report's locale)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import takewhile
from typing import Any

from reportlab.platypus import Flowable

from painpump.clinic.models import Incident
from painpump.clinic.reads import drug_units
from painpump.clinic.reads.next_refill import RefillVisit
from painpump.clinic.reads.overrides_given import prescription_overrides
from painpump.clinic.reads.prescription_history import (
    DAILY_DOSE,
    WEEKLY_AVERAGE,
    Change,
    RefusedAccept,
)
from painpump.clinic.reads.prescription_work import ReadbackSession
from painpump.clinic.reads.pump_record import Pump
from painpump.clinic.reads.report_data import (
    CheckedVersion,
    DatesSince,
    PatientIdentity,
    ProgramLine,
    Reprogramming,
    WarningLine,
)
from painpump.core import prescription as rx
from painpump.core.locale import ClinicLocale
from painpump.core.overrides import GivenOverride
from painpump.core.prescription import WEEKDAYS, duration_words
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
    table,
    text,
)

CLINICAL = frozenset({"Drug(s) and concentration", "Daily dose", "Rate", "Mode"})
"""The settings whose change the before/after table marks."""
CHECKS = (0.2, 0.25, 0.15, 0.4)
OVERRIDES = (0.2, 0.4, 0.15, 0.25)
READS = (0.13, 0.15, 0.3, 0.12, 0.3)
REFUSED = (0.2, 0.25, 0.55)
SIGNATURE = f"{'_' * 34}  date {'_' * 12}"
DIFFERS = "READBACK DIFFERS"
STOPPED = "stopped"
"""The state of a session whose readback differs or whose incident is open
(clinic.reads.prescription_history.Programming.state)."""
LATE_UNEXPLAINED = "urgent, book the nearest open slot with a recorded reason"
"""A visit after the refill-by date with no reason recorded (as the clinician summary says)."""
AHEAD = frozenset({"program", DAILY_DOSE})
"""The settings listed before the weekly average (after the drugs)."""
REPLACED = "DATES REPLACED"
MOVED = "DATES CHANGED"


def patient_and_device(
    patient: PatientIdentity, device: Pump, locale: ClinicLocale
) -> list[Flowable]:
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


def before_after(
    before: ProgramLine | None, after: ProgramLine, locale: ClinicLocale
) -> list[Flowable]:
    """The program the pump ran and the one it runs, side by side, each clinical change marked."""
    labels = ["Drug(s) and concentration", "Daily dose", "Rate", "Mode", "Started", "Programmed by"]
    old_cells = _program_cells(before, locale)
    new_cells = _program_cells(after, locale)
    rows: list[list[object]] = []
    for label, old, new in zip(labels, old_cells, new_cells, strict=True):
        changed = before is not None and old != new and label in CLINICAL
        rows.append([bold(label), old, bold(new) if changed else new, "changed" if changed else ""])
    return [table(["Setting", "Before", "After", ""], rows, [0.2, 0.33, 0.33, 0.14])]


def warnings_passed(
    warnings: Sequence[WarningLine],
    unrecorded: Sequence[GivenOverride],
    locale: ClinicLocale,
    occasion: str,
) -> list[Flowable]:
    """The warnings shown, each with the override that passed it (reason, who, when, where), and
    the overrides of rules whose warning was not stored with the `occasion` ("refill")."""
    body: list[Flowable] = []
    if warnings:
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
            for w in warnings
        ]
        body.append(
            table(
                ["Rule (tier)", "Warning", "Limit", "Source", "Override: reason, by, when, where"],
                rows,
                [0.13, 0.3, 0.1, 0.22, 0.25],
            )
        )
    for passed in unrecorded:
        body.append(
            text(
                f'Override {passed.rule}: "{passed.reason}", by {passed.by}, '
                f"{moment(locale, passed.at)}, {passed.words} (the warning shown at the "
                f"time was not stored with this {occasion})"
            )
        )
    return body or [text("No warning was raised.")]


def double_check_words(by: str, at: datetime | None, locale: ClinicLocale) -> str:
    """Who double-checked a prescription, and when ("" when nobody had to)."""
    return f"{by} at {moment(locale, at)}" if by else ""


def prescription_executed(
    executed: ReadbackSession | None, refused: Sequence[RefusedAccept], locale: ClinicLocale
) -> list[Flowable]:
    """The prescription a programming executed: number and status, prescriber and reason, every
    setting with the doses core derives next to the largest day (a flex program's weekly
    average, the worst day with every patient bolus), the overrides given at prescribing and its
    double-checks (an accept after `refused`, the accepts refused at it)."""
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
            for name, value in _settings(rx.with_doses, record.program_kind)
        ),
    ]
    after = f" after {_refused_words(len(refused))}" if refused else ""
    checks = [
        [
            check.checked_by,
            moment(locale, check.checked_at),
            f"accepted{after}" if check.accepted else "rejected",
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


def _refused_words(count: int) -> str:
    """ "1 entry that did not match", "2 entries that did not match"."""
    return f"{count} {'entry' if count == 1 else 'entries'} that did not match"


def double_check_history(
    history: Sequence[CheckedVersion],
    refused: Sequence[RefusedAccept],
    executed: ReadbackSession,
    locale: ClinicLocale,
) -> list[Flowable]:
    """The session's double-check history, version by version, oldest first (which versions:
    clinic.reads.report_data._double_check_history): each version rejected with its comment (one
    signed after the prescription executed marked as not executed), and under every version,
    rejected or accepted as the one executed, the accepts refused because entries differed (each
    entry as entered, in its drug's unit), as the chart lists them."""
    record = executed.prescription
    blocks = [
        (version.number, _checked_version(version, record.number, locale)) for version in history
    ]
    if refused:
        blocks.append((record.number, _executed_version(executed, refused, locale)))
    flow: list[Flowable] = []
    for _, block in sorted(blocks, key=lambda numbered: numbered[0]):
        flow += [*block, gap()]
    return flow or [text("No version was rejected and no accept was refused at the double-check.")]


def _checked_version(
    version: CheckedVersion, executed: int, locale: ClinicLocale
) -> list[Flowable]:
    name = f"Prescription #{version.number}"
    if version.signed_after:
        name += f" (signed after #{executed}: not executed)"
    rows: list[tuple[str, object]] = [
        (
            name,
            f"by {version.prescribed_by} at {moment(locale, version.prescribed_at)}: "
            f"{version.reason}",
        )
    ]
    if version.rejected_by:
        rows.append(
            (
                "Rejected",
                f"by {version.rejected_by} at {moment(locale, version.rejected_at)}: "
                f'"{version.comment}"',
            )
        )
    else:
        rows.append(("Status now", version.status))
    return [facts(rows, columns=1), *_refused_table(version.refused, version.principal, locale)]


def _executed_version(
    executed: ReadbackSession, refused: Sequence[RefusedAccept], locale: ClinicLocale
) -> list[Flowable]:
    """The prescription executed: accepted after the accepts refused at its double-check."""
    record = executed.prescription
    accepted = (
        f"accepted by {record.checked_by} at {moment(locale, record.checked_at)} "
        if record.checked_by
        else "not accepted at a double-check "
    )
    rows: list[tuple[str, object]] = [
        (
            f"Prescription #{record.number} (executed)",
            f"{accepted}after {_refused_words(len(refused))}",
        )
    ]
    drug = drug_units.principal_of(record)
    return [facts(rows, columns=1), *_refused_table(refused, drug, locale)]


def _refused_table(
    refused: Sequence[RefusedAccept], drug: str | None, locale: ClinicLocale
) -> list[Flowable]:
    """The accepts refused at a version's double-check: who, when, each entry as entered."""
    if not refused:
        return []
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
        for attempt in refused
    ]
    header = ["Accept refused", "At", "Entries that did not match"]
    return [table(header, rows, REFUSED)]


def weekly_average(prescription: rx.Prescription | None) -> str:
    """The weekly average daily dose of a basal program in its principal drug's unit (a
    continuous program's is its daily dose); "" for a single bolus or no prescription."""
    if prescription is None or prescription.program.bolus is not None:
        return ""
    return drug_units.shown(prescription.principal[0], prescription.program.average_day)


def with_weekly_averages(
    changes: Sequence[Change], before: rx.Prescription | None, after: rx.Prescription
) -> tuple[Change, ...]:
    """`changes` of `after` against `before` with the weekly average filled in on the side that
    runs a continuous program beside a flex one (never "—" where a daily dose exists), the row
    placed after the daily dose as the settings list it."""
    rows = list(changes)
    found = next((change for change in rows if change.setting == WEEKLY_AVERAGE), None)
    if found is None:
        return tuple(rows)
    rows.remove(found)
    average = Change(
        WEEKLY_AVERAGE, found.before or weekly_average(before), found.after or weekly_average(after)
    )
    if average.before == average.after:
        return tuple(rows)
    ahead = takewhile(lambda c: c.setting in AHEAD or c.setting.startswith("drug "), rows)
    at = len(list(ahead))
    return (*rows[:at], average, *rows[at:])


def _settings(settings: dict[str, str], kind: str) -> list[tuple[str, str]]:
    """The settings printed: a continuous program's dose once, not as a step of every day."""
    steps = kind == "continuous"
    return [(n, v) for n, v in settings.items() if v and not (steps and n.startswith("steps "))]


def readbacks(executed: ReadbackSession | None, locale: ClinicLocale) -> list[Flowable]:
    """Each readback (who, when, what was read back, the result and every difference), the
    incidents the differing ones opened and the session's state."""
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
    typed = [f"reservoir {entered.get('reservoir', '')}", ", ".join(entered.get("drugs", []))]
    bolus = entered.get("bolus")
    if bolus:
        typed.append(f"single bolus {bolus['dose']} over {duration_words(bolus['duration_s'])}")
    else:
        days = [", ".join(steps) for steps in entered.get("days", [])]
        kind = entered.get("program", "")
        if days and all(steps == days[0] for steps in days):
            typed.append(f"{kind} every day: {days[0]}")
        else:
            named = zip(WEEKDAYS, days, strict=False)
            typed += [f"{kind} {name}: {steps}" for name, steps in named]
    ptm = entered.get("ptm")
    typed.append(
        "PTM off"
        if not ptm
        else f"PTM {ptm['dose']} over {duration_words(ptm['duration_s'])}, lockout "
        f"{duration_words(ptm['lockout_s'])}, at most {ptm['max_per_day']} a day"
    )
    change = entered.get("fluid_change")
    if change:
        rate = f" at {change['rate']}" if "rate" in change else ""
        typed.append(f"{change['kind']} {change['volume']}{rate}")
    return typed if drug is None else [drug_units.reworded(line, drug) for line in typed]


def differs_banner(executed: ReadbackSession | None) -> list[Flowable]:
    """The page-1 box of a session stopped by a differing readback (nothing otherwise)."""
    if executed is None or executed.programming.state != STOPPED:
        return []
    detail = (
        f"The programmer's readback differs from prescription #{executed.prescription.number}: "
        "the session stays stopped until the pump reads back as prescribed and a physician "
        "closes the incident."
    )
    return [banner(DIFFERS, detail), gap(6)]


def visit_words(visit: RefillVisit | None, locale: ClinicLocale) -> str:
    """The pump's next refill visit: its start (or day) and whether it is proposed or booked,
    and why it lies after the refill-by date."""
    if visit is None:
        return "none proposed or booked: book one"
    when = day(locale, visit.on) if visit.starts_at is None else moment(locale, visit.starts_at)
    late = ""
    if visit.overdue:
        late = ", after the refill-by date: " + (visit.late_reason or LATE_UNEXPLAINED)
    return f"{when} ({visit.status}{late})"


def next_visit(since: DatesSince, device: Pump, locale: ClinicLocale) -> str:
    """The pump's next refill visit as stored now (none once it is explanted)."""
    if since.pump is None:
        return "none: the pump is explanted" if device.explanted_on else "none"
    return visit_words(since.pump.visit, locale)


def _programming_words(change: Reprogramming, locale: ClinicLocale) -> str:
    """ "programming on 2026-11-04 10:00 EST (prescription #3)"."""
    kind = "refill" if change.at_refill else "programming"
    executed = "" if change.prescription is None else f" (prescription #{change.prescription})"
    return f"{kind} on {moment(locale, change.at)}{executed}"


def dates_now(since: DatesSince, device: Pump, locale: ClinicLocale) -> list[Flowable]:
    """Beside a session's dates: that a later programming (or refill) replaced them, or that
    they were dated again, with the pump's dates and next refill visit as stored now (those the
    dashboard and chart show); that the pump was explanted."""
    flow: list[Flowable] = []
    now = since.pump
    current = ""
    if now is not None:
        current = (
            f"alarm {moment(locale, now.alarm_at) or 'not recorded'}, "
            f"refill by {day(locale, now.refill_by)}, "
            f"next visit {visit_words(now.visit, locale)}"
        )
    first, newest = since.replaced_by, since.newest
    if first is not None:
        words = f"replaced: {_programming_words(first, locale)}"
        more = since.programmings - 1
        if newest is not None and more:
            words += (
                f", then {more} more, the newest: {_programming_words(newest, locale)}"
                if more > 1
                else f", then {_programming_words(newest, locale)}"
            )
        if current:
            words += f"; the pump's dates now: {current}"
        flow += [gap(), banner(REPLACED, words)]
    elif since.moved and current:
        flow += [
            gap(),
            banner(
                MOVED,
                "the pump was dated again since (a change of the clinic's refill margin, time "
                f"zone or drug library); the pump's dates now: {current}",
            ),
        ]
    if device.explanted_on is not None:
        flow += [gap(), note(f"The pump was explanted on {day(locale, device.explanted_on)}.")]
    return flow


def session_signatures(performer: str, prescriber: str, checked: str) -> list[Flowable]:
    """The lines of who programmed the pump, the prescribing physician and the second clinician
    (`checked`: who double-checked the prescription and when, "" when nobody had to)."""
    second = f"Second clinician (double-check: {checked})" if checked else "Second clinician"
    physician = f"Prescribing physician ({prescriber})" if prescriber else "Prescribing physician"
    return _signature_lines(performer, physician, second)


def _signature_lines(*signers: str) -> list[Flowable]:
    """A line to sign and date for each of `signers` (who signs, as the report names them)."""
    return [facts([(signer, SIGNATURE) for signer in signers], columns=1)]
