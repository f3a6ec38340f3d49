"""Clinical review: a refill 5 minutes after a fill (19.99 mL expected, 19.90 mL aspirated) read
on the chart "as expected (within +/-14.5 %) (delivery error 900 %)": a percentage of a tiny
delivery says nothing, and the reconciliation judges a difference within the 0.2 mL a syringe is
read to (core.refill.SYRINGE_READING) as no finding. Where the difference is within it, the
chart's refill history, the refill session PDF and the clinician summary PDF show the difference
in mL "within the 0.2 mL a syringe is read to" instead of the percentage; elsewhere as before."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from test_report_program_session_round3 import pdf, refill_pdf

from painpump.clinic.actions import refills
from painpump.clinic.models import Implant, Refill
from painpump.clinic.testing import baclofen
from painpump.core.refill import SYRINGE_READING, DeliveryFinding
from painpump.core.units import Kind, Q, of, parse
from painpump.web.templatetags.syringe_reading import reading_words, within_reading
from report_scenario import DAY_60

pytestmark = pytest.mark.django_db

WITHIN = "within the 0.2 mL a syringe is read to (unverified)"
SOON = DAY_60 + timedelta(minutes=5)


def refill(
    nurse: User, implant: Implant, key: str, at: datetime, expected: str, aspirated: str
) -> Refill:
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=key,
        performed_at=at,
        expected=parse(expected, Kind.VOLUME, "expected"),
        aspirated=parse(aspirated, Kind.VOLUME, "aspirated"),
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
    )


def five_minutes_after_a_fill(nurse: User, implant: Implant) -> Refill:
    """The fixture's pump refilled on day 60 with 7.5 mL aspirated of 8 mL expected (within the
    pump's accuracy over 12 mL delivered, beyond the syringe's reading), then again 5 minutes
    later: 19.99 mL expected, 19.90 mL aspirated (0.01 mL programmed: 900 %)."""
    refill(nurse, implant, "day-60", DAY_60, "8 mL", "7.5 mL")
    return refill(nurse, implant, "day-60-again", SOON, "19.99 mL", "19.90 mL")


def chart_rows(user: User, implant: Implant) -> list[str]:
    client = Client()
    client.force_login(user)
    page = client.get(f"/patients/{implant.episode.patient_id}/").content.decode()
    history = page.split('aria-labelledby="refills"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="(?:off)?">(.*?)</tr>', history, re.S)  # not the overrides
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


def test_the_chart_shows_the_difference_in_ml_within_the_syringes_reading(
    nurse: User, implant: Implant
) -> None:
    five_minutes_after_a_fill(nurse, implant)
    soon, _, _ = chart_rows(nurse, implant)
    assert (
        f"19.99 mL 19.90 mL as expected (aspirated 0.09 mL less than expected, {WITHIN})"
    ) in soon
    assert "900" not in soon and "%" not in soon


def test_a_difference_beyond_the_reading_keeps_the_percentage_on_the_chart(
    nurse: User, implant: Implant
) -> None:
    five_minutes_after_a_fill(nurse, implant)
    _, day_60, first = chart_rows(nurse, implant)
    assert "8.0 mL 7.5 mL as expected (within +/-14.5 %) (delivery error 4.17 %)" in day_60
    assert "a syringe is read to" not in day_60
    assert "first fill" in first


def test_the_refill_pdf_judges_the_tiny_difference_in_ml_not_in_percent(
    nurse: User, implant: Implant
) -> None:
    text = refill_pdf(nurse, five_minutes_after_a_fill(nurse, implant))
    assert "Difference (aspirated - expected) -0.090 mL" in text
    assert (
        "Delivery error not meaningful: the difference is within the syringe's reading "
        f"Verdict aspirated 0.09 mL less than expected, {WITHIN}"
    ) in text
    assert "Delivery error 900" not in text
    assert "Verdict within the pump accuracy" not in text


def test_the_refill_pdf_beyond_the_reading_is_as_before(nurse: User, implant: Implant) -> None:
    text = refill_pdf(nurse, refill(nurse, implant, "day-60", DAY_60, "8 mL", "7.5 mL"))
    assert "Delivery error 4.17 % Verdict within the pump accuracy" in text
    assert "a syringe is read to" not in text.split("Reason:", 1)[0]


def test_the_clinician_summary_shows_the_difference_in_ml_too(
    nurse: User, implant: Implant
) -> None:
    five_minutes_after_a_fill(nurse, implant)
    text = pdf(nurse, reverse("web:patient-summary-report", args=[implant.episode.patient_id]))
    refilled = text.split("Refills with their reconciliation", 1)[1]
    assert f"19.99 mL / 19.90 mL (-0.09 mL) -0.09 mL {WITHIN}" in refilled
    assert "8.0 mL / 7.5 mL (-0.5 mL) 4.17 % within accuracy" in refilled
    assert "900" not in refilled


@dataclass(frozen=True)
class Line:
    finding: str
    difference: Q | None


READING = SYRINGE_READING.value
JUST_BEYOND = READING + Decimal("0.001")


@pytest.mark.parametrize(
    ("line", "within"),
    [
        (Line(DeliveryFinding.NONE, of(READING, "mL")), True),
        (Line(DeliveryFinding.NONE, of(-READING, "mL")), True),
        (Line(DeliveryFinding.NONE, of(Decimal(0), "mL")), True),
        (Line(DeliveryFinding.NONE, of(JUST_BEYOND, "mL")), False),
        (Line(DeliveryFinding.NONE, of(-JUST_BEYOND, "mL")), False),
        (Line(DeliveryFinding.OVERINFUSION, of(Decimal("-0.1"), "mL")), False),
        (Line(DeliveryFinding.EMPTY, of(Decimal("-0.1"), "mL")), False),
        (Line("first fill", None), False),
    ],
    ids=["at", "at-less", "none", "beyond", "beyond-less", "finding", "empty", "first-fill"],
)
def test_within_the_reading_is_no_finding_and_core_s_syringe_reading_at_most(
    line: Line, within: bool
) -> None:
    assert within_reading(line) is within


def test_the_words_say_which_side_the_difference_lies() -> None:
    assert reading_words(of(Decimal("-0.09"), "mL")) == (
        f"aspirated 0.09 mL less than expected, {WITHIN}"
    )
    assert reading_words(of(Decimal("0.15"), "mL")) == (
        f"aspirated 0.15 mL more than expected, {WITHIN}"
    )
    assert reading_words(of(Decimal(0), "mL")) == f"0 mL difference, {WITHIN}"
