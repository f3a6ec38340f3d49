"""The flow the unit tests walk (issue 13's clinical review: mg and mcg mixed between the pages
of one flow; a thousand-fold mg/mcg confusion is the classic intrathecal overdose): a patient on
morphine, ordered in mg, or on baclofen, ordered in mcg, taken from the order to the pump with
every entry the clinic stores as typed (the double-check, the fill, the readbacks) typed in the
other unit: a prescription with patient boluses, double-checked, filled and read back; a flex
titration with an accept refused, then accepted on its page, programmed and read back wrongly
(an open incident). And how a reader's text is searched for the other unit."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from html import unescape
from io import BytesIO

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pypdf import PdfReader

from clinic_fixtures import implanted_pump
from frozen import NOW, TODAY
from painpump import clock
from painpump.clinic.actions import implantation, patients, programs, refills
from painpump.clinic.actions import prescriptions as prescription_actions
from painpump.clinic.actions.readbacks import record_readback
from painpump.clinic.models import Implant, Prescription, Program, Refill
from painpump.clinic.reads import prescription_history
from painpump.clinic.testing import MEDTRONIC_CATHETER
from painpump.core import prescription as rx
from painpump.core.prescription_compare import CheckEntries, Readback
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, Q, format_decimal, parse


@dataclass(frozen=True)
class Order:
    """A drug ordered in `unit` (mg or mcg): its concentration, the first prescription's daily
    dose and patient bolus, the flex titration's weekday step; `other` is the unit no page may
    show for it."""

    drug: str
    unit: str
    other: str
    concentration: str
    dose: str
    ptm_dose: str
    step: str

    def written(self, text: str, kind: Kind, unit: str) -> str:
        """`text` (in this order's unit) written in `unit`'s mass prefix: "20000 mcg/mL"."""
        value = parse(text, kind, "order")
        target = value.unit.replace(self.unit, unit, 1)
        return f"{format_decimal(value.to(target).value)} {target}"

    def other_way(self, text: str, kind: Kind) -> str:
        return self.written(text, kind, self.other)

    def twice(self, text: str) -> str:
        """A mass (`text`, in this order's unit) doubled: "0.2 mg" for "0.1 mg"."""
        value = parse(text, Kind.MASS, "order")
        return f"{format_decimal(value.value * 2)} {value.unit}"


MORPHINE = Order("morphine", "mg", "mcg", "20 mg/mL", "4 mg/day", "0.1 mg", "4.4 mg/day")
BACLOFEN = Order("baclofen", "mcg", "mg", "2000 mcg/mL", "400 mcg/day", "5 mcg", "440 mcg/day")
ORDERS = pytest.mark.parametrize("order", [MORPHINE, BACLOFEN], ids=["morphine", "baclofen"])
IMPLANTED = TODAY - timedelta(days=85)
PRESCRIBED = datetime.combine(IMPLANTED + timedelta(days=1), time(9, 0), tzinfo=UTC)
FILLED = PRESCRIBED + timedelta(hours=1)
TITRATED = NOW - timedelta(hours=2)
"""The titration is signed two hours before its double-check on the page (on the clock)."""
REASON = "as agreed with the patient at the clinic visit"


def _pump(physician: User, nurse: User, order: Order) -> Implant:
    """A SynchroMed II 20 mL pump: after a baclofen test phase (stroke), or implanted directly
    for tumour pain in an opioid-tolerant patient (morphine)."""
    if order.drug == "baclofen":
        patient = patients.create_patient(
            nurse,
            mrn="MRN-B",
            family_name="Bach",
            given_name="Anna",
            birth_date=date(1970, 5, 1),
            today=TODAY,
        )
        return implanted_pump(physician, patient.id, "NGP100001H")
    patient = patients.create_patient(
        nurse,
        mrn="MRN-M",
        family_name="Mohn",
        given_name="Max",
        birth_date=date(1960, 1, 1),
        today=TODAY,
        opioid_status="tolerant",
        life_expectancy_months=12,
    )
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=IMPLANTED - timedelta(days=20)
    )
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=datetime.combine(IMPLANTED, time(12, 0), tzinfo=UTC),
        pump_model="synchromed-ii-20",
        pump_serial="NGP100002H",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=IMPLANTED,
    )


def _signed(
    physician: User, implant: Implant, value: rx.Prescription, at: datetime
) -> Prescription:
    """`value` signed by the physician at `at`, each warning passed with a reason."""
    preview = prescription_history.preview_prescription(physician, implant.id, value, at=at)
    assert preview.stop is None, preview.stop
    return prescription_actions.prescribe(
        physician,
        implant.id,
        value,
        reason=REASON,
        now=at,
        expected_version=preview.version,
        overrides={w.rule: REASON for w in preview.warnings},
    )


def _drugs(order: Order, unit: str) -> tuple[tuple[str, Q], ...]:
    text = order.written(order.concentration, Kind.CONCENTRATION, unit)
    return ((order.drug, parse(text, Kind.CONCENTRATION, "c")),)


def _ptm(order: Order, unit: str, dose: str | None = None) -> rx.PatientBolus:
    typed = order.written(dose or order.ptm_dose, Kind.MASS, unit)
    return rx.patient_bolus(typed, "10 min", "4 hour", "4")


def _continuous(order: Order, unit: str) -> rx.PrescribedProgram:
    dose = order.written(order.dose, Kind.DOSE_RATE, unit)
    return rx.PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "dose"))


def _flex(order: Order, unit: str) -> rx.PrescribedProgram:
    return rx.flex_program(
        [
            rx.step_row(
                "every day", "00:00", order.written(order.dose, Kind.DOSE_RATE, unit), "steps[0]"
            ),
            rx.step_row(
                "mon-fri", "08:00", order.written(order.step, Kind.DOSE_RATE, unit), "steps[1]"
            ),
        ]
    )


