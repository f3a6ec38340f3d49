"""Prescriptions at the centre (issue 13): only a physician signs one; a high-alert one waits for a
second clinician's independent double-check (never the prescriber's; accepted only when the
entries match, rejected only with a comment) before any pump is programmed with it; a refill
executes the prescription ready or in force and cannot change it; programming between refills
takes the ready prescription of the drugs in the pump. Each change is audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from clinic_fixtures import FIRST_FILL
from painpump.clinic import audit, audit_apart
from painpump.clinic.actions import (
    implantation,
    patients,
    prescriptions,
    programs,
    readbacks,
    refills,
)
from painpump.clinic.errors import Conflict
from painpump.clinic.models import (
    AuditEntry,
    Implant,
    Incident,
    Prescription,
    PrescriptionCheck,
    Program,
    Refill,
)
from painpump.clinic.reads import prescription_history
from painpump.clinic.roles import Forbidden, Role
from painpump.clinic.testing import MEDTRONIC_CATHETER, baclofen
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
MORNING = DAY_60 - timedelta(hours=2)
"""When the physician prescribes and the pharmacist double-checks, before the day-60 refill."""
DOSE = parse("400 mcg/day", Kind.DOSE_RATE, "dose")
HALF = baclofen("1000 mcg/mL")
"""Baclofen at half the fixture's concentration: a change the physician prescribes."""


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def concentration(text: str) -> Q:
    return parse(text, Kind.CONCENTRATION, "c")


def version(implant_id: UUID) -> int:
    return Implant.objects.get(id=implant_id).version


def prescribe(
    user: User, implant: Implant, fill: Fill = HALF, daily: Q = DOSE, **kwargs: object
) -> Prescription:
    """A continuous prescription of `fill`'s drugs at `daily`, signed (not yet checked); a
    change of concentration bridged."""
    change = rx.FluidChange.BRIDGE if implant.refills.exists() else rx.FluidChange.NONE
    return prescriptions.prescribe(
        user,
        implant.id,
        rx.Prescription(fill.drugs, rx.PrescribedProgram.continuous(daily), fluid_change=change),
        reason="half the concentration: a larger volume for the same dose",
        now=MORNING,
        expected_version=version(implant.id),
        **kwargs,  # type: ignore[arg-type]
    )


def check(
    user: User,
    record: Prescription,
    *,
    entered: Fill = HALF,
    daily: Q = DOSE,
    program: rx.PrescribedProgram | None = None,
    ptm: rx.PatientBolus | None = None,
    accept: bool = True,
    comment: str = "",
) -> PrescriptionCheck:
    """The second clinician's entries: `entered`'s concentrations, the `program` (by default
    continuous at `daily`), the PTM settings and the bridge the order names for a change of the
    fixture pump's baclofen concentration."""
    name, conc = entered.drugs[0]
    halved = name == "baclofen" and conc.canonical != 2000  # the fixture pump holds 2000 mcg/mL
    change = rx.FluidChange.BRIDGE if halved else rx.FluidChange.NONE
    return prescriptions.double_check(
        user,
        record.id,
        entries=CheckEntries(
            entered.drugs, program or rx.PrescribedProgram.continuous(daily), ptm, change
        ),
        accept=accept,
        comment=comment,
        now=MORNING + timedelta(minutes=30),
    )


def refill(user: User, implant: Implant, fill: Fill = HALF, *, later: bool = False) -> Refill:
    """The refill on day 60 (`later`: 20 days on, at 0.4 mL/day) with the volume the pump
    expected left."""
    left = parse("12 mL" if later else "8 mL", Kind.VOLUME, "left")
    return refills.perform_refill(
        user,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60 + timedelta(days=20 if later else 0),
        expected=left,
        aspirated=left,
        fill=fill,
    )


def written() -> tuple[int, int, int, int, int]:
    return (
        Prescription.objects.count(),
        PrescriptionCheck.objects.count(),
        Refill.objects.count(),
        Program.objects.count(),
        AuditEntry.objects.count(),
    )


def status(record: Prescription) -> str:
    record.refresh_from_db()
    return record.status


