"""Each form names the unit its drug is ordered in beside each entry, also when it is shown again
(round 3 of the clinical review: after any refusal or review the hints fell back to the generic
"e.g. 50 mcg" and "e.g. 25 mg/mL, 500 mcg/mL" on a morphine pump ordered in mg; a validated form
keeps the help its entries were made with). For a morphine pump: the prescription form refused,
reviewed and with more step rows; the double-check refused and with more step rows; the
readback refused; the refill refused."""

from __future__ import annotations

import re
from html import unescape
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User

from drug_units_flow import MORPHINE, Flow, check_form, double_checked, first_fill, signed_in
from painpump import clock
from painpump.clinic.actions import programs
from painpump.clinic.models import Implant, Program

if TYPE_CHECKING:  # the test client's response, as django-stubs names it (no runtime class)
    from django.test.client import _MonkeyPatchedWSGIResponse as HttpResponse

pytestmark = pytest.mark.django_db

CONCENTRATION = "a number and its unit: mg/mL, as morphine is ordered"
DOSE = "a number and its unit: mg/day, as morphine is ordered"
PTM_DOSE = "a number and its unit: mg, as morphine is ordered; leave the four PTM entries empty"
BOLUS = "a number and its unit: mg, as morphine is ordered; the pump stops after it"
STEP_DOSE = "Dose (with unit: mg/day, as morphine is ordered)"
GENERIC = ("e.g. 50 mcg", "e.g. 25 mg/mL, 500 mcg/mL", "e.g. 5 mg/day, 2.4 mcg/day")
"""The hints beside an entry whose drug is not known: beside none of this pump's drug."""


def hints(response: HttpResponse) -> dict[str, str]:
    """Each entry's help as the page shows it, by the entry's name."""
    page = response.content.decode()
    found = re.findall(r'id="id_(\w+)_helptext">([^<]*)</small>', page)
    return {name: unescape(text) for name, text in found}


def page(response: HttpResponse) -> str:
    return unescape(response.content.decode())


def assert_program_hints(response: HttpResponse, concentration: str = "concentration") -> None:
    shown = hints(response)
    assert shown[concentration] == CONCENTRATION
    assert shown["dose"] == DOSE
    assert shown["ptm_dose"].startswith(PTM_DOSE)
    assert shown["bolus_dose"] == BOLUS
    assert STEP_DOSE in page(response)
    admixed = ("concentration_2", "concentration_3")  # no second drug chosen: no unit known
    for generic in GENERIC:
        assert not [text for name, text in shown.items() if generic in text and name not in admixed]


@pytest.fixture
def morphine(physician: User, nurse: User, pharmacist: User) -> Flow:
    return first_fill(physician, nurse, pharmacist, MORPHINE)


def _order(client_form: dict[str, object], **changes: str) -> dict[str, object]:
    return {
        "version": str(client_form["version"]),
        "submission": client_form["submission"],
        "drug": "morphine",
        "concentration": "20 mg/mL",
        "kind": "continuous",
        "dose": "4 mg/day",
        "ptm_dose": "0.1 mg",
        "ptm_duration": "10 min",
        "ptm_lockout": "4 hour",
        "ptm_max_per_day": "4",
        "reason": "as agreed with the patient at the clinic visit",
        "action": "review",
        **changes,
    }


def test_the_prescription_form_keeps_the_units_refused_reviewed_and_with_more_rows(
    morphine: Flow, physician: User
) -> None:
    client = signed_in(physician)
    url = f"/implants/{morphine.implant.id}/prescribe/"
    first = client.get(url)
    assert_program_hints(first)
    initial = first.context["form"].initial
    refused_by_form = client.post(url, _order(initial, reason=""))
    assert refused_by_form.status_code == 422
    assert_program_hints(refused_by_form)
    refused_by_core = client.post(url, _order(initial, ptm_lockout="four hours"))
    assert refused_by_core.status_code == 422 and "Lockout" in page(refused_by_core)
    assert_program_hints(refused_by_core)
    reviewed = client.post(url, _order(initial))
    assert reviewed.status_code == 200 and 'data-testid="changes"' in page(reviewed)
    assert_program_hints(reviewed)
    more = client.post(url, _order(initial, action="more-rows"))
    assert more.status_code == 200 and more.context["form"].row_count > 13
    assert_program_hints(more)


def test_the_double_check_keeps_the_units_refused_and_with_more_rows(
    morphine: Flow, pharmacist: User
) -> None:
    client = signed_in(pharmacist)
    url = f"/prescriptions/{morphine.titration.id}/check/"
    assert_program_hints(client.get(url), "concentration_0")
    typed = check_form(MORPHINE)
    refused = client.post(url, {**typed, "concentration_0": "20", "action": "accept"})
    assert refused.status_code == 422
    assert_program_hints(refused, "concentration_0")
    differs = client.post(url, {**typed, "step_1_dose": "4.5 mg/day", "action": "accept"})
    assert differs.status_code == 422 and 'data-testid="check-mismatch"' in page(differs)
    assert_program_hints(differs, "concentration_0")
    more = client.post(url, {**typed, "action": "more-rows"})
    assert more.status_code == 200
    assert_program_hints(more, "concentration_0")


def _programmed(flow: Flow, physician: User, pharmacist: User) -> Program:
    """The titration double-checked and programmed, awaiting its readback."""
    double_checked(flow, pharmacist)
    return programs.program_pump(
        physician,
        flow.implant.id,
        expected_version=Implant.objects.get(id=flow.implant.id).version,
        now=clock.now(),
    )


def test_the_readback_keeps_the_units_refused(
    morphine: Flow, physician: User, nurse: User, pharmacist: User
) -> None:
    program = _programmed(morphine, physician, pharmacist)
    client = signed_in(nurse)
    url = f"/programs/{program.id}/readback/"
    assert_program_hints(client.get(url))
    refused = client.post(
        url,
        {
            "submission": "readback-1",
            "reservoir": "15",
            "drug": "morphine",
            "concentration": "20 mg/mL",
            "kind": "flex",
            "step_0_days": "every day",
            "step_0_start": "00:00",
            "step_0_dose": "4 mg/day",
        },
    )
    assert refused.status_code == 422
    assert_program_hints(refused)


def test_the_refill_keeps_the_unit_refused(morphine: Flow, nurse: User) -> None:
    client = signed_in(nurse)
    url = f"/implants/{morphine.implant.id}/refill/"
    first = client.get(url)
    assert hints(first)["concentration"] == CONCENTRATION
    initial = first.context["form"].initial
    entries = {
        "version": str(initial["version"]),
        "idempotency_key": initial["idempotency_key"],
        "drug": "morphine",
        "concentration": "20 mcg/mL",
        "lot": "LOT-2",
        "volume": "20 mL",
        "action": "review",
    }
    refused = client.post(url, entries)
    assert refused.status_code == 422 and "differs from the prescription" in page(refused)
    assert hints(refused)["concentration"] == CONCENTRATION
    incomplete = client.post(url, {**entries, "concentration": "20 mg/mL", "volume": ""})
    assert incomplete.status_code == 422
    assert hints(incomplete)["concentration"] == CONCENTRATION
    assert "e.g. 25 mg/mL, 500 mcg/mL" not in hints(incomplete)["concentration"]
