"""Clinical review finding B on the pages: the residual the pump's twin expected, stored with a
refill that gave no warning, stands beside the pump's figure and the aspirated volume on the
recorded refill and in the refill's session PDF."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from painpump.clinic.actions import refills
from painpump.clinic.models import Implant, Refill
from painpump.core.units import Kind, parse
from twin_case import MORPHINE, REFILLED, morphine_pump

pytestmark = pytest.mark.django_db


@pytest.fixture
def refilled(physician: User, nurse: User, pharmacist: User) -> Refill:
    """The pharmacist's pump refilled with the pump's figure and the aspirate near the twin's
    10.255 mL: no warning."""
    implant: Implant = morphine_pump(physician, nurse, pharmacist)
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="twin-kept-web",
        performed_at=REFILLED,
        expected=parse("10.3 mL", Kind.VOLUME, "e"),
        aspirated=parse("10.2 mL", Kind.VOLUME, "a"),
        fill=MORPHINE,
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_recorded_refill_shows_the_twins_figure_beside_the_pumps_and_the_aspirate(
    refilled: Refill, nurse: User
) -> None:
    assert refilled.warnings == []
    page = signed_in(nurse).get(reverse("web:refill-record", args=[refilled.id]))
    text = page.content.decode()
    assert page.status_code == 200
    facts = re.search(
        r"<h3>What was left in the pump</h3>\s*<dl class=\"facts\">(.*?)</dl>", text, re.S
    )
    assert facts is not None
    shown = re.sub(r"<[^>]+>", " ", facts.group(1))
    assert " ".join(shown.split()) == (
        "Expected (programmer) 10.3 mL Aspirated 10.2 mL Expected (pump's twin) 10.255 mL"
    )


def test_the_session_pdf_prints_the_twins_figure_in_the_reconciliation(
    refilled: Refill, nurse: User
) -> None:
    report = signed_in(nurse).get(reverse("web:refill-report", args=[refilled.id]))
    assert report.status_code == 200
    printed = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(BytesIO(report.content)).pages
    )
    assert "Expected residual (pump) 10.300 mL" in printed
    assert "Aspirated volume 10.200 mL" in printed
    assert "Expected residual (pump's twin) 10.255 mL" in printed
