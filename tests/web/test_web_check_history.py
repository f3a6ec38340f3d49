"""The double-check page's "Earlier checks" is the chart's double-check history: each accept
refused because entries did not match (who, when, the entries named as the form labels them),
then the accept or the rejection, oldest first; neither a prescribed value nor a value typed at
a refused accept is shown to the next checker."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Implant, Prescription
from painpump.clinic.reads.prescription_history import ACCEPT_REFUSED
from painpump.clinic.roles import Role
from painpump.web.templatetags.clinic_time import shown_moment

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
"""The checker's entries for FLEX, some in other units."""
WRONG_COUNT = {**CHECKED, "ptm_max_per_day": "6"}
WRONG_START = {**CHECKED, "step_1_start": "13:30"}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def signed(physician: User, implant: Implant) -> Prescription:
    client = signed_in(physician)
    url = f"/implants/{implant.id}/prescribe/"
    page = client.get(url).content.decode()
    data = {**FLEX, "version": hidden(page, "version"), "submission": hidden(page, "submission")}
    review = client.post(url, {**data, "action": "review"}).content.decode()
    data["reviewed"] = hidden(review, "reviewed")
    assert client.post(url, {**data, "action": "sign"}).status_code == 302
    return Prescription.objects.filter(implant=implant).latest("number")


def check_url(record: Prescription) -> str:
    return f"/prescriptions/{record.id}/check/"


def history(page: str) -> list[str]:
    """The "Earlier checks" items, as text."""
    listed = unescape(page).split('data-testid="check-history"')[1].split("</ul>")[0]
    return [re.sub(r"<[^>]+>", "", item).strip() for item in listed.split("<li>")[1:]]


def refused_at() -> list[str]:
    """When each accept was refused, as the pages show a moment, oldest first."""
    entries = AuditEntry.objects.filter(action=ACCEPT_REFUSED).order_by("seq")
    return [shown_moment(entry.at, clinic_locale()) for entry in entries]


def test_the_accepts_refused_are_listed_with_who_when_and_the_entries_named(
    implant: Implant, physician: User, pharmacist: User, make_user: Callable[..., User]
) -> None:
    record = signed(physician, implant)
    client = signed_in(pharmacist)
    for wrong in (WRONG_COUNT, WRONG_START):
        assert client.post(check_url(record), {**wrong, "action": "accept"}).status_code == 422
    first, second = refused_at()
    days = ", ".join(f"Steps on {day}" for day in ("Monday", "Tuesday", "Wednesday", "Thursday"))
    expected = [
        f"accept refused: pharma.cist, {first}: Boluses a day at most did not match",
        f"accept refused: pharma.cist, {second}: {days}, Steps on Friday did not match",
    ]
    assert history(client.get(check_url(record)).content.decode()) == expected
    # another checker sees the same history, and neither the prescribed nor the typed numbers
    other = signed_in(make_user("dr.other", Role.PHYSICIAN)).get(check_url(record))
    page = unescape(other.content.decode())
    assert history(page) == expected
    for number in ("13:30", "12:00", "440 mcg/day", "0.44 mg/day", "2000 mcg/mL"):
        assert number not in page, number
    assert "ptm.max_per_day" not in page and "program.days" not in page


def test_after_the_accept_the_history_is_the_charts_in_order(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = signed(physician, implant)
    client = signed_in(pharmacist)
    for wrong in (WRONG_COUNT, WRONG_START):
        assert client.post(check_url(record), {**wrong, "action": "accept"}).status_code == 422
    assert client.post(check_url(record), {**CHECKED, "action": "accept"}).status_code == 302
    record.refresh_from_db()
    shown = history(client.get(check_url(record)).content.decode())
    accepted = shown_moment(record.checks.get().checked_at, clinic_locale())
    refused = [f"accept refused: pharma.cist, {at}:" for at in refused_at()]
    assert len(shown) == 3 and shown[-1] == f"accepted by pharma.cist, {accepted}"
    assert [item.startswith(start) for item, start in zip(shown, refused, strict=False)] == [
        True,
        True,
    ]
    chart = signed_in(physician).get(f"/patients/{implant.episode.patient_id}/").content.decode()
    listed = unescape(chart).split(f'data-testid="refused-accepts-{record.number}"')[1]
    assert [start in listed.split("</ul>")[0] for start in refused] == [True, True]


def test_a_rejection_after_a_refused_accept_is_listed_with_its_comment(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = signed(physician, implant)
    client = signed_in(pharmacist)
    assert client.post(check_url(record), {**WRONG_COUNT, "action": "accept"}).status_code == 422
    comment = "the label reads six boluses a day"
    posted = {**WRONG_COUNT, "comment": comment, "action": "reject"}
    assert client.post(check_url(record), posted).status_code == 302
    record.refresh_from_db()
    rejected_at = shown_moment(record.checks.get().checked_at, clinic_locale())
    (refused,) = refused_at()
    assert history(client.get(check_url(record)).content.decode()) == [
        f"accept refused: pharma.cist, {refused}: Boluses a day at most did not match",
        f"rejected by pharma.cist, {rejected_at}: “{comment}”",
    ]
