"""Clinical review: a clinic limit replaced by a newer one (a change of a hard limit, approved by a
second clinician) no longer says "In force" on its page: it says it was replaced, by which limit
(linked) and when, and shows what applied then as history, with no form to change or archive it;
the newer limit says it is in force and which one it replaced. An archived limit says so too, a
withdrawn change that it never applied; only the current limit says "In force"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from frozen import NOW
from painpump.clinic.actions import library
from painpump.clinic.models import ClinicLimit
from painpump.web.clinic_zone import current_locale
from painpump.web.templatetags.clinic_time import shown_moment

pytestmark = pytest.mark.django_db

POLICY = "Opioid policy v3, section 4"
SET_AT = NOW - timedelta(days=30)
APPROVED_AT = SET_AT + timedelta(hours=2)
CHANGED_AT = NOW - timedelta(days=2)
REPLACED_AT = CHANGED_AT + timedelta(hours=3)


def page(user: User, row: ClinicLimit) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/library/limits/{row.id}/")
    assert response.status_code == 200
    return unescape(response.content.decode())


def when(moment: datetime) -> str:
    return shown_moment(moment, current_locale())


def standing(html: str) -> str:
    found = re.search(r'<p data-testid="limit-standing">(.*?)</p>', html, re.S)
    assert found is not None, "no standing on the page"
    return re.sub(r"<[^>]+>", "", found.group(1))


def history(html: str) -> dict[str, str]:
    found = re.search(r'<dl class="facts" data-testid="limit-history">(.*?)</dl>', html, re.S)
    assert found is not None, "no history on the page"
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", found.group(1), re.S)
    return {name: re.sub(r"<[^>]+>", "", value) for name, value in pairs}


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def hard_decrease(pharmacist: User, physician: User) -> ClinicLimit:
    """A hard 30 % largest single decrease for morphine, approved by a physician."""
    with at(SET_AT):
        row = library.add_limit(
            pharmacist,
            drug="morphine",
            rule="max_decrease_percent",
            value=Decimal(30),
            severity="hard",
            source=POLICY,
            idempotency_key="decrease-30",
        )
    with at(APPROVED_AT):
        return library.approve_limit(physician, row.id, expected_version=row.version)


def changed(pharmacist: User, row: ClinicLimit, value: int) -> ClinicLimit:
    """The pharmacist's change of the hard limit in force: a new limit waiting to replace it."""
    with at(CHANGED_AT):
        return library.change_limit(
            pharmacist,
            row.id,
            expected_version=row.version,
            value=Decimal(value),
            severity="hard",
            source=POLICY,
        )


def replaced(pharmacist: User, physician: User) -> tuple[ClinicLimit, ClinicLimit]:
    """The 30 % limit replaced by a 25 % one a second clinician approved."""
    old = hard_decrease(pharmacist, physician)
    pending = changed(pharmacist, old, 25)
    with at(REPLACED_AT):
        new = library.approve_limit(physician, pending.id, expected_version=pending.version)
    old.refresh_from_db()
    return old, new


def test_a_replaced_limit_says_by_which_limit_and_when_and_shows_its_history(
    pharmacist: User, physician: User
) -> None:
    old, new = replaced(pharmacist, physician)
    assert old.archived_at is not None and new.replaces_id == old.id
    html = page(pharmacist, old)
    assert "In force" not in html
    said = standing(html)
    assert said.startswith("No longer applies: replaced on ")
    assert (
        f"replaced on {when(REPLACED_AT)} by the clinic largest single decrease (percent) of "
        "25 % (hard), set by pharma.cist, approved by dr.house."
    ) in said
    assert f'href="/library/limits/{new.id}/"' in html
    assert history(html) == {
        "Applied": f"from {when(APPROVED_AT)} until {when(REPLACED_AT)}",
        "Limit then": "30 % (hard)",
        "Source": POLICY,
        "Set by": f"pharma.cist, {when(SET_AT)}",
        "Approved by": f"dr.house, {when(APPROVED_AT)}",
    }


def test_a_replaced_limit_offers_no_change_or_archive(pharmacist: User, physician: User) -> None:
    old, _ = replaced(pharmacist, physician)
    html = page(pharmacist, old)
    assert "Save the change" not in html
    assert "Archive this limit" not in html
    assert f"/library/limits/{old.id}/archive/" not in html
    assert "Back to the library" in html


def test_the_replacing_limit_is_the_one_in_force_and_names_the_one_it_replaced(
    pharmacist: User, physician: User
) -> None:
    old, new = replaced(pharmacist, physician)
    html = page(pharmacist, new)
    assert standing(html).startswith("In force: 25 % (hard), set by pharma.cist on ")
    replaces = re.search(r'<p data-testid="limit-replaces">(.*?)</p>', html, re.S)
    assert replaces is not None
    assert re.sub(r"<[^>]+>", "", replaces.group(1)) == (
        "It replaced the clinic largest single decrease (percent) of 30 % (hard) on "
        f"{when(REPLACED_AT)}."
    )
    assert f'href="/library/limits/{old.id}/"' in html
    assert "Save the change" in html


def test_while_a_change_waits_the_limit_is_still_in_force_and_links_the_change(
    pharmacist: User, physician: User
) -> None:
    old = hard_decrease(pharmacist, physician)
    pending = changed(pharmacist, old, 25)
    html = page(pharmacist, old)
    assert standing(html).startswith("In force: 30 % (hard)")
    waiting = re.search(r'<p data-testid="limit-waiting-change">(.*?)</p>', html, re.S)
    assert waiting is not None
    assert f'href="/library/limits/{pending.id}/"' in waiting.group(1)
    assert "25 % (hard)" in waiting.group(1)
    pending_html = page(pharmacist, pending)
    assert "In force" not in standing(pending_html)
    assert standing(pending_html).startswith("Waiting for a second approver (not applied): 25 %")


def test_an_archived_limit_says_when_and_by_whom_and_a_withdrawn_change_never_applied(
    pharmacist: User, physician: User
) -> None:
    old = hard_decrease(pharmacist, physician)
    pending = changed(pharmacist, old, 25)
    with at(REPLACED_AT):
        withdrawn = library.archive_limit(pharmacist, pending.id, expected_version=pending.version)
    html = page(pharmacist, withdrawn)
    assert "In force" not in html
    assert standing(html) == (f"No longer applies: archived by pharma.cist on {when(REPLACED_AT)}.")
    assert history(html)["Never applied"] == (
        f"withdrawn by pharma.cist on {when(REPLACED_AT)}, before a second approver approved it"
    )
    assert standing(page(pharmacist, old)).startswith("In force: 30 % (hard)")


def test_changing_a_replaced_limit_is_refused_with_the_reason_and_nothing_changes(
    pharmacist: User, physician: User
) -> None:
    old, _ = replaced(pharmacist, physician)
    client = Client()
    client.force_login(pharmacist)
    data = {"version": str(old.version), "value": "20 %", "severity": "hard", "source": POLICY}
    response = client.post(f"/library/limits/{old.id}/", data)
    assert response.status_code == 422
    html = unescape(response.content.decode())
    assert "is archived" in html
    assert ClinicLimit.objects.filter(archived_at__isnull=True).count() == 1
