"""One unit per drug through a whole flow (issue 13's clinical review: a prescription written in
mg showed its dose in mcg/day on some pages and the PDFs, a baclofen one in mcg showed mg where a
clinician had typed mg; a thousand-fold mg/mcg confusion is the classic intrathecal overdose).
For a morphine patient ordered in mg and a baclofen patient ordered in mcg, each taken from the
order to the pump with every stored entry typed in the other unit (drug_units_flow), no page or
PDF shows the drug in the other unit (the table-driven walk); then each place that showed it:
the prescribe form and its review, the double-check, readback and what-if help, the chart's
program card, settings history, refused accepts and incidents, the dashboard, the session and
summary PDFs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from drug_units_flow import (
    BACLOFEN,
    MORPHINE,
    ORDERS,
    Flow,
    Order,
    double_checked,
    first_fill,
    in_unit,
    page_text,
    programmed,
    signed_in,
)
from painpump.clinic.models import Program
from painpump.core.units import Kind

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Page:
    """A page of the walk: who reads it, its address, and what it must show of the drug in the
    order's unit (so that a page showing no quantity cannot pass)."""

    name: str
    reader: str
    url: Callable[[Flow, Program], str]
    shows: Callable[[Order], str]


def _patient(flow: Flow, program: Program) -> str:
    return f"/patients/{flow.implant.episode.patient_id}/"


def _implant(path: str) -> Callable[[Flow, Program], str]:
    return lambda flow, program: f"/implants/{flow.implant.id}/{path}"


def _api(path: str) -> Callable[[Flow, Program], str]:
    return lambda flow, program: f"/api/implants/{flow.implant.id}{path}"


def _nothing(order: Order) -> str:
    return ""


def _drug(order: Order) -> str:
    return order.drug


def _conc(order: Order) -> str:
    return order.concentration


def _dose(order: Order) -> str:
    return order.dose


def _step(order: Order) -> str:
    return order.step


def _ptm_dose(order: Order) -> str:
    return order.ptm_dose


PAGES = [
    Page("dashboard", "physician", lambda f, p: "/", _ptm_dose),
    Page("chart", "physician", _patient, _step),
    Page("refill form", "nurse", _implant("refill/"), _step),
    Page("prescribe form", "physician", _implant("prescribe/"), _step),
    Page("what-if", "physician", _implant("what-if/"), _conc),
    Page("calendar", "physician", lambda f, p: "/calendar/", _nothing),
    Page("refill record", "nurse", lambda f, p: f"/refills/{f.refill.id}/", _dose),
    Page("session PDF", "nurse", lambda f, p: f"/refills/{f.refill.id}/report.pdf", _ptm_dose),
    Page(
        "first readback",
        "nurse",
        lambda f, p: f"/programs/{f.refill.program_id}/readback/",
        _nothing,
    ),
    Page("program record", "nurse", lambda f, p: f"/programs/{p.id}/", _conc),
    Page("differing readback", "nurse", lambda f, p: f"/programs/{p.id}/readback/", _ptm_dose),
    Page("summary PDF", "physician", lambda f, p: _patient(f, p) + "summary.pdf", _step),
    Page("API implant", "nurse", _api(""), _drug),
    Page("API refills", "nurse", _api("/refills"), _drug),
    Page("API prescriptions", "nurse", _api("/prescriptions"), _step),
    Page("API dashboard", "nurse", lambda f, p: "/api/dashboard", _drug),
    Page("API incidents", "nurse", lambda f, p: f"/api{_patient(f, p)}incidents", _ptm_dose),
]


def reviewed(client: Client, flow: Flow, unit: str, **changes: str) -> str:
    """The prescribe form's review of the titration typed again in `unit`, with `changes` (the
    page without the entries as typed)."""
    order = flow.order
    url = f"/implants/{flow.implant.id}/prescribe/"
    form = client.get(url)
    data = {
        "version": str(form.context["form"].initial["version"]),
        "submission": form.context["form"].initial["submission"],
        "drug": order.drug,
        "concentration": order.written(order.concentration, Kind.CONCENTRATION, unit),
        "kind": "flex",
        "step_0_days": "every day",
        "step_0_start": "00:00",
        "step_0_dose": order.written(order.dose, Kind.DOSE_RATE, unit),
        "step_1_days": "mon-fri",
        "step_1_start": "08:00",
        "step_1_dose": order.written(order.step, Kind.DOSE_RATE, unit),
        "ptm_dose": order.written(order.ptm_dose, Kind.MASS, unit),
        "ptm_duration": "10 min",
        "ptm_lockout": "4 hour",
        "ptm_max_per_day": "4",
        "reason": "one bolus less a day",
        **changes,
        "action": "review",
    }
    response = client.post(url, data)
    assert response.status_code == 200, response.content.decode()[-3000:]
    return page_text(response, entries=False)