def test_only_a_physician_signs_a_prescription(
    implant: Implant, physician: User, nurse: User, pharmacist: User
) -> None:
    before = written()
    for user in (nurse, pharmacist):
        with pytest.raises(Forbidden, match=r"program\.prescribe"):
            prescribe(user, implant)
    assert written() == before
    record = prescribe(physician, implant)
    assert (record.number, record.prescribed_by, record.prescribed_at) == (2, "dr.house", MORNING)
    assert record.daily_dose_mcg_per_day == Decimal(400)
    assert [(d.drug, d.concentration_mcg_per_ml) for d in record.drugs.all()] == [
        ("baclofen", Decimal(1000))
    ]
    entry = AuditEntry.objects.get(action="prescription.create", object_id=str(record.id))
    assert entry.actor == "dr.house" and entry.patient_id == implant.episode.patient_id
    assert entry.before is not None and entry.after is not None
    assert entry.before["drug 1"] == "baclofen 2000 mcg/mL"
    assert entry.after["drug 1"] == "baclofen 1000 mcg/mL"
    assert entry.after["status"] == "awaiting_check"
    assert audit.verify().ok


def test_a_high_alert_prescription_awaits_its_double_check_before_any_programming(
    implant: Implant, physician: User, nurse: User
) -> None:
    record = prescribe(physician, implant)
    assert record.high_alert and record.status == Prescription.Status.AWAITING_CHECK
    before = written()
    with pytest.raises(Refusal) as caught:
        programs.program_pump(nurse, implant.id, expected_version=version(implant.id), now=MORNING)
    assert (caught.value.field, caught.value.value) == (
        "prescription",
        "#2 (Awaiting the double-check)",
    )
    assert caught.value.problem == "is not ready to program"
    assert written() == before


def test_a_first_fill_before_the_double_check_is_refused_naming_it(
    physician: User, nurse: User
) -> None:
    implant = unfilled_pump(physician, nurse)
    morphine = Fill(
        (("morphine", concentration("10 mg/mL")),), parse("20 mL", Kind.VOLUME, "v"), "M-1"
    )
    prescribe(physician, implant, morphine, dose("1 mg/day"))
    before = written()
    with pytest.raises(Refusal) as caught:
        first_fill(nurse, implant, morphine)
    assert caught.value.field == "prescription"
    assert caught.value.value == "#1 by dr.house (Awaiting the double-check)"
    assert caught.value.problem == "is not ready to program"
    assert caught.value.source == "rule-double-check"
    assert "double-checked by a physician or a pharmacist other than the" in caught.value.limit
    assert written() == before


def test_a_refill_of_a_prescription_awaiting_its_double_check_is_refused_naming_it(
    implant: Implant, physician: User, nurse: User
) -> None:
    """The nurse brings the new concentration the physician prescribed this morning; what is
    missing is the second clinician's double-check, not a physician's signature."""
    waiting = prescribe(physician, implant)
    before = written()
    with pytest.raises(Refusal) as caught:
        refill(nurse, implant)
    assert caught.value.field == "prescription"
    assert caught.value.value == "#2 by dr.house (Awaiting the double-check)"
    assert caught.value.source == "rule-double-check"
    assert written() == before
    # the prescription in force is still refilled meanwhile; the new one keeps waiting
    executed = refill(nurse, implant, baclofen()).program.prescription
    assert executed is not None and executed.number == 1
    assert status(waiting) == Prescription.Status.AWAITING_CHECK


def first_fill(user: User, implant: Implant, fill: Fill) -> Refill:
    return refills.perform_refill(
        user,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60,
        expected=None,
        aspirated=None,
        fill=fill,
    )


