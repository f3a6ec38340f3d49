"""A wider readback tolerance on the Settings page (issue 14, rule-second-admin-tolerance): the
settings form refuses it to one admin, explains why next to the field and offers "Ask a second
admin"; the request is shown on the page, with Approve and Decline for another admin and
Withdraw for the admin who asked; approval sets it (audited, `audit verify` ok), the asker's own
approval and a request asked from a tolerance since changed are refused and change nothing;
other roles are refused every step."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import SETTINGS_FORM, written_entries
from painpump.clinic import audit
from painpump.clinic.actions import tolerance_requests
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, ToleranceRequest
from painpump.clinic.roles import Role

pytestmark = pytest.mark.django_db

ASK = "/settings/tolerance-requests/"


@pytest.fixture
def second_admin(make_user: Callable[..., User]) -> User:
    return make_user("ad.two", Role.ADMIN)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(**changes: Any) -> dict[str, Any]:
    return SETTINGS_FORM | {"version": str(clinic_settings().version)} | changes


def page_of(response: Any) -> str:
    return unescape(response.content.decode())


def held() -> tuple[Decimal, int]:
    settings = clinic_settings()
    return settings.readback_tolerance_ml, settings.version


def decide(user: User, request_id: int, step: str, **kwargs: Any) -> Any:
    return signed_in(user).post(f"{ASK}{request_id}/{step}/", **kwargs)


def test_a_wider_tolerance_on_the_form_is_refused_with_why_and_an_ask_for_a_second_admin(
    admin: User,
) -> None:
    response = signed_in(admin).post("/settings/", form(readback_tolerance="0.3 mL"))
    assert response.status_code == 422
    page = page_of(response)
    assert (
        "Readback tolerance of the reservoir: 0.3 mL is wider than the tolerance in force; "
        "limit: <= current 0.1 mL (a wider one needs a second admin's approval) (source: "
        "rule-second-admin-tolerance: " in page
    )
    ask = page.split('aria-labelledby="ask"')[1].split("</section>")[0]
    assert f'action="{ASK}"' in ask and "Ask a second admin</button>" in ask
    assert 'name="ask-readback_tolerance" value="0.3 mL"' in ask
    assert 'name="ask-version" value="1"' in ask
    assert held() == (Decimal("0.1"), 1) and not written_entries().exists()


def test_a_narrower_tolerance_is_saved_by_one_admin_with_no_ask(admin: User) -> None:
    response = signed_in(admin).post("/settings/", form(readback_tolerance="0.05 mL"))
    assert response.status_code == 302
    assert held() == (Decimal("0.05"), 2) and not ToleranceRequest.objects.exists()


def test_the_request_waits_on_the_page_and_a_second_admin_approves_it(
    admin: User, second_admin: User
) -> None:
    asked = signed_in(admin).post(
        ASK, {"ask-version": "1", "ask-readback_tolerance": "0.3 mL"}, follow=True
    )
    page = page_of(asked)
    assert (
        "A readback tolerance of 0.3 mL is asked for: it applies once a second admin approves it."
        in page
    )
    (request,) = ToleranceRequest.objects.all()
    waiting = page.split('aria-labelledby="tolerance-request"')[1].split("</section>")[0]
    assert (
        f"Request {request.id}: the readback tolerance of the reservoir from 0.1 mL to" in waiting
    )
    assert "Withdraw your request" in waiting and "Approve" not in waiting
    assert held() == (Decimal("0.1"), 1)
    other = page_of(signed_in(second_admin).get("/settings/"))
    assert "Approve 0.3 mL</button>" in other and "Decline</button>" in other
    assert "Withdraw" not in other
    approved = decide(second_admin, request.id, "approve", follow=True)
    assert "The readback tolerance is 0.3 mL from now on (asked by ad.min)." in page_of(approved)
    assert 'name="readback_tolerance" value="0.3 mL"' in page_of(approved)
    assert 'aria-labelledby="tolerance-request"' not in page_of(approved)
    assert held() == (Decimal("0.3"), 2)
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.actor == "ad.two" and entry.after is not None
    assert (entry.after["request"], entry.after["asked_by"]) == (request.id, "ad.min")
    assert audit.verify().ok


def test_the_admin_who_asked_cannot_approve_on_the_page(admin: User) -> None:
    asked = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    entries = AuditEntry.objects.count()
    response = decide(admin, asked.id, "approve")
    assert response.status_code == 422
    assert f"request: {asked.id} is your own; limit: another admin's request" in page_of(response)
    assert held() == (Decimal("0.1"), 1) and AuditEntry.objects.count() == entries


def test_a_request_asked_before_the_tolerance_was_narrowed_is_refused_naming_it(
    admin: User, second_admin: User
) -> None:
    asked = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    narrowed = signed_in(admin).post("/settings/", form(readback_tolerance="0.05 mL"))
    assert narrowed.status_code == 302
    response = decide(second_admin, asked.id, "approve")
    assert response.status_code == 422
    assert (
        f"request: {asked.id} asked to widen 0.1 mL to 0.3 mL, but the tolerance is 0.05 mL "
        "since: decline it and ask again; limit: a request asked from the tolerance in force, "
        "0.05 mL" in page_of(response)
    )
    assert held() == (Decimal("0.05"), 2)
    assert decide(second_admin, asked.id, "decline").status_code == 302
    assert ToleranceRequest.objects.get().status == "declined"


def test_another_admin_declines_and_only_the_asker_withdraws(
    admin: User, second_admin: User
) -> None:
    first = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    assert decide(admin, first.id, "decline").status_code == 422
    declined = decide(second_admin, first.id, "decline", follow=True)
    assert "The request for 0.3 mL is declined." in page_of(declined)
    second = tolerance_requests.ask(admin, expected_version=1, tolerance="0.2 mL")
    refused = decide(second_admin, second.id, "withdraw")
    assert refused.status_code == 422 and "was asked by ad.min" in page_of(refused)
    withdrawn = decide(admin, second.id, "withdraw", follow=True)
    assert "Your request for 0.2 mL is withdrawn." in page_of(withdrawn)
    assert [r.status for r in ToleranceRequest.objects.order_by("id")] == [
        "declined",
        "withdrawn",
    ]
    assert held() == (Decimal("0.1"), 1)


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_other_roles_may_not_ask_decide_or_see_a_request(
    request: pytest.FixtureRequest, admin: User, role_user: str
) -> None:
    client = signed_in(request.getfixturevalue(role_user))
    asked = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    entries = AuditEntry.objects.count()
    ask = client.post(ASK, {"ask-version": "1", "ask-readback_tolerance": "0.2 mL"})
    assert ask.status_code == 403
    for step in ("approve", "decline", "withdraw"):
        assert client.post(f"{ASK}{asked.id}/{step}/").status_code == 403
    assert 'aria-labelledby="tolerance-request"' not in page_of(client.get("/settings/"))
    assert held() == (Decimal("0.1"), 1) and AuditEntry.objects.count() == entries
    assert ToleranceRequest.objects.get().status == "pending"
