"""The outside test's chain through the web pages (issue 14): one admin resets the second admin's
password, signs in as them, asks for a role on a new account and a wider readback tolerance, then
approves both as himself: each approval is a 422 naming the reset and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, RoleGrant, ToleranceRequest
from painpump.clinic.roles import Role

pytestmark = pytest.mark.django_db

NEW = "a long new pass phrase 4 admins"


def test_an_admin_who_reset_the_second_admins_password_cannot_approve_what_he_asked_as_them(
    admin: User, make_user: Callable[..., User]
) -> None:
    second = make_user("ad.two", Role.ADMIN)
    first = Client()
    first.force_login(admin)
    reset = {"reset-version": "1", "reset-password": NEW, "reset-repeat": NEW}
    assert first.post(f"/users/{second.id}/password/", reset).status_code == 302
    entry = AuditEntry.objects.get(action="user.password_reset")

    as_second = Client()
    signed_in = as_second.post("/sign-in/", {"username": "ad.two", "password": NEW})
    assert signed_in.status_code == 302
    account = {
        "username": "new.doc",
        "first_name": "Nia",
        "last_name": "Doc",
        "roles": ["physician"],
        "password": NEW,
        "repeat": NEW,
    }
    assert as_second.post("/users/new/", account).status_code == 302
    tolerance = {"ask-version": "1", "ask-readback_tolerance": "0.3 mL"}
    assert as_second.post("/settings/tolerance-requests/", tolerance).status_code == 302
    grant = RoleGrant.objects.get(status="pending")
    asked = ToleranceRequest.objects.get(status="pending")
    assert (grant.requested_by, asked.requested_by) == ("ad.two", "ad.two")

    entries = AuditEntry.objects.count()
    reason = (
        f"was asked by ad.two, whose password you reset on {entry.at:%Y-%m-%d %H:%M} UTC "
        f"(audit entry {entry.seq})"
    )
    for url in (
        f"/users/grants/{grant.id}/approve/",
        f"/settings/tolerance-requests/{asked.id}/approve/",
    ):
        refused = first.post(url)
        assert refused.status_code == 422
        assert reason in unescape(refused.content.decode())
    assert list(User.objects.get(username="new.doc").groups.all()) == []
    assert RoleGrant.objects.get(id=grant.id).status == "pending"
    assert ToleranceRequest.objects.get(id=asked.id).status == "pending"
    assert clinic_settings().readback_tolerance_ml == Decimal("0.1")
    assert AuditEntry.objects.count() == entries
