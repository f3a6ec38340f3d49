"""Prescriptions, double-checks, readbacks and incidents through the test client: a physician
prescribes a flex program with PTM settings, reviewed as core judges it (a hard limit next to its
entry with no signature offered, the changes before and after, the double-check to come) and
signs it; nurses, pharmacists and admins are refused with the roles that may; a pharmacist
double-checks the whole order (concentrations, every flex step, the PTM settings) without seeing
the prescribed numbers, an entry that differs is named only after the attempt and the
prescription rejected with a comment; the prescriber may not check their own;
after programming, a readback that differs stops the session and opens an incident a physician
closes, one that matches completes it; the chart lists every version with its actions by role."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic_fixtures import REFILL_FORM, implanted_pump
from painpump.clinic.models import Implant, Incident, Patient, Prescription, Program, Readback
from painpump.clinic.roles import Role
from painpump.clinic.testing import (
    CARRIED_OVER,
    baclofen,
    prescribed,
)
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

FLEX = {
    "drug": "baclofen",
    "concentration": "2000 mcg/mL",
    "kind": "flex",
    "dose": "",
    "step_0_days": "every day",
    "step_0_start": "00:00",
    "step_0_dose": "400 mcg/day",
    "step_1_days": "mon-fri",
    "step_1_start": "12:00",
    "step_1_dose": "440 mcg/day",
    "ptm_dose": "5 mcg",
    "ptm_duration": "2 min",
    "ptm_lockout": "3 hour",
    "ptm_max_per_day": "4",
    "phase": "",
    "reason": "more tone on working days, boluses for the evening spasms",
}
"""A flex program: 400 mcg/day, from noon on weekdays 440 mcg/day (420 mcg on those days), and a
5 mcg patient bolus (a worst day of 440 mcg, within the 15 % titration step)."""


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def error_next_to(page: str, field: str, text: str) -> bool:
    start = page.index(f'id="id_{field}"')
    end = page.find("</td>", start)
    block = page[start : end if end != -1 else len(page)]
    if '<div class="field' in block:
        block = block[: block.index('<div class="field')]
    return 'role="alert"' in block and text in block


def reviewed(client: Client, implant: Implant, **changes: str) -> tuple[dict[str, Any], Any]:
    url = f"/implants/{implant.id}/prescribe/"
    page = client.get(url).content.decode()
    data = {
        **FLEX,
        "version": hidden(page, "version"),
        "submission": hidden(page, "submission"),
        **changes,
    }
    response = client.post(url, {**data, "action": "review"})
    shown = response.content.decode()
    if 'name="reviewed" value="' in shown:
        data["reviewed"] = hidden(shown, "reviewed")
    return data, response


def signed(client: Client, implant: Implant, **changes: str) -> Prescription:
    data, _ = reviewed(client, implant, **changes)
    response = client.post(f"/implants/{implant.id}/prescribe/", {**data, "action": "sign"})
    assert response.status_code == 302, response.content.decode()
    return Prescription.objects.filter(implant=implant).latest("number")


def test_a_physician_reviews_and_signs_a_flex_program_with_ptm(
    implant: Implant, physician: User
) -> None:
    client = signed_in(physician)
    form = client.get(f"/implants/{implant.id}/prescribe/").content.decode()
    assert 'value="400 mcg/day"' in form and "Prescription #1" in form  # the one it replaces
    data, response = reviewed(client, implant)
    page = response.content.decode()
    assert response.status_code == 200
    assert "What changes against prescription #1" in page
    assert "Steps mon" in page and "00:00 400 mcg/day, 12:00 440 mcg/day" in page
    assert "Bolus duration" in page and "2 min" in page
    assert 'data-testid="needs-double-check"' in page and "Sign the prescription" in page
    done = client.post(f"/implants/{implant.id}/prescribe/", {**data, "action": "sign"})
    assert done["Location"] == f"/patients/{implant.episode.patient_id}/#prescriptions"
    record = Prescription.objects.get(implant=implant, number=2)
    assert record.status == "awaiting_check" and record.program_kind == "flex"
    assert record.ptm_max_per_day == 4 and record.prescribed_by == "dr.house"
    assert record.reason == FLEX["reason"]


def test_a_step_beyond_the_titration_limit_is_stopped_next_to_its_row(
    implant: Implant, physician: User
) -> None:
    client = signed_in(physician)
    data, response = reviewed(client, implant, step_1_dose="600 mcg/day")
    page = response.content.decode()
    assert response.status_code == 422
    assert "Refused by a hard limit" in page and "Lioresal label" in page
    assert error_next_to(page, "step_1_dose", "max_step_percent")
    assert "Sign the prescription" not in page
    signing = client.post(f"/implants/{implant.id}/prescribe/", {**data, "action": "sign"})
    assert signing.status_code == 422
    assert Prescription.objects.filter(implant=implant).count() == 1


def test_a_new_concentration_needs_a_bridge_or_priming_chosen_next_to_that_entry(
    implant: Implant, physician: User
) -> None:
    client = signed_in(physician)
    _, unplanned = reviewed(client, implant, concentration="1000 mcg/mL")
    page = unplanned.content.decode()
    assert unplanned.status_code == 422
    assert error_next_to(page, "fluid_change", "leaves the change of concentration unplanned")
    assert "Sign the prescription" not in page
    _, bridged = reviewed(client, implant, concentration="1000 mcg/mL", fluid_change="bridge")
    shown = bridged.content.decode()
    assert bridged.status_code == 200, shown
    assert "When the fluid changes" in shown and "Sign the prescription" in shown
    record = signed(client, implant, concentration="1000 mcg/mL", fluid_change="bridge")
    assert record.fluid_change == "bridge"


def test_a_single_bolus_is_reviewed_with_its_warning_and_signed_from_the_form(
    implant: Implant, physician: User
) -> None:
    client = signed_in(physician)
    bolus = {
        "kind": "single_bolus",
        "bolus_dose": "100 mcg",
        "bolus_duration": "1 hour",
        "ptm_dose": "",
        "ptm_duration": "",
        "ptm_lockout": "",
        "ptm_max_per_day": "",
    }
    _, fast = reviewed(client, implant, **{**bolus, "bolus_duration": "10 s"})
    assert fast.status_code == 422
    assert error_next_to(fast.content.decode(), "bolus_duration", "above the pump")
    _, response = reviewed(client, implant, **bolus)
    page = response.content.decode()
    assert response.status_code == 200, page
    changes = page.split('data-testid="changes"')[1].split("</table>")[0]
    # the reviewer's case: "Program continuous -> single_bolus", a daily dose and seven step
    # rows of 0 mcg/day for a bolus
    assert "<td>continuous</td><td>single bolus</td>" in changes
    assert "single bolus 100 mcg over 1 h (0.05 mL, at 0.05 mL/h)" in changes
    for wrong in ("single_bolus", "Daily dose", "Steps mon", "mcg/day"):
        assert wrong not in changes, wrong
    assert "stops_after_single_bolus" in page
    reasons = {
        name: "planned stop before the explant, oral baclofen restarted"
        for name in re.findall(r'name="(override-[a-z_]+:[0-9a-f]+)"', page)
    }
    # the stop after the bolus; the bolus itself is no decrease of the running day (a reviewer
    # read a "decrease of 87.80 %" beside it)
    assert len(reasons) == 1
    record = signed(client, implant, **bolus, **reasons)
    assert record.program_kind == "single_bolus" and record.bolus_duration_s == 3600
    chart = client.get(f"/patients/{implant.episode.patient_id}/").content.decode()
    history = chart.split(f'data-testid="changes-{record.number}"')[1].split("</table>")[0]
    assert "<td>single bolus</td>" in history and "(0.05 mL, at 0.05 mL/h)" in history
    for wrong in ("single_bolus", "Daily dose", "Steps mon"):
        assert wrong not in history, wrong


def test_a_refused_single_bolus_is_named_next_to_the_bolus_dose_as_a_bolus(
    implant: Implant, physician: User
) -> None:
    """The reviewer's case: 1100 mcg of baclofen, refused by the titration step, was named next
    to the continuous daily dose and worded as 1100 mcg/day."""
    bolus = {
        "kind": "single_bolus",
        "bolus_dose": "1100 mcg",
        "bolus_duration": "1 hour",
        "ptm_dose": "",
        "ptm_duration": "",
        "ptm_lockout": "",
        "ptm_max_per_day": "",
    }
    _, response = reviewed(signed_in(physician), implant, **bolus)
    page = response.content.decode()
    assert response.status_code == 422, page
    judged = "a single bolus of 1100 mcg (judged as the day&#x27;s dose)"
    assert error_next_to(page, "bolus_dose", judged)
    assert not error_next_to(page, "dose", "max_step_percent")


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"step_1_start": "8h"}, "step_1_start", "is not a time"),
        ({"step_1_days": ""}, "step_1_days", "is unknown"),
        ({"step_1_dose": "440"}, "step_1_dose", "has no unit"),
        ({"ptm_lockout": "1 min"}, "ptm_lockout", "is shorter than the bolus"),
        ({"ptm_duration": ""}, "ptm_duration", "is not a quantity"),
        ({"reason": ""}, "reason", "required"),
    ],
    ids=["start", "days", "dose-unit", "lockout", "ptm-incomplete", "reason"],
)
def test_bad_entries_are_refused_next_to_their_entry(
    implant: Implant, physician: User, changes: dict[str, str], field: str, text: str
) -> None:
    _, response = reviewed(signed_in(physician), implant, **changes)
    page = response.content.decode()
    assert response.status_code == 422
    assert error_next_to(page, field, text)
    assert Prescription.objects.filter(implant=implant).count() == 1


@pytest.mark.parametrize("role", ["nurse", "pharmacist", "admin", "auditor"])
def test_only_physicians_prescribe(
    implant: Implant, role: str, request: pytest.FixtureRequest
) -> None:
    client = signed_in(request.getfixturevalue(role))
    response = client.get(f"/implants/{implant.id}/prescribe/")
    assert response.status_code == 403
    assert "may not prescribe" in response.content.decode()
    posted = client.post(
        f"/implants/{implant.id}/prescribe/", {**FLEX, "version": "1", "action": "sign"}
    )
    assert posted.status_code == 403
    assert Prescription.objects.filter(implant=implant).count() == 1


def check_url(record: Prescription) -> str:
    return f"/prescriptions/{record.id}/check/"


CHECKED = {
    "concentration_0": "2 mg/mL",
    "kind": "flex",
    "step_0_days": "every day",
    "step_0_start": "00:00",
    "step_0_dose": "400 mcg/day",
    "step_1_days": "mon-fri",
    "step_1_start": "12:00",
    "step_1_dose": "0.44 mg/day",
    "ptm_dose": "0.005 mg",
    "ptm_duration": "120 s",
    "ptm_lockout": "180 min",
    "ptm_max_per_day": "4",
    "comment": "",
}
"""The second clinician's entries for FLEX, as the label and the order give them, some in other
units."""


def test_the_double_check_hides_the_numbers_names_a_mismatch_and_takes_a_rejection(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """Every step row and PTM setting is asked for, none shown; a step entered at another time
    is named by the days it gives, with what was prescribed, only after the attempt."""
    record = signed(signed_in(physician), implant)
    client = signed_in(pharmacist)
    page = client.get(check_url(record)).content.decode()
    assert "baclofen" in page and "flex" in page and FLEX["reason"] in page
    for entry in ("concentration_0", "step_0_days", "step_12_dose", "ptm_dose", "ptm_lockout"):
        assert f'name="{entry}"' in page
    for number in ("2000 mcg/mL", "440 mcg/day", "400 mcg/day", "420 mcg/day", "5 mcg", "12:00"):
        assert number not in page
    entries = {**CHECKED, "step_1_start": "13:00"}
    wrong = client.post(check_url(record), {**entries, "action": "accept"})
    shown = wrong.content.decode()
    assert wrong.status_code == 422
    assert 'data-testid="check-mismatch"' in shown
    assert (
        "Steps on Monday: 00:00 400 mcg/day, 13:00 0.44 mg/day differs from the prescription "
        "(so do Steps on Tuesday, Steps on Wednesday, Steps on Thursday, Steps on Friday)"
    ) in shown
    assert "the value of prescription #2 by dr.house (not shown" in shown
    assert "12:00 440 mcg/day" not in shown
    silent = client.post(check_url(record), {**entries, "action": "reject"})
    assert silent.status_code == 422 and "is required" in silent.content.decode()
    comment = "the weekday step does not match the order on the ward"
    rejected = client.post(check_url(record), {**entries, "comment": comment, "action": "reject"})
    assert rejected.status_code == 302
    record.refresh_from_db()
    assert record.status == "rejected"
    (check,) = record.checks.all()
    assert [m["field"] for m in check.mismatches] == [
        f"program.days.{day}" for day in ("mon", "tue", "wed", "thu", "fri")
    ]
    chart = client.get(rejected["Location"]).content.decode()
    assert "rejected by pharma.cist" in chart and comment in chart


def test_the_settings_history_says_accepted_after_the_entries_that_did_not_match(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """Numbers retried until they match leave a trace the prescriber and the programmer see:
    each refused accept (who, when, each entry as entered), and the count with the accept."""
    record = signed(signed_in(physician), implant)
    client = signed_in(pharmacist)
    for wrong in ({**CHECKED, "ptm_max_per_day": "6"}, {**CHECKED, "step_1_start": "13:00"}):
        assert client.post(check_url(record), {**wrong, "action": "accept"}).status_code == 422
    chart_url = f"/patients/{implant.episode.patient_id}/"

    def checks_shown(user: User) -> str:
        page = signed_in(user).get(chart_url).content.decode()
        return page.split('data-testid="checks-2"')[1].split("</dd>")[0]

    assert "none yet: <strong" in checks_shown(physician)
    assert "2 entries that did not match" in checks_shown(physician)
    assert client.post(check_url(record), {**CHECKED, "action": "accept"}).status_code == 302
    shown = checks_shown(nurse)
    assert "accepted by pharma.cist" in shown and "after 2 entries that did not match" in shown
    refused = shown.split('data-testid="refused-accepts-2"')[1]
    assert refused.count("accept refused: pharma.cist") == 2
    assert "ptm.max_per_day entered as 6 did not match" in refused
    # as entered, in the unit baclofen is ordered in (typed "0.44 mg/day")
    assert "program.days.mon entered as 00:00 400 mcg/day, 13:00 440 mcg/day;" in refused


def test_after_three_refused_accepts_the_checker_is_told_to_reject_or_hand_over(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """The fourth accept of the same checker is refused before comparing, even with matching
    entries, and the page says what to do instead; rejecting still works."""
    record = signed(signed_in(physician), implant)
    client = signed_in(pharmacist)
    wrong = {**CHECKED, "ptm_max_per_day": "6", "action": "accept"}
    for _ in range(3):
        assert client.post(check_url(record), wrong).status_code == 422
    stopped = client.post(check_url(record), {**CHECKED, "action": "accept"})
    assert stopped.status_code == 422
    page = stopped.content.decode()
    assert "3 refused accepts by pharma.cist of prescription #2" in page
    assert "let another clinician double-check it" in page
    comment = "the label reads six boluses a day"
    rejected = client.post(check_url(record), {**CHECKED, "action": "reject", "comment": comment})
    assert rejected.status_code == 302


@pytest.mark.parametrize(
    ("entry", "typed", "named"),
    [
        ("ptm_dose", "20 mg", "20 mg differs from the prescription"),
        ("ptm_max_per_day", "6", "6 differs from the prescription"),
        ("concentration_0", "1000 mcg/mL", "1000 mcg/mL differs from the prescription"),
        ("kind", "continuous", "continuous differs from the prescription"),
    ],
)
def test_a_bolus_setting_concentration_or_kind_that_differs_is_named_next_to_its_entry(
    implant: Implant, physician: User, pharmacist: User, entry: str, typed: str, named: str
) -> None:
    record = signed(signed_in(physician), implant)
    entries = {**CHECKED, entry: typed, "dose": "420 mcg/day", "action": "accept"}
    wrong = signed_in(pharmacist).post(check_url(record), entries)
    assert wrong.status_code == 422
    assert error_next_to(wrong.content.decode(), entry, named)
    record.refresh_from_db()
    assert record.status == "awaiting_check"


def test_patient_boluses_left_empty_when_prescribed_are_named_as_off(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = signed(signed_in(physician), implant)
    entries = {**CHECKED, "ptm_dose": "", "ptm_duration": "", "ptm_lockout": "", "action": "accept"}
    wrong = signed_in(pharmacist).post(check_url(record), {**entries, "ptm_max_per_day": ""})
    assert wrong.status_code == 422
    assert error_next_to(wrong.content.decode(), "ptm_dose", "off differs from the prescription")


@pytest.mark.parametrize("checker", ["pharmacist", "other physician"])
def test_a_matching_double_check_makes_the_prescription_ready(
    implant: Implant,
    physician: User,
    pharmacist: User,
    make_user: Callable[..., User],
    checker: str,
) -> None:
    record = signed(signed_in(physician), implant)
    user = pharmacist if checker == "pharmacist" else make_user("dr.other", Role.PHYSICIAN)
    accepted = signed_in(user).post(check_url(record), {**CHECKED, "action": "accept"})
    assert accepted.status_code == 302
    record.refresh_from_db()
    assert record.status == "ready" and record.checked_by == user.username


def test_the_prescriber_may_not_double_check_and_nurses_and_admins_are_refused(
    implant: Implant, physician: User, nurse: User, admin: User
) -> None:
    record = signed(signed_in(physician), implant)
    own = signed_in(physician).post(check_url(record), {**CHECKED, "action": "accept"})
    assert own.status_code == 403
    assert "rule-double-check: never the prescriber" in own.content.decode()
    for user in (nurse, admin):
        refused = signed_in(user).get(check_url(record))
        assert refused.status_code == 403
        assert "may not double-check" in refused.content.decode()
    record.refresh_from_db()
    assert record.status == "awaiting_check"


def readback_entries(**changes: str) -> dict[str, str]:
    return {
        "reservoir": "20 mL",
        "drug": "baclofen",
        "concentration": "2000 mcg/mL",
        "kind": "continuous",
        "dose": "400 mcg/day",
        **changes,
    }


def test_a_wrong_readback_stops_the_session_and_opens_an_incident_a_physician_closes(
    implant: Implant, nurse: User, physician: User
) -> None:
    program = Program.objects.get(ended_at__isnull=True)
    url = f"/programs/{program.id}/readback/"
    client = signed_in(nurse)
    assert "What the programmer shows" in client.get(url).content.decode()
    sent = client.post(url, readback_entries(dose="440 mcg/day"))
    assert sent["Location"] == url
    page = client.get(url).content.decode()
    assert "Session stopped: readback differs" in page
    assert "read back 00:00 440 mcg/day, prescribed 00:00 400 mcg/day" in page
    assert "An incident was opened on the patient's record" in page
    incident = Incident.objects.get(closed_at__isnull=True)
    chart_url = f"/patients/{implant.episode.patient_id}/"
    chart = client.get(chart_url).content.decode()
    assert "Programmer readback differs from prescription" in chart
    assert "Close the incident" not in chart  # a nurse does not close it
    close = f"/incidents/{incident.id}/close/"
    assert client.post(close, {"resolution": "programmer corrected"}).status_code == 403
    done = signed_in(physician).post(close, {"resolution": "programmer corrected, read back"})
    assert done["Location"] == chart_url + "#incidents"
    incident.refresh_from_db()
    assert incident.closed_by == "dr.house"
    again = client.post(url, readback_entries())
    assert again.status_code == 302
    assert "Session complete" in client.get(url).content.decode()


def test_a_matching_readback_completes_the_session_and_others_may_only_look(
    implant: Implant, nurse: User, pharmacist: User, admin: User
) -> None:
    program = Program.objects.get(ended_at__isnull=True)
    url = f"/programs/{program.id}/readback/"
    assert signed_in(pharmacist).get(url).status_code == 200
    assert signed_in(pharmacist).post(url, readback_entries()).status_code == 403
    assert signed_in(admin).get(url).status_code == 403
    assert signed_in(nurse).post(url, readback_entries()).status_code == 302
    page = signed_in(nurse).get(url).content.decode()
    assert "Session complete" in page and "What the programmer shows" not in page
    assert Readback.objects.get().read_by == "nurse.joy"
    assert not Incident.objects.exists()


def test_the_chart_lists_every_version_with_the_actions_each_role_may_take(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    signed(signed_in(physician), implant)
    chart_url = f"/patients/{implant.episode.patient_id}/"
    doctor = signed_in(physician).get(chart_url).content.decode()
    assert "Prescriptions and settings history" in doctor and "New prescription" in doctor
    assert "Prescription #2" in doctor and "Prescription #1" in doctor
    assert "accepted by pharma.cist" in doctor  # #1's double-check
    assert "programmed by dr.house at a refill" in doctor
    assert "Double-check</a>" not in doctor  # the prescriber's own
    checker = signed_in(pharmacist).get(chart_url).content.decode()
    assert "Double-check</a>" in checker and "New prescription" not in checker
    ward = signed_in(nurse).get(chart_url).content.decode()
    assert "Double-check</a>" not in ward and "Program pump" not in ward
    assert "Readback</a>" in ward  # the first fill awaits its readback


def test_a_ready_prescription_offers_program_pump_to_the_nurse(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    at = timezone.now() - timedelta(hours=1)
    dose = parse("420 mcg/day", Kind.DOSE_RATE, "d")
    prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=at)
    page = signed_in(nurse).get(f"/patients/{implant.episode.patient_id}/").content.decode()
    assert f'href="/implants/{implant.id}/program/">Program pump' in page


def test_a_warning_the_prescriber_gave_a_reason_for_needs_none_at_the_first_fill(
    patient: Patient, physician: User, pharmacist: User, nurse: User
) -> None:
    implant = implanted_pump(physician, patient.id, "NGP000002H")
    dose = parse("400 mcg/day", Kind.DOSE_RATE, "d")
    at = timezone.now() - timedelta(hours=1)
    prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=at, overrides=CARRIED_OVER)
    client = signed_in(nurse)
    url = f"/implants/{implant.id}/refill/"
    page = client.get(url).content.decode()
    data = {
        **REFILL_FORM,
        "expected": "",
        "aspirated": "",
        "version": hidden(page, "version"),
        "idempotency_key": hidden(page, "idempotency_key"),
    }
    review = client.post(url, {**data, "action": "review"}).content.decode()
    assert 'data-testid="given-max_start_dose"' in review
    assert "Reason given by the prescriber (dr.house)" in review
    assert CARRIED_OVER["max_start_dose"] in review
    assert 'name="override-max_start_dose' not in review
    done = client.post(url, {**data, "reviewed": hidden(review, "reviewed"), "action": "confirm"})
    assert done.status_code == 302
