"""Web pages name a refusal's field as the forms label it ("Monday, step 1, dose", "Morphine
concentration"), and so the paths its problem lists ("so do ..."); an unknown path is shown as
it is; the service's refusal, which the API answers with, keeps its paths."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from painpump.clinic.actions import prescriptions
from painpump.clinic.models import Implant, Prescription
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import DOUBLE_CHECK, CheckEntries
from painpump.core.units import Kind, parse
from painpump.web.refusals import field_label, labelled, labels_in


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("program.days.mon", "Steps on Monday"),
        ("program.days.mon[0].dose", "Monday, step 1, dose"),
        ("program.days.sun[12].start", "Sunday, step 13, start"),
        ("program.days.wed[1]", "Wednesday, step 2"),
        ("concentrations.morphine", "Morphine concentration"),
        ("drugs.baclofen", "Baclofen concentration"),
        ("drugs[0].concentration", "Concentration of the first drug"),
        ("drugs[1]", "Second drug"),
        ("concentrations[0]", "First drug"),
        ("steps[2].start", "Step 3: start (HH:MM)"),
        ("steps[0].dose", "Step 1: dose"),
        ("program.kind", "Program"),
        ("program.bolus.duration", "Duration of the single bolus"),
        ("ptm", "Patient bolus (PTM)"),
        ("ptm.max_per_day", "Boluses a day at most"),
        ("fluid_change.rate", "Bridge rate"),
    ],
)
def test_a_path_is_named_as_the_forms_label_it(path: str, label: str) -> None:
    assert field_label(path) == label


@pytest.mark.parametrize(
    "path",
    [
        "margin_days",
        "program.days.xyz",
        "drugs[7]",
        "drugs.toml",
        "concentrations.aspirin",
        "program.prescribe",
        "",
    ],
)
def test_an_unknown_path_is_shown_as_it_is(path: str) -> None:
    assert field_label(path) == path


def test_the_paths_a_problem_lists_are_labelled_and_prose_is_left_alone() -> None:
    problem = (
        "differs from the prescription (so do program.days.tue, ptm.dose, "
        "concentrations.morphine). See program.days.mon."
    )
    assert labels_in(problem) == (
        "differs from the prescription (so do Steps on Tuesday, Patient bolus dose, "
        "Morphine concentration). See Steps on Monday."
    )
    prose = "the dose of the ptm, signed by physicians (program.prescribe; drugs.toml)"
    assert labels_in(prose) == prose


def test_a_refusal_keeps_its_value_limit_and_source_when_labelled() -> None:
    refusal = Refusal(
        "program.days.mon[0].dose", "900 mcg/day", "at most 0.96 mL/day", "synchromed", "is above"
    )
    shown = labelled(refusal)
    assert shown.message == (
        "Monday, step 1, dose: 900 mcg/day is above; limit: at most 0.96 mL/day "
        "(source: synchromed)"
    )
    assert refusal.field == "program.days.mon[0].dose"  # the service's own is unchanged


FLEX = rx.flex_program(
    [
        rx.step_row("every day", "00:00", "400 mcg/day", "steps[0]"),
        rx.step_row("mon-fri", "12:00", "440 mcg/day", "steps[1]"),
    ]
)
CHECKED = {
    "concentration_0": "2 mg/mL",
    "kind": "flex",
    "step_0_days": "every day",
    "step_0_start": "00:00",
    "step_0_dose": "400 mcg/day",
    "step_1_days": "mon-fri",
    "step_1_start": "13:00",
    "step_1_dose": "440 mcg/day",
    "comment": "",
    "action": "accept",
}
"""The checker's entries with the weekday step an hour late: Monday to Friday differ."""


@pytest.mark.django_db
def test_the_check_page_names_the_days_that_differ_as_labelled_the_service_by_path(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    concentration = parse("2000 mcg/mL", Kind.CONCENTRATION, "c")
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription((("baclofen", concentration),), FLEX),
        reason="more tone on working days",
        now=timezone.now(),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    client = Client()
    client.force_login(pharmacist)
    response = client.post(f"/prescriptions/{record.id}/check/", CHECKED)
    page = unescape(response.content.decode())
    assert response.status_code == 422
    days = ", ".join(f"Steps on {day}" for day in ("Tuesday", "Wednesday", "Thursday", "Friday"))
    differs = "Steps on Monday: 00:00 400 mcg/day, 13:00 440 mcg/day differs from the prescription"
    assert f"{differs} (so do {days})" in page
    assert not re.search(r"program\.days|steps\[", page)
    entries = CheckEntries(
        (("baclofen", concentration),),
        rx.flex_program(
            [
                rx.step_row("every day", "00:00", "400 mcg/day", "steps[0]"),
                rx.step_row("mon-fri", "13:00", "440 mcg/day", "steps[1]"),
            ]
        ),
        None,
    )
    with pytest.raises(Refusal) as refused:
        prescriptions.double_check(
            pharmacist, record.id, entries=entries, accept=True, comment="", now=timezone.now()
        )
    assert refused.value.field == "program.days.mon" and refused.value.source == DOUBLE_CHECK
    assert "(so do program.days.tue, program.days.wed" in refused.value.problem
    assert Prescription.objects.get(id=record.id).status == "awaiting_check"
