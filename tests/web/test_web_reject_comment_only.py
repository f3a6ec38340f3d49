"""Rejecting a prescription at the double-check needs the comment alone (round 3 of the clinical
review: "Reject with the comment" with only a comment was answered "This field is required" on
the concentration, so rejecting meant typing the whole order again). The rejection is audited
and reaches the prescriber's dashboard; entries typed with it are recorded, whole; accepting
without the entries is still refused, next to each entry missing."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic_fixtures import written_entries
from painpump.clinic.actions import prescriptions
from painpump.clinic.models import Implant, Prescription, PrescriptionCheck
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

COMMENT = "the order says 420 mcg/day, the label 400: which is meant?"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def awaiting(implant: Implant, physician: User) -> Prescription:
    """A baclofen prescription (420 mcg/day) signed three hours ago, awaiting its check."""
    program = rx.PrescribedProgram.continuous(parse("420 mcg/day", Kind.DOSE_RATE, "dose"))
    return prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen().drugs, program),
        reason="more tone in the evening",
        now=timezone.now() - timedelta(hours=3),
        expected_version=Implant.objects.get(id=implant.id).version,
    )


def as_sent(client: Client, url: str, **typed: str) -> dict[str, Any]:
    """The check form as a browser sends it: every entry empty but those `typed`."""
    form = client.get(url).context["form"]
    sent: dict[str, Any] = {name: "" for name in form.fields}
    sent.update(
        {"submission": form.initial["submission"], "kind": "continuous", "fluid_change": "none"}
    )
    return {**sent, **typed}


def test_a_rejection_with_the_comment_alone_is_recorded_audited_and_on_the_dashboard(
    awaiting: Prescription, physician: User, pharmacist: User
) -> None:
    client = signed_in(pharmacist)
    url = f"/prescriptions/{awaiting.id}/check/"
    answer = client.post(url, as_sent(client, url, comment=COMMENT, action="reject"))
    assert answer.status_code == 302, unescape(answer.content.decode())[-2000:]
    awaiting.refresh_from_db()
    assert awaiting.status == Prescription.Status.REJECTED
    check = PrescriptionCheck.objects.get(prescription=awaiting)
    assert (check.accepted, check.comment, check.entered, check.mismatches) == (
        False,
        COMMENT,
        {},
        [],
    )
    entry = written_entries().get(action="prescription.reject")
    assert entry.after is not None
    assert entry.actor == "pharma.cist" and entry.after["comment"] == COMMENT
    assert entry.after["status"] == "rejected" and entry.after["entered"] == {}
    board = unescape(signed_in(physician).get("/").content.decode())
    listed = board.split('data-testid="rejected"')[1].split("</section>")[0]
    assert f"#{awaiting.number} by dr.house" in listed and f"“{COMMENT}”" in listed


def test_a_rejection_without_a_comment_is_refused_next_to_the_comment(
    awaiting: Prescription, pharmacist: User
) -> None:
    client = signed_in(pharmacist)
    url = f"/prescriptions/{awaiting.id}/check/"
    refused = client.post(url, as_sent(client, url, action="reject"))
    assert refused.status_code == 422
    [message] = refused.context["form"].errors["comment"]
    assert "empty is required; limit: what is wrong, for the prescriber" in message
    awaiting.refresh_from_db()
    assert awaiting.status == Prescription.Status.AWAITING_CHECK
    assert not written_entries().filter(action="prescription.reject").exists()


def test_accepting_without_the_entries_is_refused_naming_each(
    awaiting: Prescription, pharmacist: User
) -> None:
    client = signed_in(pharmacist)
    url = f"/prescriptions/{awaiting.id}/check/"
    refused = client.post(url, as_sent(client, url, comment=COMMENT, action="accept"))
    assert refused.status_code == 422
    assert refused.context["form"].errors["concentration_0"] == ["This field is required."]
    awaiting.refresh_from_db()
    assert awaiting.status == Prescription.Status.AWAITING_CHECK
    assert not PrescriptionCheck.objects.filter(prescription=awaiting).exists()


def test_entries_typed_with_a_rejection_are_recorded_and_come_whole(
    awaiting: Prescription, pharmacist: User
) -> None:
    client = signed_in(pharmacist)
    url = f"/prescriptions/{awaiting.id}/check/"
    half = as_sent(client, url, dose="400 mcg/day", comment=COMMENT, action="reject")
    refused = client.post(url, half)
    assert refused.status_code == 422
    [message] = refused.context["form"].errors["concentration_0"]
    assert "the concentration of baclofen is required with the other entries" in message
    assert "leave every entry empty to reject with the comment only" in message
    whole = {**half, "concentration_0": "2 mg/mL"}
    assert client.post(url, whole).status_code == 302
    check = PrescriptionCheck.objects.get(prescription=awaiting)
    assert check.entered["concentrations"] == ["baclofen 2 mg/mL"]
    assert check.entered["days"][0] == ["00:00 400 mcg/day"]
    assert {m["entered"] for m in check.mismatches} == {"00:00 400 mcg/day"}  # 420 prescribed
