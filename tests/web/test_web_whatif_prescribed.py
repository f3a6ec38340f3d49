"""The what-if page words the program as the chart does and says which program it projects: the
prescription in force's own (flex steps, patient boluses) with the dose left empty, or a
continuous program at another dose, named plainly. Was: "now: … continuous" on a flex + PTM
pump, and a proposal that dropped the flex steps without a word."""

from __future__ import annotations

from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client

from flex_pump import flex_ptm_pump
from painpump.clinic.models import Implant

HTMX = {"HX-Request": "true"}
STEPS = "mon-fri: 00:00 480 mcg/day, 06:00 400 mcg/day; sat-sun: 00:00 380 mcg/day"
PTM = "10 mcg over 2 min, lockout 4 h, at most 4 a day"


@pytest.fixture
def flex(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Implant:
    return flex_ptm_pump(implant, physician, pharmacist, nurse)


def page(user: User, flex: Implant, **given: str) -> str:
    client = Client()
    client.force_login(user)
    query = {"mode": "refill", "volume": "20 mL", "conc_0": "2000 mcg/mL", **given}
    response = client.get(
        f"/implants/{flex.id}/what-if/", query if given else None, headers=HTMX if given else {}
    )
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_the_header_words_the_running_flex_program_as_the_chart_does(
    flex: Implant, physician: User
) -> None:
    shown = page(physician, flex)
    assert (
        "now: baclofen 2000 mcg/mL at 0.21 mL/day = 420 mcg/day, flex (prescription #2)"
        f" · flex steps: {STEPS} · patient bolus: {PTM}"
    ) in shown
    assert ", continuous" not in shown
    assert 'placeholder="as prescribed (#2)"' in shown


def test_the_dose_left_empty_projects_the_prescription_in_force(
    flex: Implant, physician: User
) -> None:
    shown = page(physician, flex, dose_or_rate="")
    assert "= 420 mcg/day, flex<br><small>Flex steps: " + STEPS in shown
    assert "(prescription #2, as prescribed)" in shown
    assert f"Patient bolus: {PTM} (projected with every allowed one given)" in shown
    assert 'data-testid="program-note"' not in shown


def test_another_dose_says_the_flex_steps_are_not_applied(flex: Implant, physician: User) -> None:
    shown = page(physician, flex, dose_or_rate="440 mcg/day")
    assert "at 0.22 mL/day = 440 mcg/day, continuous" in shown
    assert (
        "Continuous at 440 mcg/day: the prescription's flex steps are not applied; to try "
        "another flex program, review it on the prescription form, which shows its twin's "
        "dates before it is signed."
    ) in shown
    assert "as prescribed)" not in shown
