"""The refill workflow through the test client: a nurse refills step by step (the prescription it
executes, reconciliation, fill, review, confirmation, then the readback), a double submit records
one refill, a soft warning passes only with a typed reason, recorded, shown and verified by a
physician or pharmacist who did not perform it, a prescribed concentration change shows the bridge,
a drug or concentration other than the prescription's is refused next to its entry naming who may
change it, the roles that may not refill are refused with the roles that may, bad input is refused
next to its field with nothing stored, and a form opened before another refill is a 409."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic_fixtures import FIRST_FILL, implanted_pump
from clinic_fixtures import REFILL_FORM as ENTRIES
from painpump.clinic.actions import prescriptions, refills
from painpump.clinic.models import Appointment, AuditEntry, Implant, Patient, Refill
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def opened(client: Client, implant: Implant) -> dict[str, str]:
    """The hidden fields of a refill form as shown."""
    page = client.get(f"/implants/{implant.id}/refill/").content.decode()
    return {"version": hidden(page, "version"), "idempotency_key": hidden(page, "idempotency_key")}


def reviewed(client: Client, implant: Implant, **changes: Any) -> tuple[dict[str, Any], str]:
    """The entries posted for review, with the fingerprint of the review, and the review page."""
    data = {**ENTRIES, **opened(client, implant), **changes, "action": "review"}
    response = client.post(f"/implants/{implant.id}/refill/", data)
    page = response.content.decode()
    if 'name="reviewed" value="' in page:
        data["reviewed"] = hidden(page, "reviewed")
    return data, page


def confirmed(client: Client, implant: Implant, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(f"/implants/{implant.id}/refill/", {**data, **extra, "action": "confirm"})


def readback_of(refill: Refill) -> str:
    return f"/programs/{refill.program_id}/readback/"


def overinfused(client: Client, implant: Implant) -> Refill:
    """A refill passing the overinfusion warning with a reason typed at it: verified afterwards.
    The pump reports what its twin expects (about 2.95 mL); 2.5 mL less is aspirated."""
    data, review = reviewed(client, implant, expected="3 mL", aspirated="0.5 mL")
    confirmed(client, implant, data, **{reason_input(review, "reconciliation"): REASON})
    return Refill.objects.get(idempotency_key=data["idempotency_key"])


def error_next_to(page: str, field: str, text: str) -> bool:
    """True when `text` is an error shown in the block of the form field `field`."""
    start = page.index(f'id="id_{field}"')
    end = page.find('<div class="field', start)
    block = page[start : end if end != -1 else len(page)]
    return 'role="alert"' in block and text in block


def test_a_nurse_refills_through_the_guided_form(implant: Implant, nurse: User) -> None:
    client = signed_in(nurse)
    first = client.get(f"/implants/{implant.id}/refill/")
    page = first.content.decode()
    assert first.status_code == 200
    assert "Medtronic SynchroMed II, 20 mL (8637-20), serial NGP123456H" in page
    assert "synchromed-ii-20" not in page
    for step in ("What was left in the pump", "What goes into the pump", "The program"):
        assert step in page
    assert "Prescription #1" in page and "dr.house" in page and "pharma.cist" in page
    assert 'name="dose"' not in page  # the dose is the prescription's
    data, review = reviewed(client, implant)
    assert "Every setting before and after" in review
    assert "Within the pump's accuracy" in review
    assert "0.2 mL/day" in review and "Confirm and record the refill" in review
    response = confirmed(client, implant, data)
    assert response.status_code == 302
    refill = Refill.objects.get(idempotency_key=data["idempotency_key"])
    assert response["Location"] == readback_of(refill)
    assert refill.performed_by == "nurse.joy" and refill.lot == "LOT-7"
    result = client.get(f"/refills/{refill.id}/").content.decode()
    assert "No second clinician's verification is required" in result
    assert "Next refill:" in result
    assert Appointment.objects.filter(status="proposed", due_by=refill.refill_by).exists()


def test_a_double_submit_records_one_refill(implant: Implant, nurse: User) -> None:
    client = signed_in(nurse)
    data, _ = reviewed(client, implant)
    first = confirmed(client, implant, data)
    again = confirmed(client, implant, data)
    assert first["Location"] == again["Location"]
    assert Refill.objects.count() == 2  # the first fill and this refill


def reason_input(page: str, rule: str) -> str:
    """The name of the reason input of the warning of `rule` in the review."""
    found = re.search(rf'name="(override-{rule}:[0-9a-f]+)"', page)
    assert found, f"no reason input for {rule}"
    return found.group(1)


REASON = "residual re-measured twice, catheter checked"


def test_a_soft_warning_passes_only_with_a_typed_reason_recorded_and_shown(
    implant: Implant, nurse: User
) -> None:
    client = signed_in(nurse)
    data, review = reviewed(client, implant, expected="3 mL", aspirated="0.5 mL")
    assert "Overinfusion suspected" in review
    assert "ECRI" in review and "Maino" in review and "14.5" in review
    assert "Reason for passing this soft limit" in review
    assert 'type="checkbox"' not in review and 'name="acknowledge"' not in review
    name = reason_input(review, "reconciliation")
    refused = confirmed(client, implant, data)
    assert refused.status_code == 422
    assert "needs a typed reason" in refused.content.decode()
    short = confirmed(client, implant, data, **{name: "ok"})
    page = short.content.decode()
    assert short.status_code == 422
    assert "at least 8 characters" in page and 'value="ok"' in page  # kept to correct
    assert Refill.objects.count() == 1
    response = confirmed(client, implant, data, **{name: REASON})
    assert response.status_code == 302
    refill = Refill.objects.get(idempotency_key=data["idempotency_key"])
    assert refill.acknowledged == [
        {"rule": "reconciliation", "reason": REASON, "given_at": "refill"}
    ]
    assert refill.needs_verification
    result = client.get(f"/refills/{refill.id}/").content.decode()
    assert "A second clinician's verification is required" in result
    assert "Override reconciliation:" in result and REASON in result and "nurse.joy" in result
    chart = client.get(f"/patients/{implant.episode.patient_id}/").content.decode()
    assert "Override reconciliation:" in chart and REASON in chart


def test_a_reason_typed_for_a_changed_warning_does_not_pass_it(
    implant: Implant, nurse: User
) -> None:
    """The reason counts for the very warning shown: after the aspirated volume changed (and so
    the warning's words), the fingerprint refuses the confirmation."""
    client = signed_in(nurse)
    data, review = reviewed(client, implant, expected="8 mL", aspirated="6 mL")
    name = reason_input(review, "reconciliation")
    moved = confirmed(client, implant, {**data, "aspirated": "5 mL"}, **{name: REASON})
    assert moved.status_code == 422
    assert "changed since the review" in moved.content.decode()
    assert Refill.objects.count() == 1


def test_a_prescribed_concentration_change_shows_the_bridge_and_needs_no_later_verification(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    dose = parse("400 mcg/day", Kind.DOSE_RATE, "d")
    at = timezone.now() - timedelta(hours=1)
    prescribed(physician, pharmacist, implant.id, baclofen("1000 mcg/mL"), dose, at=at)
    client = signed_in(nurse)
    data, review = reviewed(client, implant, concentration="1000 mcg/mL")
    assert "Bridge bolus" in review and "must verify this refill" not in review
    assert confirmed(client, implant, data).status_code == 302
    refill = Refill.objects.get(idempotency_key=data["idempotency_key"])
    assert not refill.needs_verification  # double-checked before it was programmed


def test_a_soft_limit_passed_at_a_refill_is_verified_by_a_physician(
    implant: Implant, nurse: User, physician: User
) -> None:
    client = signed_in(nurse)
    refill = overinfused(client, implant)
    refill_page = f"/refills/{refill.id}/"
    verify = f"/refills/{refill.id}/verify/"
    page = client.get(verify).content.decode()
    assert "your roles may not verify it" in page and "Verify this refill" not in page
    assert client.post(verify).status_code == 403
    doctor = signed_in(physician)
    assert "Verify this refill" in doctor.get(verify).content.decode()
    assert doctor.post(verify)["Location"] == refill_page
    refill.refresh_from_db()
    assert refill.verified_by == "dr.house"
    assert "verified by dr.house" in doctor.get(refill_page).content.decode()


def test_the_clinician_who_refilled_cannot_verify_it(implant: Implant, physician: User) -> None:
    client = signed_in(physician)
    refill = overinfused(client, implant)
    verify = f"/refills/{refill.id}/verify/"
    assert "you performed this refill" in client.get(verify).content.decode()
    response = client.post(verify)
    assert response.status_code == 422
    assert "cannot verify it" in response.content.decode()
    refill.refresh_from_db()
    assert refill.verified_by == ""


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_roles_that_may_not_refill_are_refused_with_the_roles_that_may(
    implant: Implant, role: str, request: pytest.FixtureRequest
) -> None:
    client = signed_in(request.getfixturevalue(role))
    response = client.get(f"/implants/{implant.id}/refill/")
    assert response.status_code == 403
    assert "may not perform refills" in response.content.decode()
    assert "a physician or a nurse may (refill.perform)" in response.content.decode()
    posted = client.post(
        f"/implants/{implant.id}/refill/",
        {**ENTRIES, "version": "1", "idempotency_key": "k", "action": "confirm"},
    )
    assert posted.status_code == 403
    assert Refill.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "typed", "reason"),
    [
        ("expected", "3", "has no unit"),
        ("volume", "20,5 mL", "uses a decimal comma"),
        ("volume", "21 mL", "overfills the pump"),
        ("concentration", "2000 mg/mL", "differs from the prescription"),
        ("concentration", "3000 mcg/mL", "differs from the prescription"),
    ],
    ids=["no-unit", "decimal-comma", "overfill", "mg-for-mcg", "not-prescribed"],
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_stored(
    implant: Implant, physician: User, field: str, typed: str, reason: str
) -> None:
    client = signed_in(physician)
    data, page = reviewed(client, implant, **{field: typed})
    assert reason in page
    assert error_next_to(page, field, reason)
    assert "Confirm and record the refill" not in page
    response = confirmed(client, implant, data)
    assert response.status_code == 422
    assert error_next_to(response.content.decode(), field, reason)
    assert Refill.objects.count() == 1


def test_a_hard_limit_shows_its_source_and_offers_no_confirmation(
    implant: Implant, nurse: User
) -> None:
    client = signed_in(nurse)
    _, page = reviewed(client, implant, volume="21 mL")
    assert "Refused by a hard limit" in page and "overfills the pump" in page
    assert "Source: " in page
    assert "Confirm and record the refill" not in page


def test_a_hard_limit_names_the_field_as_the_form_does_not_as_the_api(
    implant: Implant, nurse: User
) -> None:
    client = signed_in(nurse)
    _, page = reviewed(client, implant, concentration="3000 mcg/mL")
    label = "Concentration (from the syringe label): baclofen 3000 mcg/mL"
    assert error_next_to(page, "concentration", label)
    live = client.post(
        f"/implants/{implant.id}/refill/live/?part=program",
        {**ENTRIES, "concentration": "3000 mcg/mL"},
    ).content.decode()
    assert label in live
    assert "drugs[" not in page and "drugs[" not in live


def test_a_nurse_changing_the_drug_is_refused_naming_who_prescribes(
    implant: Implant, nurse: User
) -> None:
    client = signed_in(nurse)
    data, page = reviewed(client, implant, drug="morphine", concentration="10 mg/mL")
    assert error_next_to(page, "drug", "differs from the prescription")
    assert "a new prescription, signed by a physician" in page
    assert "program.prescribe" not in page  # who may, in words (round 3 of the review)
    assert "prescription #1 by dr.house" in page
    assert confirmed(client, implant, data).status_code == 422
    assert Refill.objects.count() == 1


def test_a_form_opened_before_another_refill_is_a_conflict(
    implant: Implant, nurse: User, physician: User
) -> None:
    client = signed_in(nurse)
    data, _ = reviewed(client, implant)
    refills.perform_refill(
        physician,
        implant.id,
        idempotency_key="meanwhile",
        performed_at=timezone.now() - timedelta(minutes=1),
        expected=parse("3 mL", Kind.VOLUME, "e"),
        aspirated=parse("3 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "d"),
    )
    response = confirmed(client, implant, data)
    assert response.status_code == 409
    assert "was changed by someone else" in response.content.decode()
    assert Refill.objects.count() == 2


def test_entries_changed_after_the_review_are_not_confirmed(implant: Implant, nurse: User) -> None:
    client = signed_in(nurse)
    data, _ = reviewed(client, implant)
    response = confirmed(client, implant, {**data, "volume": "18 mL"})
    assert response.status_code == 422
    assert "The entries changed since the review" in response.content.decode()
    assert Refill.objects.count() == 1


def test_a_refill_by_date_moved_since_the_review_is_not_confirmed(
    implant: Implant, nurse: User
) -> None:
    data, _ = reviewed(signed_in(nurse), implant)
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        response = confirmed(signed_in(nurse), implant, data)
    assert response.status_code == 422
    assert "what they lead to (rate, refill-by date)" in response.content.decode()
    assert Refill.objects.count() == 1


def test_the_verdict_is_answered_at_once_while_typing(implant: Implant, nurse: User) -> None:
    client = signed_in(nurse)
    live = f"/implants/{implant.id}/refill/live/?part=reconciliation"
    answer = client.post(live, {"expected": "8 mL", "aspirated": "6 mL"}, HTTP_HX_REQUEST="true")
    text = answer.content.decode()
    assert answer.status_code == 200 and "<html" not in text
    assert "Overinfusion suspected" in text and "Maino" in text
    comma = client.post(live, {"expected": "8 mL", "aspirated": "6,5 mL"}).content.decode()
    assert "uses a decimal comma" in comma
    program = client.post(
        f"/implants/{implant.id}/refill/live/?part=program", ENTRIES
    ).content.decode()
    assert "0.2 mL/day" in program
    assert AuditEntry.objects.filter(action="refill.preview", actor="nurse.joy").exists()


def test_a_reservoir_found_empty_is_said_so_not_within_the_accuracy(
    implant: Implant, nurse: User
) -> None:
    live = f"/implants/{implant.id}/refill/live/?part=reconciliation"
    # 1 mL expected of 19 mL programmed: 5.3 % off, within the accuracy were it not empty
    answer = signed_in(nurse).post(live, {"expected": "1 mL", "aspirated": "0 mL"})
    text = answer.content.decode()
    assert "Reservoir found empty" in text and "Within the pump" not in text
    assert "only a lower bound" in text


def test_the_proposed_appointment_is_booked_from_the_result(implant: Implant, nurse: User) -> None:
    client = signed_in(nurse)
    data, _ = reviewed(client, implant)
    confirmed(client, implant, data)
    result_url = f"/refills/{Refill.objects.get(idempotency_key=data['idempotency_key']).id}/"
    page = client.get(result_url).content.decode()
    appointment = Appointment.objects.get(status="proposed")
    assert "Book " in page
    booked = client.post(
        result_url + "book/",
        {"appointment": str(appointment.id), "version": str(appointment.version)},
    )
    assert booked["Location"] == result_url
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_the_dashboard_links_a_refill_waiting_for_verification(
    implant: Implant, nurse: User, physician: User
) -> None:
    refill = overinfused(signed_in(nurse), implant)
    board = signed_in(physician).get("/").content.decode()
    assert f'href="/refills/{refill.id}/verify/"' in board


def test_a_new_pump_gets_its_first_fill_without_an_aspiration(
    patient: Patient, physician: User, pharmacist: User
) -> None:
    implant = implanted_pump(physician, patient.id, "NGP000001H")
    client = signed_in(physician)
    page = client.get(f"/implants/{implant.id}/refill/").content.decode()
    assert "No prescription is ready for this pump" in page
    dose = parse("100 mcg/day", Kind.DOSE_RATE, "d")
    prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=timezone.now())
    page = client.get(f"/implants/{implant.id}/refill/").content.decode()
    assert "First fill of this pump" in page and 'id="id_expected"' not in page
    data, review = reviewed(client, implant, expected="", aspirated="")
    assert "0.05 mL/day" in review
    response = confirmed(client, implant, data)
    assert response.status_code == 302
    refill = Refill.objects.get(implant=implant)
    assert refill.expected_ml is None and refill.program.rate_ml_per_day == Decimal("0.05")
    assert "First fill of this pump" in client.get(f"/refills/{refill.id}/").content.decode()


def test_a_refill_without_the_aspirated_volume_is_refused_next_to_it(
    implant: Implant, nurse: User
) -> None:
    client = signed_in(nurse)
    _, page = reviewed(client, implant, aspirated="")
    assert error_next_to(page, "aspirated", "is required at every refill")
    assert Refill.objects.count() == 1


def test_the_recorded_refill_is_read_by_every_clinical_role_but_not_the_admin(
    implant: Implant, nurse: User, auditor: User, admin: User, pharmacist: User
) -> None:
    refill = overinfused(signed_in(nurse), implant)
    url = f"/refills/{refill.id}/"
    page = signed_in(auditor).get(f"/refills/{refill.id}/verify/").content.decode()
    assert "your roles may not verify it" in page
    assert signed_in(auditor).post(f"/refills/{refill.id}/verify/").status_code == 403
    assert "Verify this refill" in signed_in(pharmacist).get(url + "verify/").content.decode()
    assert signed_in(admin).get(url).status_code == 403
    assert AuditEntry.objects.filter(action="refill.read", actor="audi.tor").exists()


def test_the_refill_page_offers_what_the_pumps_twin_expects_beside_the_pumps_own_figure(
    implant: Implant, nurse: User
) -> None:
    page = signed_in(nurse).get(f"/implants/{implant.id}/refill/").content.decode()
    # filled with 20 mL at 0.2 mL/day 85 days and some hours ago: what is left now, shown to
    # two places
    twin = re.search(r'data-testid="twin-expects">.*?<strong>([^<]+)</strong>', page)
    assert twin is not None
    left = (
        Decimal(20)
        - Decimal("0.2") * Decimal((timezone.now() - FIRST_FILL).total_seconds()) / 86_400
    )
    shown, unit = twin.group(1).split()
    assert unit == "mL" and abs(Decimal(shown) - left) < Decimal("0.01")


def test_a_refill_after_patient_boluses_takes_the_pumps_counts_on_the_form(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """Patient boluses prescribed at the refill 30 days ago: today's refill shows the fields for
    the counts the pump reports, refuses the refill without them, offers the twin's expected
    residual as a range until they are entered, and records them."""
    drugs = baclofen().drugs
    program = rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d"))
    ptm = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")
    past = timezone.now() - timedelta(days=30)
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(drugs, program, ptm, Phase.MAINTENANCE),
        reason="boluses for the evening spasms",
        now=past - timedelta(hours=2),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(drugs, program, ptm),
        accept=True,
        comment="",
        now=past - timedelta(hours=1),
    )
    refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="with-ptm",
        performed_at=past,
        # 20 mL at 0.2 mL/day 55 days and some hours before: about 8.95 mL left
        expected=parse("9 mL", Kind.VOLUME, "e"),
        aspirated=parse("9 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
    )
    client = signed_in(nurse)
    page = client.get(f"/implants/{implant.id}/refill/").content.decode()
    assert 'name="ptm_given"' in page and 'name="ptm_requests"' in page
    assert "every allowed patient bolus given" in page
    data, review = reviewed(client, implant, expected="13 mL", aspirated="13 mL")
    assert error_next_to(review, "ptm_given", "is required while patient boluses are prescribed")
    data, review = reviewed(
        client, implant, expected="13 mL", aspirated="13 mL", ptm_requests="40", ptm_given="31"
    )
    assert "every allowed patient bolus given" not in review
    done = confirmed(client, implant, data)
    assert done.status_code == 302, done.content
    refill = Refill.objects.get(idempotency_key=data["idempotency_key"])
    assert (refill.ptm_requests, refill.ptm_given) == (40, 31)