def test_a_prescription_that_is_not_high_alert_is_ready_at_once(
    physician: User, nurse: User
) -> None:
    """Clonidine alone (an adjuvant, not an opioid, ziconotide or baclofen) needs no
    double-check: the nurse can fill the pump with it straight away."""
    implant = unfilled_pump(physician, nurse)
    clonidine = Fill(
        (("clonidine", concentration("500 mcg/mL")),), parse("20 mL", Kind.VOLUME, "v"), "C-1"
    )
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(clonidine.drugs, rx.PrescribedProgram.continuous(dose("100 mcg/day"))),
        reason="adjuvant for neuropathic pain",
        now=MORNING,
        expected_version=version(implant.id),
        overrides={"pump_approval": "clonidine off-label in this pump, per the clinic's protocol"},
    )
    assert not record.high_alert
    assert record.status == Prescription.Status.READY and not record.checks.exists()
    with pytest.raises(Refusal, match="is not awaiting a double-check"):
        prescriptions.double_check(
            physician,
            record.id,
            entries=CheckEntries(
                clonidine.drugs, rx.PrescribedProgram.continuous(dose("100 mcg/day")), None
            ),
            accept=True,
            comment="",
            now=MORNING,
        )
    first = first_fill(nurse, implant, clonidine)
    assert first.program.prescription == record
    assert status(record) == Prescription.Status.ACTIVE


def unfilled_pump(physician: User, nurse: User) -> Implant:
    """A tumour-pain patient's pump implanted on day 59, not yet filled."""
    patient = patients.create_patient(
        nurse,
        mrn="MRN-CLO",
        family_name="Clausen",
        given_name="Clara",
        birth_date=FIRST_FILL.date() - timedelta(days=22_000),
        today=FIRST_FILL.date(),
        opioid_status="tolerant",
        life_expectancy_months=12,
    )
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=FIRST_FILL.date()
    )
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=DAY_60 - timedelta(days=1),
        pump_model="synchromed-ii-20",
        pump_serial="NGP-CLO",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=(DAY_60 - timedelta(days=1)).date(),
    )


def test_the_prescriber_cannot_double_check_their_own_prescription(
    implant: Implant, physician: User
) -> None:
    record = prescribe(physician, implant)
    before = written()
    with pytest.raises(Refusal) as caught:
        check(physician, record)
    assert (caught.value.field, caught.value.value) == ("checked_by", "dr.house")
    assert caught.value.source == "rule-double-check"
    assert written() == before
    assert status(record) == Prescription.Status.AWAITING_CHECK


def test_a_nurse_may_not_double_check(implant: Implant, physician: User, nurse: User) -> None:
    record = prescribe(physician, implant)
    with pytest.raises(Forbidden, match=r"prescription\.check"):
        check(nurse, record)


