"""The readback's reservoir tolerance on the Settings page: a labelled field typed with its unit,
shown unverified beside its default and its source (and the pocket-fill ceiling's); the admin
keeps or narrows it, audited (a wider one takes a second admin:
tests/web/test_web_tolerance_requests.py); a value core's rule refuses is named next to the field
and changes nothing; other roles read it."""

from __future__ import annotations

from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import SETTINGS_FORM, written_entries
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry

pytestmark = pytest.mark.django_db

UNVERIFIED = "unverified: clinic setting, no source gives the programmer's display resolution"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(**changes: Any) -> dict[str, Any]:
    return SETTINGS_FORM | {"version": str(clinic_settings().version)} | changes


def block_of(page: str, field_id: str) -> str:
    """The field's block on the page (label, input, help, errors) and the default line after."""
    start = page.index(f'id="{field_id}"')
    opening = page.rfind('<div class="field', 0, start)
    return page[opening : page.find("</p>", page.find('<p class="default">', start)) + 4]


def test_the_page_offers_the_tolerance_with_its_unit_unverified_beside_its_source(
    admin: User,
) -> None:
    page = unescape(signed_in(admin).get("/settings/").content.decode())
    block = block_of(page, "id_readback_tolerance")
    assert '<label for="id_readback_tolerance">Readback tolerance of the reservoir</label>' in block
    assert 'name="readback_tolerance" value="0.1 mL"' in block
    assert "from 0 mL to below 1 mL (the smallest pocket-fill threshold)" in block
    assert UNVERIFIED in block and "Default: 0.1 mL." in block
    assert "Source: rule-clinic-setting: a clinic choice" in block
    assert "below 1 mL: maino-2017" in block


@pytest.mark.parametrize(
    ("typed", "stored", "audited"),
    [("0.025 mL", Decimal("0.025"), "0.025 mL"), ("50 uL", Decimal("0.05"), "0.05 mL")],
)
def test_the_admin_narrows_the_tolerance_on_the_page_and_it_is_audited(
    admin: User, typed: str, stored: Decimal, audited: str
) -> None:
    client = signed_in(admin)
    response = client.post("/settings/", form(readback_tolerance=typed))
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = clinic_settings()
    assert (saved.readback_tolerance_ml, saved.version) == (stored, 2)
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["readback_tolerance"], entry.after["readback_tolerance"]) == (
        "0.1 mL",
        audited,
    )
    assert (
        f'name="readback_tolerance" value="{audited}"' in client.get("/settings/").content.decode()
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1 mL", "readback_tolerance: 1 mL would pass a discrepancy that matters; limit: < 1 mL"),
        ("0.0004 mL", "is finer than painpump shows a volume"),
        ("0.1", "has no unit"),
        ("-0.1 mL", "is negative"),
        ("0.1 mg", "'0.1 mg' is not a volume"),
    ],
    ids=["ceiling", "too-fine", "no-unit", "negative", "mass"],
)
def test_a_refused_tolerance_is_named_next_to_its_field_and_changes_nothing(
    admin: User, typed: str, message: str
) -> None:
    response = signed_in(admin).post("/settings/", form(readback_tolerance=typed))
    assert response.status_code == 422
    block = block_of(unescape(response.content.decode()), "id_readback_tolerance")
    assert "invalid" in block and 'role="alert"' in block
    assert message in block.replace("Readback tolerance of the reservoir", "readback_tolerance")
    assert clinic_settings().version == 1
    assert clinic_settings().readback_tolerance_ml == Decimal("0.1")
    assert not written_entries().exists()


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_other_roles_read_the_tolerance_unverified_but_may_not_change_it(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    client = signed_in(request.getfixturevalue(role_user))
    page = unescape(client.get("/settings/").content.decode())
    assert "<dt>Readback tolerance of the reservoir</dt><dd>0.1 mL " in page
    assert UNVERIFIED in page
    assert client.post("/settings/", form(readback_tolerance="0.5 mL")).status_code == 403
    assert clinic_settings().readback_tolerance_ml == Decimal("0.1")
    assert not written_entries().exists()
