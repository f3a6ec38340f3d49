"""Titration between refills through the test client: a physician reviews a new dose (rate,
reservoir, projection before and after) and gives it; a step beyond the label or a second
increase within 24 h is refused with its source and no confirmation; nurses and auditors are
refused with the roles that may; bad input is refused next to the field; a form opened before
another change is a 409."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from hard_stops import OVER_LABEL, every_rule, ziconotide_pump
from painpump.clinic.models import AuditEntry, Implant, Program

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def review(client: Client, implant: Implant, dose: str, **extra: str) -> tuple[dict[str, Any], Any]:
    page = client.get(f"/implants/{implant.id}/program/").content.decode()
    data = {"version": hidden(page, "version"), "dose": dose, "origin": "", **extra}
    response = client.post(f"/implants/{implant.id}/program/", {**data, "action": "review"})
    shown = response.content.decode()
    if 'name="reviewed" value="' in shown:
        data["reviewed"] = hidden(shown, "reviewed")
    return data, response


def confirm(client: Client, implant: Implant, data: dict[str, Any]) -> Any:
    return client.post(f"/implants/{implant.id}/program/", {**data, "action": "confirm"})


def test_a_physician_reviews_and_gives_a_new_dose(implant: Implant, physician: User) -> None:
    client = signed_in(physician)
    shown = client.get(f"/implants/{implant.id}/program/").content.decode()
    assert 'value="400 mcg/day"' in shown and "left in the reservoir" in shown
    data, response = review(client, implant, "440 mcg/day")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Every setting before and after the change" in page
    assert "0.22 mL/day" in page and "Confirm the new dose" in page
    done = confirm(client, implant, data)
    assert done.status_code == 302
    program = Program.objects.get(ended_at__isnull=True)
    assert done["Location"] == f"/programs/{program.id}/"
    assert program.prescribed_by == "dr.house"
    result = client.get(done["Location"]).content.decode()
    assert "440 mcg/day" in result and "400 mcg/day" in result


def test_a_step_beyond_the_label_is_refused_with_its_source(
    implant: Implant, physician: User
) -> None:
    client = signed_in(physician)
    data, response = review(client, implant, "600 mcg/day")
    page = response.content.decode()
    assert response.status_code == 422
    assert "Refused by a hard limit" in page and "Lioresal label" in page
    assert "Confirm the new dose" not in page
    assert confirm(client, implant, data).status_code == 422
    assert Program.objects.count() == 1


def test_a_second_increase_within_24_hours_is_refused(implant: Implant, physician: User) -> None:
    client = signed_in(physician)
    data, _ = review(client, implant, "440 mcg/day")
    confirm(client, implant, data)
    _, response = review(client, implant, "480 mcg/day")
    page = response.content.decode()
    assert response.status_code == 422
    assert "min_hours_between_increases" in page and "24" in page
    assert Program.objects.count() == 2


@pytest.mark.parametrize("role", ["nurse", "auditor", "admin", "pharmacist"])
def test_only_physicians_change_the_dose(
    implant: Implant, role: str, request: pytest.FixtureRequest
) -> None:
    client = signed_in(request.getfixturevalue(role))
    response = client.get(f"/implants/{implant.id}/program/")
    assert response.status_code == 403
    assert "may not change the prescribed dose" in response.content.decode()
    assert "physician" in response.content.decode()
    posted = client.post(
        f"/implants/{implant.id}/program/",
        {"version": "1", "dose": "440 mcg/day", "action": "confirm"},
    )
    assert posted.status_code == 403
    assert Program.objects.count() == 1


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("440", "has no unit"), ("440 mL/day", "is not a dose rate"), ("0,44 mg/day", "decimal")],
)
def test_bad_dose_is_refused_next_to_the_field(
    implant: Implant, physician: User, typed: str, reason: str
) -> None:
    client = signed_in(physician)
    _, response = review(client, implant, typed)
    page = response.content.decode()
    assert response.status_code == 422
    start = page.index('id="id_dose"')
    assert reason in page[start : page.index("</div>", start)]
    assert Program.objects.count() == 1


def test_a_form_opened_before_another_change_is_a_conflict(
    implant: Implant, physician: User
) -> None:
    client = signed_in(physician)
    stale, _ = review(client, implant, "420 mcg/day")
    fresh, _ = review(client, implant, "440 mcg/day")
    confirm(client, implant, fresh)
    response = confirm(client, implant, stale)
    assert response.status_code == 409
    assert "was changed by someone else" in response.content.decode()
    assert Program.objects.count() == 2


def test_no_override_turns_a_hard_stop_into_a_program_through_the_form(
    physician: User, nurse: User
) -> None:
    """Ziconotide above its US label maximum: the review offers no reason input and no
    confirmation; a confirmation posted anyway with a reason for every rule is refused and
    records nothing."""
    implant = ziconotide_pump(physician, nurse)
    client = signed_in(physician)
    data, response = review(client, implant, OVER_LABEL)
    page = response.content.decode()
    assert response.status_code == 422
    assert "Hard limit: cannot be overridden" in page
    assert "Reason for passing this soft limit" not in page and "Confirm the new dose" not in page
    looked = AuditEntry.objects.exclude(action__endswith="preview")
    programs, entries = Program.objects.count(), looked.count()
    forged = {f"override-{rule}:0123456789abcdef": reason for rule, reason in every_rule().items()}
    refused = confirm(client, implant, {**data, **forged})
    assert refused.status_code == 422
    assert "Hard limit: cannot be overridden" in refused.content.decode()
    assert Program.objects.count() == programs
    assert not AuditEntry.objects.filter(action="program.change").exists()
    assert looked.count() == entries  # only the looks at the change are audited