def test_accepting_entries_that_differ_is_refused_naming_the_field_and_nothing_changes(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = prescribe(physician, implant)
    before, pump = written(), version(implant.id)
    with pytest.raises(Refusal) as caught:
        check(pharmacist, record, entered=baclofen("2000 mcg/mL"))
    assert caught.value.field == "concentrations.baclofen"
    assert caught.value.value == "2000 mcg/mL"
    assert caught.value.limit.startswith("the value of prescription #2 by dr.house (not shown")
    assert "1000" not in caught.value.limit
    assert caught.value.problem.startswith("differs from the prescription")
    with pytest.raises(Refusal) as dosed:
        check(pharmacist, record, daily=dose("440 mcg/day"))
    assert (dosed.value.field, dosed.value.value) == ("program.days.mon", "00:00 440 mcg/day")
    assert "(so do program.days.tue, program.days.wed," in dosed.value.problem
    with pytest.raises(Refusal) as bolus:
        check(pharmacist, record, ptm=rx.patient_bolus("50 mcg", "2 min", "3 hour", "4"))
    assert bolus.value.field == "ptm" and "(not shown" in bolus.value.limit
    # nothing clinical written; each refused accept leaves its audit entry (the next test)
    assert written()[:4] == before[:4] and version(implant.id) == pump
    assert written()[4] == before[4] + 3
    assert status(record) == Prescription.Status.AWAITING_CHECK
    assert record.checked_by == ""


def test_every_refused_accept_is_audited_with_who_when_and_what_differed_and_then_shown(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """A checker retrying numbers until they match leaves a trace: each refused accept is an
    audit entry (who, when, each entry that differed as entered, never the prescribed value),
    and the settings history says the prescription was accepted after them."""
    record = prescribe(physician, implant)
    with pytest.raises(Refusal):
        check(pharmacist, record, entered=baclofen("2000 mcg/mL"))
    with pytest.raises(Refusal):
        check(pharmacist, record, daily=dose("440 mcg/day"))
    accepted = check(pharmacist, record)
    entries = list(AuditEntry.objects.filter(action="prescription.accept_refused").order_by("seq"))
    assert [(e.actor, e.object_id, e.patient_id) for e in entries] == [
        ("pharma.cist", str(record.id), implant.episode.patient_id)
    ] * 2
    first, second = (e.after or {} for e in entries)
    assert first["differed"] == [
        {"field": "concentrations.baclofen", "entered": "2000 mcg/mL"},
        {"field": "fluid_change", "entered": "none"},  # no bridge named: the same fluid read
    ]
    assert "entered" not in first  # only what differed, never the whole order entered
    assert first["attempted_at"] == (MORNING + timedelta(minutes=30)).isoformat()
    assert [d["field"] for d in second["differed"]] == [f"program.days.{d}" for d in rx.WEEKDAYS]
    assert "1000 mcg/mL" not in str(first) and "400 mcg/day" not in str(second)
    [version] = [
        v
        for v in prescription_history.prescription_versions(physician, implant.id)
        if v.record.id == record.id
    ]
    assert version.checks == (accepted,) and version.refused_words == "2 entries that did not match"
    assert [(r.by, r.at) for r in version.refused] == [
        ("pharma.cist", MORNING + timedelta(minutes=30))
    ] * 2
    assert version.refused[1].differed[0] == prescription_history.Differed(
        "program.days.mon", "00:00 440 mcg/day"
    )
    assert audit.verify().ok


def test_a_refused_accept_of_a_long_flex_program_keeps_only_what_differed_shortened(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """The attacker's flood: four drugs and a 100-step flex program entered wrong. The entry
    keeps each differing field with its value entered, shortened, never the whole order (it
    was some 29 KB; now it is bounded)."""
    record = prescribe(physician, implant)
    steps = tuple(rx.Step(i * 600, dose(f"{400 + i} mcg/day")) for i in range(100))
    entered = baclofen("2000 mcg/mL")
    drugs = (
        *entered.drugs,
        ("morphine", concentration("10 mg/mL")),
        ("clonidine", concentration("500 mcg/mL")),
        ("bupivacaine", concentration("5 mg/mL")),
    )
    with pytest.raises(Refusal):
        prescriptions.double_check(
            pharmacist,
            record.id,
            entries=CheckEntries(drugs, rx.PrescribedProgram.flex((steps,) * 7), None),
            accept=True,
            comment="",
            now=MORNING,
        )
    [entry] = AuditEntry.objects.filter(action="prescription.accept_refused")
    after = entry.after or {}
    assert set(after) == {"number", "attempted_at", "differed"}
    fields = [d["field"] for d in after["differed"]]
    assert "program.kind" in fields and "concentrations.morphine" in fields
    assert all(len(d["entered"]) <= prescriptions.ENTERED_MAX for d in after["differed"])
    monday = next(d["entered"] for d in after["differed"] if d["field"] == "program.days.mon")
    assert monday.startswith("00:00 400 mcg/day, 00:10 401 mcg/day") and "characters)" in monday
    assert len(json.dumps(after)) < 4000


def test_accepts_are_stopped_after_three_refused_and_the_stop_is_audited_once(
    implant: Implant, physician: User, pharmacist: User, make_user: Callable[..., User]
) -> None:
    """After REFUSED_ACCEPTS_MAX refused accepts by one checker, their next accepts are refused
    before comparing (even matching entries), telling them to reject or let another clinician
    check; one entry says so, the retries write none. Rejecting and another checker still
    work."""
    record = prescribe(physician, implant)
    for _ in range(prescriptions.REFUSED_ACCEPTS_MAX):
        with pytest.raises(Refusal) as differs:
            check(pharmacist, record, daily=dose("440 mcg/day"))
        assert differs.value.field == "program.days.mon"
    for _ in range(5):
        with pytest.raises(Refusal) as stopped:
            check(pharmacist, record)  # matching entries: refused all the same
        assert stopped.value.field == "accept"
        assert stopped.value.value == "3 refused accepts by pharma.cist of prescription #2"
        assert "reject the prescription with a comment" in stopped.value.problem
        assert "let another clinician double-check it" in stopped.value.problem
    assert AuditEntry.objects.filter(action="prescription.accept_refused").count() == 3
    [once] = AuditEntry.objects.filter(action="prescription.accepts_stopped")
    assert (once.actor, once.object_id) == ("pharma.cist", str(record.id))
    assert status(record) == Prescription.Status.AWAITING_CHECK
    accepted = check(make_user("dr.watson", Role.PHYSICIAN), record)
    assert accepted.accepted and status(record) == Prescription.Status.READY
    assert audit.verify().ok


def test_a_checker_whose_accepts_are_stopped_may_still_reject_with_a_comment(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = prescribe(physician, implant)
    for _ in range(prescriptions.REFUSED_ACCEPTS_MAX):
        with pytest.raises(Refusal):
            check(pharmacist, record, daily=dose("440 mcg/day"))
    rejected = check(pharmacist, record, accept=False, comment="the label reads 440 mcg/day")
    assert not rejected.accepted and status(record) == Prescription.Status.REJECTED


def test_a_refused_accept_is_audited_though_the_requests_transaction_rolls_back(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """Through the API an error rolls the whole request back: the refused accept's entry is
    written apart, once the request's transaction has ended (plumbing.kept_apart)."""
    record = prescribe(physician, implant)
    with audit_apart.kept_apart():
        with pytest.raises(Refusal), transaction.atomic():  # the request's transaction
            check(pharmacist, record, daily=dose("440 mcg/day"))
        assert not AuditEntry.objects.filter(action="prescription.accept_refused").exists()
    assert AuditEntry.objects.filter(action="prescription.accept_refused").count() == 1
    assert status(record) == Prescription.Status.AWAITING_CHECK


def test_a_rejection_needs_a_comment(implant: Implant, physician: User, pharmacist: User) -> None:
    record = prescribe(physician, implant)
    before = written()
    for blank in ("", "   "):
        with pytest.raises(Refusal) as caught:
            check(pharmacist, record, accept=False, comment=blank)
        assert (caught.value.field, caught.value.problem) == ("comment", "is required")
    assert written() == before
    assert status(record) == Prescription.Status.AWAITING_CHECK


def test_a_rejected_prescription_is_corrected_by_a_new_one_which_is_then_accepted(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    wrong = prescribe(physician, implant, daily=dose("440 mcg/day"))
    comment = "the order on the chart says 400 mcg/day"
    rejected = check(pharmacist, wrong, accept=False, comment=f" {comment} ")
    assert (rejected.accepted, rejected.comment, rejected.checked_by) == (
        False,
        comment,
        "pharma.cist",
    )
    assert rejected.entered == {
        "concentrations": ["baclofen 1000 mcg/mL"],
        "program": "continuous",
        "days": [["00:00 400 mcg/day"]] * 7,
        "bolus": None,
        "ptm": None,
        "fluid_change": "bridge",
    }
    assert rejected.mismatches == [
        {
            "field": f"program.days.{day}",
            "entered": "00:00 400 mcg/day",
            "prescribed": "00:00 440 mcg/day",
        }
        for day in rx.WEEKDAYS
    ]
    assert status(wrong) == Prescription.Status.REJECTED
    with pytest.raises(Refusal, match="is not awaiting a double-check"):
        check(pharmacist, wrong)
    with pytest.raises(Refusal):  # nothing ready: the rejected one is never filled
        refill(nurse, implant)
    entry = AuditEntry.objects.get(action="prescription.reject")
    assert entry.actor == "pharma.cist" and entry.after is not None
    assert entry.after["comment"] == comment and entry.after["status"] == "rejected"
    corrected = prescribe(physician, implant)
    assert corrected.number == 3
    accepted = check(pharmacist, corrected)
    assert accepted.accepted and accepted.mismatches == []
    corrected.refresh_from_db()
    assert corrected.status == Prescription.Status.READY
    assert (corrected.checked_by, corrected.checked_at) == ("pharma.cist", accepted.checked_at)
    assert AuditEntry.objects.filter(action="prescription.accept").count() == 2  # + fixture's
    assert status(wrong) == Prescription.Status.REJECTED


def test_a_new_prescription_withdraws_the_one_not_yet_programmed(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    first = prescribe(physician, implant)
    check(pharmacist, first)
    second = prescribe(physician, implant, daily=dose("420 mcg/day"))
    assert status(first) == Prescription.Status.WITHDRAWN
    assert second.supersedes == first
    entry = AuditEntry.objects.get(action="prescription.create", object_id=str(second.id))
    assert entry.after is not None and entry.after["withdrawn"] == [2]


def test_a_prescription_on_a_form_opened_before_another_change_is_a_conflict(
    implant: Implant, physician: User
) -> None:
    opened = version(implant.id)
    prescribe(physician, implant)
    with pytest.raises(Conflict):
        prescriptions.prescribe(
            physician,
            implant.id,
            rx.Prescription(
                HALF.drugs,
                rx.PrescribedProgram.continuous(DOSE),
                fluid_change=rx.FluidChange.BRIDGE,
            ),
            reason="prescribed on a stale form",
            now=MORNING,
            expected_version=opened,
        )


def test_a_refill_executes_the_ready_prescription_and_puts_it_in_force(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    (first,) = Prescription.objects.filter(implant=implant)
    record = prescribe(physician, implant)
    check(pharmacist, record)
    done = refill(nurse, implant)
    assert status(record) == Prescription.Status.ACTIVE
    assert status(first) == Prescription.Status.SUPERSEDED
    program = done.program
    assert program.prescription == record
    assert (program.prescribed_by, program.programmed_by) == ("dr.house", "nurse.joy")
    assert program.dose_mcg_per_day == Decimal(400)
    assert program.rate_ml_per_day == Decimal("0.4")
    assert [(d.drug, d.concentration_mcg_per_ml) for d in done.drugs.all()] == [
        ("baclofen", Decimal(1000))
    ]
    entry = AuditEntry.objects.filter(action="refill.perform").last()
    assert entry is not None and entry.after is not None
    assert entry.actor == "nurse.joy" and entry.after["prescription"] == 2
    again = refill(nurse, implant, later=True)  # the next one executes the one in force
    assert again.program.prescription == record


def test_a_nurses_refill_with_another_drug_or_concentration_is_refused_and_writes_nothing(
    implant: Implant, nurse: User
) -> None:
    before = written()
    morphine = Fill(
        (("morphine", concentration("10 mg/mL")),), parse("20 mL", Kind.VOLUME, "v"), "M-1"
    )
    for fill, shown in ((HALF, "baclofen 1000 mcg/mL"), (morphine, "morphine 10 mg/mL")):
        with pytest.raises(Refusal) as caught:
            refill(nurse, implant, fill)
        assert (caught.value.field, caught.value.value) == ("drugs[0]", shown)
        assert caught.value.problem == "differs from the prescription"
        assert "prescription #1 by dr.house: baclofen 2000 mcg/mL" in caught.value.limit
        assert caught.value.limit.endswith("signed by a physician")
    with pytest.raises(Refusal) as added:
        refill(nurse, implant, with_clonidine())
    assert (added.value.field, added.value.value) == ("drugs[1]", "clonidine 500 mcg/mL")
    assert written() == before


def with_clonidine() -> Fill:
    return Fill(
        (("baclofen", concentration("2000 mcg/mL")), ("clonidine", concentration("500 mcg/mL"))),
        parse("20 mL", Kind.VOLUME, "v"),
        "A-1",
    )


def test_programming_a_ready_prescription_of_other_drugs_is_refused_as_needing_a_refill(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    record = prescribe(physician, implant)
    check(pharmacist, record)
    before = written()
    with pytest.raises(Refusal) as caught:
        programs.program_pump(nurse, implant.id, expected_version=version(implant.id), now=MORNING)
    assert caught.value.problem == "needs a refill"
    assert caught.value.value == "#2: baclofen 1000 mcg/mL"
    assert "baclofen 2000 mcg/mL" in caught.value.limit
    assert written() == before
    assert status(record) == Prescription.Status.READY


def test_a_titration_is_programmed_between_refills_by_a_nurse(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    at = FIRST_FILL + timedelta(days=3)
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen().drugs, rx.PrescribedProgram.continuous(dose("440 mcg/day"))),
        reason="spasms persist at night",
        now=at,
        expected_version=version(implant.id),
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(
            baclofen().drugs, rx.PrescribedProgram.continuous(dose("440 mcg/day")), None
        ),
        accept=True,
        comment="",
        now=at,
    )
    opened = version(implant.id)
    program = programs.program_pump(nurse, implant.id, expected_version=opened, now=at)
    assert program.prescription == record
    assert (program.prescribed_by, program.programmed_by) == ("dr.house", "nurse.joy")
    assert status(record) == Prescription.Status.ACTIVE
    entry = AuditEntry.objects.get(action="program.change")
    assert entry.actor == "nurse.joy" and entry.after is not None
    assert entry.after["prescription"] == 2
    with pytest.raises(Refusal, match="is not ready to program"):  # programmed once
        programs.program_pump(nurse, implant.id, expected_version=version(implant.id), now=at)


def test_another_physician_may_double_check_and_a_pharmacist_may_not_program(
    implant: Implant, physician: User, pharmacist: User, make_user: Callable[..., User]
) -> None:
    colleague = make_user("dr.wilson", Role.PHYSICIAN)
    record = prescribe(physician, implant)
    assert check(colleague, record).checked_by == "dr.wilson"
    with pytest.raises(Forbidden):
        programs.program_pump(
            pharmacist, implant.id, expected_version=version(implant.id), now=MORNING
        )


def test_every_change_from_prescription_to_closed_incident_is_audited_in_order(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    start = AuditEntry.objects.order_by("seq").last()
    assert start is not None
    wrong = prescribe(physician, implant, daily=dose("440 mcg/day"))
    check(pharmacist, wrong, accept=False, comment="the order says 400 mcg/day")
    check(pharmacist, prescribe(physician, implant))
    done = refill(nurse, implant)
    shown = ReadValues(
        parse("18 mL", Kind.VOLUME, "reservoir"),
        HALF.drugs,
        rx.PrescribedProgram.continuous(DOSE),
        None,
    )
    readback = readbacks.record_readback(nurse, done.program.id, shown, DAY_60)
    incident = Incident.objects.get(readback=readback)
    readbacks.close_incident(physician, incident.id, "pump interrogated, 20 mL confirmed", DAY_60)
    trail = AuditEntry.objects.filter(
        seq__gt=start.seq, action__regex=r"^(prescription|refill|readback|incident)\."
    )
    assert [(e.action, e.actor) for e in trail] == [
        ("prescription.create", "dr.house"),
        ("prescription.reject", "pharma.cist"),
        ("prescription.create", "dr.house"),
        ("prescription.accept", "pharma.cist"),
        ("prescription.supersede", "nurse.joy"),
        ("prescription.in_force", "nurse.joy"),
        ("refill.perform", "nurse.joy"),
        ("readback.record", "nurse.joy"),
        ("incident.open", "nurse.joy"),
        ("incident.close", "dr.house"),
    ]
    assert {e.patient_id for e in trail} == {implant.episode.patient_id}
    assert audit.verify().ok


NIGHTS = rx.flex_program(
    [
        rx.step_row("every day", "00:00", "420 mcg/day", "steps[0]"),
        rx.step_row("mon-fri", "07:00", "400 mcg/day", "steps[1]"),
        rx.step_row("sat-sun", "09:00", "400 mcg/day", "steps[2]"),
    ]
)
"""More at night, the mornings later at the weekend."""
BOLUS = rx.patient_bolus("10 mcg", "2 min", "4 hour", "2")


def test_a_flex_order_with_boluses_is_accepted_only_when_every_step_and_setting_is_entered(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(HALF.drugs, NIGHTS, BOLUS, fluid_change=rx.FluidChange.BRIDGE),
        reason="spasms at night; boluses for the evening",
        now=MORNING,
        expected_version=version(implant.id),
    )
    slipped = rx.flex_program(
        [
            rx.step_row("every day", "00:00", "0.42 mg/day", "steps[0]"),
            rx.step_row("mon-fri", "08:00", "400 mcg/day", "steps[1]"),
            rx.step_row("sat-sun", "09:00", "400 mcg/day", "steps[2]"),
        ]
    )
    before = written()
    with pytest.raises(Refusal) as late:
        check(pharmacist, record, program=slipped, ptm=BOLUS)
    assert late.value.field == "program.days.mon"
    assert late.value.value == "00:00 0.42 mg/day, 08:00 400 mcg/day"
    assert "420 mcg/day" not in late.value.limit and "(not shown" in late.value.limit
    with pytest.raises(Refusal) as milligrams:
        check(
            pharmacist,
            record,
            program=NIGHTS,
            ptm=rx.patient_bolus("10 mg", "2 min", "4 hour", "2"),
        )
    assert (milligrams.value.field, milligrams.value.value) == ("ptm.dose", "10 mg")
    with pytest.raises(Refusal) as off:
        check(pharmacist, record, program=NIGHTS)
    assert (off.value.field, off.value.value) == ("ptm", "off")
    assert written()[:4] == before[:4]  # nothing clinical: only the 3 refused accepts audited
    assert written()[4] == before[4] + 3
    rejected = check(
        pharmacist,
        record,
        program=slipped,
        ptm=rx.patient_bolus("10 mcg", "2 min", "1 hour", "6"),
        accept=False,
        comment="the order has the morning step at 07:00",
    )
    assert [m["field"] for m in rejected.mismatches] == [
        *(f"program.days.{day}" for day in rx.WEEKDAYS[:5]),
        "ptm.lockout",
        "ptm.max_per_day",
    ]
    assert rejected.entered["days"][0] == ["00:00 0.42 mg/day", "08:00 400 mcg/day"]
    assert rejected.entered["ptm"] == {
        "dose": "10 mcg",
        "duration_s": 120,
        "lockout_s": 3600,
        "max_per_day": 6,
    }
    again = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(HALF.drugs, NIGHTS, BOLUS, fluid_change=rx.FluidChange.BRIDGE),
        reason="as before; the pharmacist's comment checked against the order",
        now=MORNING,
        expected_version=version(implant.id),
    )
    accepted = check(
        pharmacist,
        again,
        entered=baclofen("1 mg/mL"),
        program=NIGHTS,
        ptm=rx.patient_bolus("0.01 mg", "120 s", "240 min", "2"),
    )
    assert accepted.accepted and accepted.mismatches == []
    assert status(again) == Prescription.Status.READY


def test_a_change_away_from_a_high_alert_drug_waits_for_the_double_check_too(
    implant: Implant, physician: User
) -> None:
    """Baclofen stopped for clonidine alone: clonidine is not high-alert, but stopping baclofen
    is, so the change is double-checked before the pump is filled with it."""
    clonidine = (("clonidine", concentration("500 mcg/mL")),)
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(clonidine, rx.PrescribedProgram.continuous(dose("100 mcg/day"))),
        reason="baclofen stopped after a taper, clonidine for the pain",
        now=MORNING,
        expected_version=version(implant.id),
        overrides={
            "baclofen_stopped": "the taper prescribed before ends with this fill",
            "pump_approval": "clonidine off-label in this pump, per the clinic's protocol",
            "old_fluid_at_new_rate": "the baclofen in the catheter tapers over the first day",
        },
    )
    assert record.high_alert
    assert record.status == Prescription.Status.AWAITING_CHECK