@ORDERS
def test_no_page_shows_the_drug_in_the_other_unit(
    order: Order, physician: User, nurse: User, pharmacist: User
) -> None:
    flow = first_fill(physician, nurse, pharmacist, order)
    check_url = f"/prescriptions/{flow.titration.id}/check/"
    shown = {"double-check": page_text(signed_in(pharmacist).get(check_url))}
    double_checked(flow, pharmacist)
    program_page = signed_in(nurse).get(f"/implants/{flow.implant.id}/program/")
    shown["programming"] = page_text(program_page)
    program = programmed(flow, physician, nurse)
    shown["review before signing"] = reviewed(
        signed_in(physician), flow, order.unit, ptm_max_per_day="3"
    )
    readers = {"physician": signed_in(physician), "nurse": signed_in(nurse)}
    for page in PAGES:
        shown[page.name] = page_text(readers[page.reader].get(page.url(flow, program)))
        assert page.shows(order) in shown[page.name], page.name
    assert order.concentration in shown["programming"]
    assert order.ptm_dose in shown["review before signing"]
    for name, text in shown.items():
        assert not in_unit(text, order.other), (name, in_unit(text, order.other))


@pytest.fixture
def morphine(physician: User, nurse: User, pharmacist: User) -> Flow:
    return first_fill(physician, nurse, pharmacist, MORPHINE)


@pytest.fixture
def baclofen(physician: User, nurse: User, pharmacist: User) -> Flow:
    return first_fill(physician, nurse, pharmacist, BACLOFEN)


def test_the_prescribe_form_opens_on_the_order_in_its_unit(morphine: Flow, physician: User) -> None:
    """Was: value="20000 mcg/mL", "4400 mcg/day", "100 mcg" on a morphine order in mg."""
    page = signed_in(physician).get(f"/implants/{morphine.implant.id}/prescribe/")
    initial: dict[str, Any] = page.context["form"].initial
    assert initial["concentration"] == "20 mg/mL" and initial["ptm_dose"] == "0.1 mg"
    rows = {initial[f"step_{i}_days"]: initial[f"step_{i}_dose"] for i in (0, 1)}
    assert rows == {"every day": "4 mg/day", "mon-fri": "4.4 mg/day"}
    assert "Dose (with unit: mg/day, as morphine is ordered)" in page_text(page)


def test_the_review_of_an_order_typed_in_the_other_unit_shows_its_unit_and_no_false_change(
    morphine: Flow, physician: User
) -> None:
    """Was: the same morphine order typed in mcg listed its concentration, doses and patient
    bolus as changed (20000 mcg/mL before, 20000 mcg/mL typed, but the steps "4000 mcg/day"
    against "4 mg/day" when typed in mg) and showed them in mcg."""
    review = reviewed(signed_in(physician), morphine, "mcg", ptm_max_per_day="3")
    changes = review.split("What changes against prescription #2")[1]
    assert "Boluses a day 4 3" in changes
    for setting in ("Drug 1", "Steps mon", "Patient bolus 0.1"):
        assert setting not in changes
    assert "00:00 4 mg/day, 08:00 4.4 mg/day" in review
    assert not in_unit(review, "mcg")


def test_the_chart_program_card_shows_steps_and_patient_bolus_in_the_orders_unit(
    morphine: Flow, physician: User, nurse: User, pharmacist: User
) -> None:
    """Was: "Patient bolus 100 mcg over 10 min" under a program of 4 mg/day."""
    double_checked(morphine, pharmacist)
    programmed(morphine, physician, nurse)
    chart = page_text(signed_in(physician).get(f"/patients/{morphine.implant.episode.patient_id}/"))
    card = chart.split("Program running")[1].split("Since")[0]
    assert "Flex steps mon-fri: 00:00 4 mg/day, 08:00 4.4 mg/day; sat-sun: 00:00 4 mg/day" in card
    assert "Patient bolus 0.1 mg over 10 min, lockout 4 h, at most 4 a day" in card


def test_the_settings_history_shows_every_version_in_the_orders_unit(
    morphine: Flow, physician: User
) -> None:
    """Was: "Drug 1 — morphine 20000 mcg/mL", "Daily dose (largest day) 4000 mcg/day"."""
    chart = page_text(signed_in(physician).get(f"/patients/{morphine.implant.episode.patient_id}/"))
    history = chart.split("Prescriptions and settings history")[1].split("Open incidents")[0]
    assert "Drug 1 — morphine 20 mg/mL" in history
    assert "Daily dose (largest day) 4 mg/day 4.266667 mg/day" in history
    assert "Steps mon 00:00 4 mg/day 00:00 4 mg/day, 08:00 4.4 mg/day" in history
    assert "Patient bolus — 0.1 mg" in history


