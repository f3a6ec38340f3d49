"""The clinical reviewer's case: a prescription signed while a clinic limit was soft, the limit
hardened after it was double-checked. The refill form says so before anything is aspirated, and
the stop on the refill's review and on the programming page says who may end it (a physician,
prescribing anew), never "change the entries above", which no entry of the nurse's does."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from uuid import uuid4

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic_fixtures import REFILL_FORM, primed_half
from painpump.clinic.actions import library
from painpump.clinic.models import ClinicLimit, Implant, Prescription
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.clinic_limits import parse_value
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

DECREASE = "max_decrease_percent"
POLICY = "ITB policy 2026, section 2"
STOPPED = "is stopped by clinic_max_decrease_percent"
REMEDY = "as signed, which no entry here changes: ask a physician to prescribe anew"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hardened_after_signing(implant: Implant, physician: User, pharmacist: User) -> Prescription:
    """400 -> 330 mcg/day of baclofen (17.5 % less), signed past a soft clinic limit of 15 % with
    the prescriber's reason and double-checked; then the limit made hard and approved."""
    rule = DECREASE
    row = library.add_limit(
        pharmacist,
        drug="baclofen",
        rule=rule,
        value=parse_value(rule, "15 %"),
        severity="soft",
        source=POLICY,
        idempotency_key=str(uuid4()),
    )
    record = prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        parse("330 mcg/day", Kind.DOSE_RATE, "d"),
        at=timezone.now() - timedelta(hours=2),
        overrides={"clinic_max_decrease_percent": "less tone wanted for walking"},
    )
    assert record.status == Prescription.Status.READY
    pending = library.change_limit(
        pharmacist,
        row.id,
        expected_version=row.version,
        value=parse_value(rule, "15 %"),
        severity="hard",
        source=POLICY,
    )
    approved: ClinicLimit = library.approve_limit(
        physician, pending.id, expected_version=pending.version
    )
    assert approved.severity == "hard"
    return record


def test_the_refill_form_says_before_aspiration_that_the_prescription_cannot_be_filled(
    implant: Implant, nurse: User, hardened_after_signing: Prescription
) -> None:
    page = signed_in(nurse).get(f"/implants/{implant.id}/refill/").content.decode()
    banner = page.split('data-testid="prescription-stopped"')[1].split("</div>")[0]
    number = hardened_after_signing.number
    assert f"Prescription #{number} cannot be filled now: do not aspirate for it." in banner
    assert STOPPED in banner and POLICY in banner
    assert "ask a physician to prescribe anew" in banner


def test_the_refill_review_and_the_programming_name_who_may_end_the_stop(
    implant: Implant, nurse: User, hardened_after_signing: Prescription
) -> None:
    client = signed_in(nurse)
    url = f"/implants/{implant.id}/refill/"
    page = client.get(url).content.decode()
    version = page.split('name="version" value="')[1].split('"')[0]
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    review = client.post(
        url, {**REFILL_FORM, "version": version, "idempotency_key": key, "action": "review"}
    )
    assert review.status_code == 422
    shown = review.content.decode()
    stop = shown.split('data-testid="hard-limit"')[1].split("</div>")[0]
    assert STOPPED in stop
    number = hardened_after_signing.number
    assert f'data-testid="stop-remedy">it lies in the prescription #{number} {REMEDY}' in stop
    assert "change the entries above" not in stop
    programming = client.get(f"/implants/{implant.id}/program/").content.decode()
    stop = programming.split('data-testid="hard-limit"')[1].split("</div>")[0]
    assert STOPPED in stop and REMEDY in stop


def test_the_refill_form_tells_a_nurse_before_aspiration_that_a_physician_runs_the_priming(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """The reviewer's case: the nurse learnt only on recording, after aspirating, that a priming
    bolus pushing 200 mcg of baclofen (twice its largest single bolus) is run by a physician."""
    primed_half(physician, pharmacist, implant.id, at=timezone.now() - timedelta(hours=1))
    page = signed_in(nurse).get(f"/implants/{implant.id}/refill/").content.decode()
    banner = unescape(page.split('data-testid="physician-primes"')[1].split("</div>")[0])
    assert "A physician runs this refill: do not aspirate for it." in banner
    assert "pushes more than a limit allows (priming_max_single_bolus)" in banner
    assert "(source: rule-physician-priming-push)" in banner
    assert 'data-testid="prescription-stopped"' not in page
    own = signed_in(physician).get(f"/implants/{implant.id}/refill/").content.decode()
    assert 'data-testid="physician-primes"' not in own
