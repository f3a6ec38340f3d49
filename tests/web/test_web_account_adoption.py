"""Adopting an account made outside painpump on the Users page: the page lists the accounts
`painpump audit verify` names, each with "Ask to adopt" and a reason; the adoption waits on the
page with Approve and Decline for another admin and Withdraw for the one who asked; approval
records the account (verify passes), the asker's own approval and an account changed since the
ask are refused and change nothing; a reason left empty is refused next to its row; every other
role is refused (403) at every step."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import written_entries
from painpump.clinic import audit
from painpump.clinic.actions import account_adoptions
from painpump.clinic.models import AccountAdoption, AuditEntry
from painpump.clinic.roles import Role
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

ASK = "/users/adoptions/"
REASON = "made by the 2025 import script for the night pump nurse"


@pytest.fixture
def second_admin(make_user: Callable[..., User]) -> User:
    return make_user("ad.two", Role.ADMIN)


@pytest.fixture
def outsider(db: None) -> User:
    return User.objects.get(username=tamper.insert_account("in.sider", "nurse"))


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_of(response: Any) -> str:
    return unescape(response.content.decode())


def section(page: str, label: str) -> str:
    return page.split(f'aria-labelledby="{label}"')[1].split("</section>")[0]


def decide(user: User, adoption_id: int, step: str, **kwargs: Any) -> Any:
    return signed_in(user).post(f"{ASK}{adoption_id}/{step}/", **kwargs)


def test_the_users_page_lists_the_accounts_made_outside_painpump_with_ask_to_adopt(
    admin: User, nurse: User, outsider: User
) -> None:
    page = page_of(signed_in(admin).get("/users/"))
    outside = section(page, "outside")
    assert 'Accounts made outside painpump <span class="count">1</span>' in outside
    assert "in.sider" in outside and "nurse.joy" not in outside
    assert f'action="{ASK}"' in outside and f'name="user" value="{outsider.id}"' in outside
    assert "Ask to adopt in.sider</button>" in outside
    assert "No adoption is waiting." in section(page, "adoptions")


def test_an_account_asked_on_the_page_is_adopted_once_a_second_admin_approves(
    admin: User, second_admin: User, outsider: User
) -> None:
    asked = signed_in(admin).post(ASK, {"user": outsider.id, "reason": REASON}, follow=True)
    page = page_of(asked)
    assert (
        "Adoption of in.sider asked for: its creation is recorded once a second admin approves."
        in page
    )
    (row,) = AccountAdoption.objects.all()
    assert f"adoption {row.id} waits for a second admin" in section(page, "outside")
    waiting = section(page, "adoptions")
    assert REASON in waiting and "Withdraw</button>" in waiting and "Approve" not in waiting
    assert not audit.verify().ok
    other = section(page_of(signed_in(second_admin).get("/users/")), "adoptions")
    assert "Approve adopting in.sider</button>" in other and "Decline</button>" in other
    assert "Withdraw" not in other
    approved = page_of(decide(second_admin, row.id, "approve", follow=True))
    assert (
        "in.sider is adopted: the audit trail records its creation as it is now (asked by "
        "ad.min)." in approved
    )
    assert "None: the audit trail records the creation of every account." in approved
    entry = AuditEntry.objects.get(action="user.adopt")
    assert (entry.actor, entry.object_id) == ("ad.two", "in.sider")
    assert audit.verify().ok


def test_the_admin_who_asked_cannot_approve_on_the_page(admin: User, outsider: User) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    entries = AuditEntry.objects.count()
    response = decide(admin, asked.id, "approve")
    assert response.status_code == 422
    assert f"request: {asked.id} is your own; limit: another admin's request" in page_of(response)
    assert AccountAdoption.objects.get().status == "pending"
    assert AuditEntry.objects.count() == entries


def test_an_account_changed_in_the_database_since_the_ask_is_refused_at_approval(
    admin: User, second_admin: User, outsider: User
) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    tamper.make_superuser("in.sider")
    entries = AuditEntry.objects.count()
    response = decide(second_admin, asked.id, "approve")
    assert response.status_code == 422
    assert (
        f"request: {asked.id} is for an account changed since it was asked: superuser is True "
        "now, False when asked; staff is True now, False when asked" in page_of(response)
    )
    assert AccountAdoption.objects.get().status == "pending"
    assert AuditEntry.objects.count() == entries
    assert decide(second_admin, asked.id, "decline").status_code == 302
    assert AccountAdoption.objects.get().status == "declined"


def test_a_refused_ask_is_shown_at_its_row_and_stores_nothing(
    admin: User, nurse: User, outsider: User
) -> None:
    response = signed_in(admin).post(ASK, {"user": outsider.id, "reason": ""})
    assert response.status_code == 422
    outside = section(page_of(response), "outside")
    assert '<div class="field invalid"><label for="adopt-reason-' in outside
    assert "This field is required." in outside
    response = signed_in(admin).post(ASK, {"user": nurse.id, "reason": REASON})
    assert response.status_code == 422
    assert "was made by painpump: audit entry" in section(page_of(response), "outside")
    assert not AccountAdoption.objects.exists() and not written_entries().exists()


def test_the_asker_withdraws_and_nothing_changes(admin: User, outsider: User) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    withdrawn = page_of(decide(admin, asked.id, "withdraw", follow=True))
    assert "Your request to adopt in.sider is withdrawn." in withdrawn
    assert AccountAdoption.objects.get().status == "withdrawn"
    assert not AuditEntry.objects.filter(action="user.adopt").exists()
    assert "Ask to adopt in.sider</button>" in section(withdrawn, "outside")


@pytest.mark.parametrize("role", ["physician", "nurse", "pharmacist", "auditor"])
def test_every_other_role_is_refused_every_step(
    admin: User, outsider: User, make_user: Callable[..., User], role: str
) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    entries = AuditEntry.objects.count()
    client = signed_in(make_user(f"someone.{role}", Role(role)))
    assert client.get("/users/").status_code == 403
    assert client.post(ASK, {"user": outsider.id, "reason": REASON}).status_code == 403
    for step in ("approve", "decline", "withdraw"):
        assert client.post(f"{ASK}{asked.id}/{step}/").status_code == 403
    assert AccountAdoption.objects.get().status == "pending"
    assert AuditEntry.objects.count() == entries + 1  # the account made for the test