def test_entries_typed_in_the_other_unit_are_shown_in_the_orders_unit(
    baclofen: Flow, physician: User, nurse: User, pharmacist: User
) -> None:
    """Was, on a baclofen order in mcg: the refused accept "ptm.dose entered as 0.01 mg", the
    readback "read back 0.01 mg, prescribed 5 mcg" and its incident in mg on the chart and the
    dashboard."""
    double_checked(baclofen, pharmacist)
    program = programmed(baclofen, physician, nurse)
    client = signed_in(physician)
    chart = page_text(client.get(f"/patients/{baclofen.implant.episode.patient_id}/"))
    assert "ptm.dose entered as 10 mcg did not match" in chart
    assert "ptm.dose: entered 10 mcg, prescribed 5 mcg" in chart.split("Open incidents")[1]
    readback = page_text(signed_in(nurse).get(f"/programs/{program.id}/readback/"))
    assert "ptm.dose: read back 10 mcg, prescribed 5 mcg" in readback
    assert "ptm.dose: entered 10 mcg, prescribed 5 mcg" in page_text(client.get("/"))


def test_the_session_report_prints_the_readback_in_the_orders_unit(
    morphine: Flow, nurse: User
) -> None:
    """Was: "morphine 20000 mcg/mL continuous every day: 00:00 4000 mcg/day PTM 100 mcg" as the
    nurse typed it, and "patient bolus 100 mcg over 10 min" in the mode."""
    report = page_text(signed_in(nurse).get(f"/refills/{morphine.refill.id}/report.pdf"))
    assert "morphine 20 mg/mL continuous every day: 00:00 4 mg/day PTM 0.1 mg over 10 min" in report
    assert "Drug 1 morphine 20 mg/mL" in report and "Patient bolus 0.1 mg" in report
    assert "continuous; patient bolus 0.1 mg over 10 min, lockout 4 h, at most 4 a day" in report


def test_the_summary_report_lists_prescriptions_and_incidents_in_the_orders_unit(
    morphine: Flow, physician: User, nurse: User, pharmacist: User
) -> None:
    """Was: "morphine 20000 mcg/mL; continuous 4000 mcg/day; PTM 100 mcg x4/day"."""
    double_checked(morphine, pharmacist)
    programmed(morphine, physician, nurse)
    url = f"/patients/{morphine.implant.episode.patient_id}/summary.pdf"
    report = page_text(signed_in(physician).get(url))
    assert "morphine 20 mg/mL; continuous 4 mg/day; PTM 0.1 mg x4/day" in report
    assert "morphine 20 mg/mL; flex 4.266667 mg/day; PTM 0.1 mg x4/day" in report
    assert "ptm.dose: entered 0.2 mg, prescribed 0.1 mg" in report


@ORDERS
def test_pages_whose_drug_is_known_name_its_unit_beside_each_entry(
    order: Order, physician: User, nurse: User, pharmacist: User
) -> None:
    """The double-check, refill, what-if and readback pages name the unit the drug is ordered in
    beside each of its entries. Was: "Concentration of baclofen (from the syringe label) a number
    and its unit, e.g. 25 mg/mL, 500 mcg/mL", "Patient bolus dose e.g. 50 mcg" beside a morphine
    order."""
    flow = first_fill(physician, nurse, pharmacist, order)
    rate, conc = f"{order.unit}/day", f"{order.unit}/mL"
    check = page_text(signed_in(pharmacist).get(f"/prescriptions/{flow.titration.id}/check/"))
    ordered = f"as {order.drug} is ordered"
    assert f"(from the syringe label) a number and its unit: {conc}, {ordered}" in check
    assert f"Patient bolus dose a number and its unit: {order.unit}, {ordered}" in check
    assert f"Dose (with unit: {rate}, {ordered})" in check
    refill = page_text(signed_in(nurse).get(f"/implants/{flow.implant.id}/refill/"))
    assert (
        f"Concentration (from the syringe label) a number and its unit: {conc}, {ordered}" in refill
    )
    what_if = page_text(signed_in(physician).get(f"/implants/{flow.implant.id}/what-if/"))
    assert f"a dose in {rate}, {ordered}" in what_if
    double_checked(flow, pharmacist)
    program = programmed(flow, physician, nurse)
    readback = page_text(signed_in(nurse).get(f"/programs/{program.id}/readback/"))
    assert f"Concentration a number and its unit: {conc}, {ordered}" in readback
    assert f"Dose (with unit: {rate}, {ordered})" in readback