def flex_order(order: Order, unit: str) -> rx.Prescription:
    """The titration: the daily dose, from 08:00 on weekdays the step, the patient bolus."""
    return rx.Prescription(_drugs(order, unit), _flex(order, unit), _ptm(order, unit))


@dataclass(frozen=True)
class Flow:
    order: Order
    implant: Implant
    refill: Refill
    titration: Prescription


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def check_form(order: Order, ptm_dose: str | None = None) -> dict[str, str]:
    """The titration's double-check as a checker types it: every entry in the other unit."""
    other = order.other_way
    return {
        "concentration_0": other(order.concentration, Kind.CONCENTRATION),
        "kind": "flex",
        "step_0_days": "every day",
        "step_0_start": "00:00",
        "step_0_dose": other(order.dose, Kind.DOSE_RATE),
        "step_1_days": "mon-fri",
        "step_1_start": "08:00",
        "step_1_dose": other(order.step, Kind.DOSE_RATE),
        "ptm_dose": other(ptm_dose or order.ptm_dose, Kind.MASS),
        "ptm_duration": "10 min",
        "ptm_lockout": "4 hour",
        "ptm_max_per_day": "4",
        "comment": "",
    }


def first_fill(physician: User, nurse: User, pharmacist: User, order: Order) -> Flow:
    """The pump prescribed (continuous, with patient boluses), double-checked, filled and read
    back, each entry after the prescription typed in the other unit; then a flex titration
    signed, awaiting its double-check."""
    implant = _pump(physician, nurse, order)
    first = rx.Prescription(
        _drugs(order, order.unit), _continuous(order, order.unit), _ptm(order, order.unit)
    )
    record = _signed(physician, implant, first, PRESCRIBED)
    other = order.other
    entries = CheckEntries(_drugs(order, other), _continuous(order, other), _ptm(order, other))
    prescription_actions.double_check(
        pharmacist,
        record.id,
        entries=entries,
        accept=True,
        comment="",
        now=PRESCRIBED + timedelta(minutes=30),
    )
    refill = refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="first",
        performed_at=FILLED,
        expected=None,
        aspirated=None,
        fill=Fill(_drugs(order, other), parse("20 mL", Kind.VOLUME, "v"), "LOT-1"),
    )
    read = Readback(
        parse("20 mL", Kind.VOLUME, "r"),
        _drugs(order, other),
        _continuous(order, other),
        _ptm(order, other),
    )
    record_readback(nurse, refill.program_id, read, FILLED + timedelta(minutes=10))
    titration = _signed(physician, implant, flex_order(order, order.unit), TITRATED)
    return Flow(order, Implant.objects.get(id=implant.id), refill, titration)


def double_checked(flow: Flow, pharmacist: User) -> None:
    """The titration's double-check on its page: an accept refused (a patient bolus twice the
    order's), then accepted, every entry typed in the other unit."""
    order, checker = flow.order, signed_in(pharmacist)
    url = f"/prescriptions/{flow.titration.id}/check/"
    wrong = check_form(order, ptm_dose=order.twice(order.ptm_dose))
    assert checker.post(url, {**wrong, "action": "accept"}).status_code == 422
    assert checker.post(url, {**check_form(order), "action": "accept"}).status_code == 302


def programmed(flow: Flow, physician: User, nurse: User) -> Program:
    """The titration programmed, and read back in the other unit with the patient bolus twice
    the order's: the session stops and an incident is open."""
    program = programs.program_pump(
        physician,
        flow.implant.id,
        expected_version=Implant.objects.get(id=flow.implant.id).version,
        now=clock.now(),
    )
    order, other = flow.order, flow.order.other
    read = Readback(
        parse("15 mL", Kind.VOLUME, "r"),
        _drugs(order, other),
        _flex(order, other),
        _ptm(order, other, order.twice(order.ptm_dose)),
    )
    record_readback(nurse, program.id, read, clock.now())
    return program


def page_text(response: object, *, entries: bool = True) -> str:
    """What a reader sees: a PDF's text, or a page's text with the values of its entries (a
    form shows its initial values there; `entries=False`: without them), whitespace collapsed."""
    assert getattr(response, "status_code", None) == 200, response
    content: bytes = response.content  # type: ignore[attr-defined]
    if response["Content-Type"] == "application/pdf":  # type: ignore[index]
        reader = PdfReader(BytesIO(content))
        return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    if response["Content-Type"].startswith("application/json"):  # type: ignore[index]
        return json.dumps(_untyped(json.loads(content)))
    page = content.decode()
    values = " ".join(re.findall(r'value="([^"]*)"', page)) if entries else ""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page) + " " + values).split())


def _untyped(answer: object) -> object:
    """An API answer without what clinicians typed (`entered`: a record of their entries, kept
    as typed; every page shows it in the order's unit)."""
    if isinstance(answer, dict):
        return {k: _untyped(v) for k, v in answer.items() if k != "entered"}
    if isinstance(answer, list):
        return [_untyped(v) for v in answer]
    return answer


EXAMPLE = re.compile(r"e\.g\. [^;)]*")
"""A help text's example ("e.g. 25 mg/mL, 500 mcg/mL" beside a drug not yet chosen): no
quantity of the patient's drug."""


def in_unit(text: str, unit: str) -> list[str]:
    """Each quantity of a mass unit `unit` in `text` ("5000 mcg/day"), examples aside."""
    seen = EXAMPLE.sub("", text)
    found = re.finditer(rf"\d(?: )?{unit}(?:/mL|/day)?(?![\w/])", seen)
    return [seen[max(0, m.start() - 50) : m.end() + 10] for m in found]
