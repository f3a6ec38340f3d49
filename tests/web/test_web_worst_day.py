"""The worst day with every patient bolus (core: the largest basal day plus every allowed bolus)
shown as a dose in the drug's unit wherever a clinician judges a prescription: the review before
signing, the double-check once accepted (never before: the checker types the numbers
independently), the chart's settings history; a flex program's weekly average daily dose next to
its largest day."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.models import Implant, Prescription

pytestmark = pytest.mark.django_db

FLEX_PTM = {
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
"""400 mcg/day, from noon on weekdays 440 mcg/day: a largest day of 420 mcg, a weekly average
of (5 x 420 + 2 x 400) / 7 = 414.286 mcg/day and, with four 5 mcg boluses, a worst day of 440
mcg."""
CONTINUOUS = {"kind": "continuous", "dose": "400 mcg/day", "step_0_dose": "", "step_1_dose": ""}
NO_PTM = {"ptm_dose": "", "ptm_duration": "", "ptm_lockout": "", "ptm_max_per_day": ""}
LARGEST, AVERAGE, WORST = (
    "Daily dose (largest day)",
    "Weekly average daily dose",
    "Worst day with every patient bolus",
)
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
"""The checker's entries for FLEX_PTM, typed from the label and the order."""


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def reviewed(client: Client, implant: Implant, **changes: str) -> tuple[dict[str, Any], str]:
    url = f"/implants/{implant.id}/prescribe/"
    page = client.get(url).content.decode()
    data = {
        **FLEX_PTM,
        "version": hidden(page, "version"),
        "submission": hidden(page, "submission"),
        **changes,
    }
    response = client.post(url, {**data, "action": "review"})
    assert response.status_code == 200, response.content.decode()
    shown = response.content.decode()
    return {**data, "reviewed": hidden(shown, "reviewed")}, unescape(shown)


def signed(client: Client, implant: Implant) -> Prescription:
    data, _ = reviewed(client, implant)
    done = client.post(f"/implants/{implant.id}/prescribe/", {**data, "action": "sign"})
    assert done.status_code == 302, done.content.decode()
    return Prescription.objects.filter(implant=implant).latest("number")


def pairs(page: str, testid: str) -> list[tuple[str, str]]:
    block = page.split(f'data-testid="{testid}"')[1].split("</dl>")[0]
    return re.findall(r"<dt>([^<]*)</dt><dd[^>]*>([^<]*)</dd>", block)


def rows(page: str, testid: str) -> dict[str, tuple[str, str]]:
    table = page.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    found = re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td><td>([^<]*)</td>', table)
    return {setting: (before, after) for setting, before, after in found}


@pytest.mark.parametrize(
    ("entries", "doses"),
    [
        ({**CONTINUOUS, **NO_PTM}, [(LARGEST, "400 mcg/day")]),
        (CONTINUOUS, [(LARGEST, "400 mcg/day"), (WORST, "420 mcg/day")]),
        (NO_PTM, [(LARGEST, "420 mcg/day"), (AVERAGE, "414.286 mcg/day")]),
        (
            {},
            [(LARGEST, "420 mcg/day"), (AVERAGE, "414.286 mcg/day"), (WORST, "440 mcg/day")],
        ),
    ],
    ids=["continuous", "continuous-with-boluses", "flex", "flex-with-boluses"],
)
def test_the_review_before_signing_shows_the_largest_the_average_and_the_worst_day(
    implant: Implant, physician: User, entries: dict[str, str], doses: list[tuple[str, str]]
) -> None:
    """The average only for a flex program, the worst day only with patient boluses: 4 x 5 mcg
    on the largest day, in mcg as baclofen is ordered."""
    _, page = reviewed(signed_in(physician), implant, **entries)
    assert pairs(page, "doses") == doses


def test_the_changes_against_the_version_before_name_the_worst_day(
    implant: Implant, physician: User
) -> None:
    """Prescription #1 gives no patient bolus: the worst day is new, as is the average."""
    _, page = reviewed(signed_in(physician), implant)
    changes = rows(page, "changes")
    assert changes[WORST] == ("—", "440 mcg/day")
    assert changes[AVERAGE] == ("—", "414.286 mcg/day")
    assert changes[LARGEST] == ("400 mcg/day", "420 mcg/day")


def test_the_check_form_hides_the_worst_day_and_the_accepted_check_shows_it(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    record = signed(signed_in(physician), implant)
    checker = signed_in(pharmacist)
    url = f"/prescriptions/{record.id}/check/"
    form = unescape(checker.get(url).content.decode())
    assert "440 mcg/day" not in form and WORST not in form and "414.286" not in form
    accepted = checker.post(url, {**CHECKED, "action": "accept"})
    assert accepted.status_code == 302 and accepted["Location"] == url
    page = unescape(checker.get(url).content.decode())
    assert 'data-testid="check-decided"' in page
    assert "accepted by pharma.cist" in page
    assert f"<dt>{WORST}</dt><dd>440 mcg/day</dd>" in page
    assert f"<dt>{AVERAGE}</dt><dd>414.286 mcg/day</dd>" in page
    assert 'value="accept"' not in page  # the check is over: no form


def test_the_chart_history_shows_each_versions_doses_with_the_worst_day(
    implant: Implant, physician: User, nurse: User
) -> None:
    signed(signed_in(physician), implant)
    chart = unescape(signed_in(nurse).get(f"/patients/{implant.episode.patient_id}/").text)
    version = chart.split('data-testid="prescription-2"')[1].split("</article>")[0]
    shown = re.findall(r"<dt>([^<]*)</dt><dd data-testid=\"dose-2\">([^<]*)</dd>", version)
    assert shown == [
        (LARGEST, "420 mcg/day"),
        (AVERAGE, "414.286 mcg/day"),
        (WORST, "440 mcg/day"),
    ]
    assert rows(version, "changes-2")[WORST] == ("—", "440 mcg/day")
    first = chart.split('data-testid="prescription-1"')[1].split("</article>")[0]
    assert re.findall(r'data-testid="dose-1">([^<]*)<', first) == ["400 mcg/day"]
