"""Round 3 of the clinical review, the words and defaults of the prescription pages on a morphine
pump ordered in mg: the prescriber opening the check of their own prescription is told just
that; a refusal says who may do it in words (the capability code after them, or not at all); a
concentration typed in mcg at a refill is shown as typed with its value in the order's unit, and
one a thousand times off is named a possible unit slip; the readback starts from the
prescription's drug and program kind, its flex rows open; the recorded refill shows the program
type, the flex steps and the patient-bolus settings before and after."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User

from drug_units_flow import (
    MORPHINE,
    Flow,
    double_checked,
    first_fill,
    page_text,
    signed_in,
)
from painpump import clock
from painpump.clinic.actions import programs, refills
from painpump.clinic.models import Implant, Program
from painpump.core.refill_decision import Fill, PtmCounts
from painpump.core.units import Kind, parse

if TYPE_CHECKING:  # the test client's response, as django-stubs names it (no runtime class)
    from django.test.client import _MonkeyPatchedWSGIResponse as HttpResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def morphine(physician: User, nurse: User, pharmacist: User) -> Flow:
    return first_fill(physician, nurse, pharmacist, MORPHINE)


def text(response: HttpResponse) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_the_prescriber_opening_the_check_is_told_it_is_their_own(
    morphine: Flow, physician: User
) -> None:
    refused = signed_in(physician).get(f"/prescriptions/{morphine.titration.id}/check/")
    assert refused.status_code == 403
    shown = text(refused)
    assert (
        f"dr.house may not double-check their own prescription #{morphine.titration.number}: "
        "a second clinician, another physician or a pharmacist, double-checks it" in shown
    )
    assert "another clinician's prescription" not in shown
    assert "prescription.check" not in shown


def test_a_role_refusal_says_who_may_in_words_before_the_code(morphine: Flow, nurse: User) -> None:
    refused = signed_in(nurse).get(f"/implants/{morphine.implant.id}/prescribe/")
    assert refused.status_code == 403
    assert "nurse.joy may not prescribe (drug, concentration, program, patient boluses): a " in (
        text(refused)
    )
    assert "a physician may (program.prescribe)" in text(refused)


def _refill(nurse: User, flow: Flow, concentration: str) -> HttpResponse:
    """The refill form reviewed with the prescription's morphine at `concentration`: refused."""
    client = signed_in(nurse)
    url = f"/implants/{flow.implant.id}/refill/"
    initial = client.get(url).context["form"].initial
    entries = {
        "version": str(initial["version"]),
        "idempotency_key": initial["idempotency_key"],
        "drug": "morphine",
        "concentration": concentration,
        "lot": "LOT-2",
        "volume": "20 mL",
        "action": "review",
    }
    answer: HttpResponse = client.post(url, entries)
    assert answer.status_code == 422
    return answer


def test_a_concentration_in_mcg_at_a_refill_is_shown_as_typed_and_named_a_unit_slip(
    morphine: Flow, nurse: User
) -> None:
    """Was: "morphine 0.02 mg/mL differs from the prescription; ... signed by a physician
    (program.prescribe)"."""
    [message] = _refill(nurse, morphine, "20 mcg/mL").context["form"].errors["concentration"]
    assert "morphine 20 mcg/mL (= 0.02 mg/mL) differs from the prescription by a factor of " in (
        message
    )
    assert "1000: it may be a unit slip (mg vs mcg); read the unit on the syringe label" in message
    assert "prescription #1 by dr.house: morphine 20 mg/mL" in message
    assert message.endswith(
        "is a new prescription, signed by a physician (source: rule-prescription)"
    )
    assert "program.prescribe" not in message


def test_a_concentration_otherwise_off_is_no_unit_slip(morphine: Flow, nurse: User) -> None:
    [message] = _refill(nurse, morphine, "25 mg/mL").context["form"].errors["concentration"]
    assert "morphine 25 mg/mL differs from the prescription; limit: as prescribed" in message
    assert "unit slip" not in message and "(=" not in message


def _programmed(flow: Flow, physician: User, pharmacist: User) -> Program:
    double_checked(flow, pharmacist)
    return programs.program_pump(
        physician,
        flow.implant.id,
        expected_version=Implant.objects.get(id=flow.implant.id).version,
        now=clock.now(),
    )


def test_the_readback_starts_from_the_prescriptions_drug_and_kind_its_flex_rows_open(
    morphine: Flow, physician: User, nurse: User, pharmacist: User
) -> None:
    """Was: the drug list on "baclofen" on a morphine pump, the flex rows folded."""
    program = _programmed(morphine, physician, pharmacist)
    page = signed_in(nurse).get(f"/programs/{program.id}/readback/")
    form = page.context["form"]
    assert (form["drug"].value(), form["kind"].value()) == ("morphine", "flex")
    html = page.content.decode()
    assert '<option value="morphine" selected>' in html
    assert re.search(r'<details class="flex-steps" id="step-rows" data-kind="flex" open>', html)
    assert 'data-kind="single_bolus"' in html and "web/refill.js" in html


def test_choosing_flex_unfolds_the_rows_on_every_program_form(
    morphine: Flow, physician: User, pharmacist: User
) -> None:
    """The script that opens a kind's entries when it is chosen is on each page with them."""
    pages = [
        signed_in(physician).get(f"/implants/{morphine.implant.id}/prescribe/"),
        signed_in(pharmacist).get(f"/prescriptions/{morphine.titration.id}/check/"),
    ]
    for page in pages:
        html = page.content.decode()
        assert "web/refill.js" in html and 'data-kind="flex"' in html


def test_the_recorded_refill_shows_the_program_type_steps_and_patient_bolus_before_and_after(
    morphine: Flow, physician: User, nurse: User, pharmacist: User
) -> None:
    double_checked(morphine, pharmacist)
    fill = Fill(
        ((MORPHINE.drug, parse("20 mg/mL", Kind.CONCENTRATION, "c")),),
        parse("20 mL", Kind.VOLUME, "v"),
        "LOT-2",
    )
    refill = refills.perform_refill(
        nurse,
        morphine.implant.id,
        idempotency_key="titration",
        performed_at=clock.now() + timedelta(minutes=5),
        expected=parse("15 mL", Kind.VOLUME, "e"),
        aspirated=parse("15 mL", Kind.VOLUME, "a"),
        fill=fill,
        ptm=PtmCounts(2, 2),
        overrides={"twin_residual": "the pump was checked with the programmer"},
    )
    for url, reader in (
        (f"/refills/{refill.id}/", nurse),
        (f"/refills/{refill.id}/verify/", physician),
    ):
        shown = page_text(signed_in(reader).get(url), entries=False)
        table = shown.split("Every setting before and after the refill")[1].split("Refill by")[0]
        assert "Program continuous flex" in table, table
        assert "Steps mon-fri 00:00 4 mg/day 00:00 4 mg/day, 08:00 4.4 mg/day" in table, table
        assert "Steps sat-sun 00:00 4 mg/day 00:00 4 mg/day" in table
        assert "Patient bolus 0.1 mg 0.1 mg" in table and "Lockout 4 h 4 h" in table, table
        assert "Boluses a day 4 4" in table
