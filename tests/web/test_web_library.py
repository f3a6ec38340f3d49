"""The drug library and device catalog pages: read by every role with each value's unit, source
and verification (unverified values marked "verify against the labeling"); clinic limits added,
changed and archived by a pharmacist or an admin only, a bad limit refused next to its field with
nothing stored, a stale version a 409."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import written_entries
from painpump.clinic.actions import library
from painpump.clinic.models import AuditEntry, ClinicLimit
from painpump.clinic.roles import Role
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

ROLES = ["physician", "nurse", "pharmacist", "auditor", "admin"]
WRITERS = ["pharmacist", "admin"]
NON_WRITERS = ["physician", "nurse", "auditor"]
POLICY = "Opioid policy v3, section 2"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_form(**changes: str) -> dict[str, str]:
    return {
        "key": "k-1",
        "rule_choice": "max_daily_dose",
        "value": "10 mg/day",
        "severity": "hard",
        "source": POLICY,
    } | changes


def error_next_to(page: str, field_id: str) -> str:
    """The error shown inside the field's block (the block holding the input with that id)."""
    match = re.search(
        r'<div class="field invalid">\s*<label for="' + field_id + r'">.*?</div>', page, re.S
    )
    assert match, f"no error next to {field_id}"
    return match.group(0)


def morphine_limit(user: User, severity: str = "hard") -> ClinicLimit:
    return library.add_limit(
        user,
        drug="morphine",
        rule="max_daily_dose",
        value=parse("10 mg/day", Kind.DOSE_RATE, "value"),
        severity=severity,
        source=POLICY,
        idempotency_key=f"k-{severity}",
    )


@pytest.mark.parametrize("role_user", ROLES)
def test_every_role_reads_the_drug_library_with_units_sources_and_verification(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    response = client_for(request.getfixturevalue(role_user)).get("/library/")
    page = response.content.decode()
    assert response.status_code == 200
    for drug in ("morphine", "hydromorphone", "ziconotide", "baclofen", "clonidine"):
        assert f'id="drug-{drug}"' in page
    assert "19.2 mcg/day" in page and "Prialt US label" in page
    assert "15 mg/day" in page
    assert (
        "pacc-2012: PACC 2012 maximum daily dose as commonly cited "
        "(tables not read, UNCONFIRMED)" in page
    )
    assert "unverified: verify against the labeling" in page
    assert "morphine + bupivacaine + clonidine" in page
    assert "300 : 1" in page  # oral : intrathecal morphine
    baclofen = page.split('id="drug-baclofen"')[1].split("</section>")[0]
    restart = baclofen.split("<caption>Restart after a stopped pump</caption>")[1]
    assert "A restart is judged against the start dose after a stop longer than" in restart
    assert "7 day" in restart and "rule-clinic-setting" in restart
    ziconotide = page.split('id="drug-ziconotide"')[1].split("</section>")[0]
    assert "Restart after a stopped pump" not in ziconotide
    held = page.split("<caption>Stability in a stopped pump</caption>")[1].split("</table>")[0]
    assert "Longest time in a stopped pump, for a drug with no rule" in held
    assert "90 day" in held and "rule-clinic-setting" in held


@pytest.mark.parametrize("role_user", ROLES)
def test_every_role_reads_the_device_catalog(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    response = client_for(request.getfixturevalue(role_user)).get("/library/devices/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "synchromed-ii-20" in page and "prometra-catheter" in page
    assert "0.048 mL/day" in page and "0.0026 mL/cm" in page
    assert "± 14.5 %" in page
    assert "commonly cited, not found in any source" in page  # max rate, unverified
    assert "unverified: verify against the labeling" in page


def test_someone_without_a_role_may_not_read_the_library(db: None) -> None:
    nobody = User.objects.create_user("nobody", password="x" * 12)
    assert client_for(nobody).get("/library/").status_code == 403
    assert client_for(nobody).get("/library/devices/").status_code == 403


def test_the_add_button_is_offered_only_to_those_who_may_write(
    pharmacist: User, nurse: User
) -> None:
    assert (
        "/library/morphine/limits/new/" in client_for(pharmacist).get("/library/").content.decode()
    )
    assert (
        "/library/morphine/limits/new/" not in client_for(nurse).get("/library/").content.decode()
    )


@pytest.mark.parametrize("role_user", WRITERS)
def test_a_pharmacist_or_admin_adds_a_clinic_limit_shown_with_its_source(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    user: User = request.getfixturevalue(role_user)
    client = client_for(user)
    assert client.get("/library/morphine/limits/new/").status_code == 200
    severity = "hard" if role_user == "pharmacist" else "soft"  # a hard one is a pharmacist's
    response = client.post("/library/morphine/limits/new/", add_form(severity=severity))
    assert response.status_code == 302
    assert response["Location"] == "/library/#drug-morphine"
    row = ClinicLimit.objects.get()
    assert (row.drug, row.rule, row.value, row.unit) == (
        "morphine",
        "max_daily_dose",
        Decimal(10),
        "mg/day",
    )
    assert row.set_by == user.get_username()
    page = client.get("/library/").content.decode()
    assert POLICY in page and "Clinic limit added for morphine." in page
    assert AuditEntry.objects.filter(action="library.limit.add").count() == 1


def test_an_admin_may_not_add_a_hard_limit_and_nothing_is_stored(admin: User) -> None:
    response = client_for(admin).post("/library/morphine/limits/new/", add_form())
    assert response.status_code == 403
    assert not ClinicLimit.objects.exists()


@pytest.mark.parametrize("role_user", NON_WRITERS)
def test_other_roles_may_not_add_a_limit_and_nothing_is_stored(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    client = client_for(request.getfixturevalue(role_user))
    assert client.get("/library/morphine/limits/new/").status_code == 403
    response = client.post("/library/morphine/limits/new/", add_form())
    assert response.status_code == 403
    assert "may not edit the drug library" in response.content.decode()
    assert not ClinicLimit.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"value": "10"}, "id_value", "has no unit"),
        ({"value": "10 mg/mL"}, "id_value", "is not a dose rate"),
        ({"rule_choice": "max_step_percent", "value": "20"}, "id_value", "has no unit"),
        ({"source": ""}, "id_source", "Name the clinic policy this limit comes from."),
        ({"severity": "firm"}, "id_severity", "Select a valid choice."),
        ({"value": "25 mg/day", "severity": "soft"}, "id_value", "may only tighten"),
        ({"value": "10 mcg/day"}, "id_value", "unit or decimal slip"),
    ],
    ids=["no-unit", "wrong-kind", "percent-no-unit", "no-source", "bad-kind", "looser", "slip"],
)
def test_an_invalid_limit_is_refused_next_to_its_field_and_nothing_is_stored(
    pharmacist: User, changes: dict[str, str], field_id: str, message: str
) -> None:
    response = client_for(pharmacist).post("/library/morphine/limits/new/", add_form(**changes))
    assert response.status_code == 422
    block = error_next_to(response.content.decode(), field_id)
    assert 'role="alert"' in block
    assert message in block
    assert not ClinicLimit.objects.exists()
    assert not written_entries().exists()


def test_a_retried_add_is_stored_once(pharmacist: User) -> None:
    client = client_for(pharmacist)
    assert client.post("/library/morphine/limits/new/", add_form()).status_code == 302
    assert client.post("/library/morphine/limits/new/", add_form()).status_code == 302
    assert ClinicLimit.objects.count() == 1


def test_an_unknown_drug_is_a_404(pharmacist: User) -> None:
    assert client_for(pharmacist).get("/library/heroin/limits/new/").status_code == 404


def test_a_change_saves_with_the_version_and_a_stale_version_is_a_409(pharmacist: User) -> None:
    row = morphine_limit(pharmacist)
    client = client_for(pharmacist)
    url = f"/library/limits/{row.id}/"
    form = client.get(url).content.decode()
    assert 'name="version" value="1"' in form and 'value="10 mg/day"' in form
    data = {"version": "1", "value": "8 mg/day", "severity": "hard", "source": POLICY}
    assert client.post(url, data).status_code == 302
    row.refresh_from_db()
    assert (row.value, row.version) == (Decimal("8"), 2)
    stale = client.post(url, data | {"value": "6 mg/day"})
    assert stale.status_code == 409
    assert "was changed by someone else" in stale.content.decode()
    row.refresh_from_db()
    assert row.value == Decimal("8")


def test_a_bad_change_is_refused_next_to_the_field(pharmacist: User) -> None:
    row = morphine_limit(pharmacist)
    data = {"version": "1", "value": "8 mg/mL", "severity": "hard", "source": POLICY}
    response = client_for(pharmacist).post(f"/library/limits/{row.id}/", data)
    assert response.status_code == 422
    assert "is not a dose rate" in error_next_to(response.content.decode(), "id_value")


@pytest.mark.parametrize("role_user", NON_WRITERS)
def test_other_roles_may_not_change_or_archive_a_limit(
    request: pytest.FixtureRequest, pharmacist: User, role_user: str
) -> None:
    row = morphine_limit(pharmacist)
    client = client_for(request.getfixturevalue(role_user))
    assert client.get(f"/library/limits/{row.id}/").status_code == 403
    data = {"version": "1", "value": "8 mg/day", "severity": "hard", "source": POLICY}
    assert client.post(f"/library/limits/{row.id}/", data).status_code == 403
    assert client.post(f"/library/limits/{row.id}/archive/", {"version": "1"}).status_code == 403
    row.refresh_from_db()
    assert row.version == 1 and row.archived_at is None


def test_archiving_keeps_the_limit_on_record_and_a_stale_archive_is_a_409(
    pharmacist: User, admin: User
) -> None:
    row = morphine_limit(pharmacist)
    client = client_for(admin)
    assert client.post(f"/library/limits/{row.id}/archive/", {"version": "2"}).status_code == 409
    response = client.post(f"/library/limits/{row.id}/archive/", {"version": "1"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.archived_at is not None and row.archived_by == "ad.min"
    page = client.get("/library/").content.decode()
    assert "Archived clinic limits (1)" in page


def test_archiving_needs_a_post(pharmacist: User) -> None:
    row = morphine_limit(pharmacist)
    assert client_for(pharmacist).get(f"/library/limits/{row.id}/archive/").status_code == 405


APPROVE = 'aria-label="Approve the clinic maximum daily dose of morphine"'


def test_a_pending_hard_limit_is_listed_with_an_approve_button_for_other_approvers(
    pharmacist: User, physician: User, make_user: Callable[..., User], nurse: User, admin: User
) -> None:
    row = morphine_limit(pharmacist)
    second = make_user("pharma.two", Role.PHARMACIST)
    for user in (physician, second):
        page = client_for(user).get("/library/").content.decode()
        assert "Clinic limits waiting for a second approver (1)" in page
        assert APPROVE in page and f"/library/limits/{row.id}/approve/" in page
    for user in (pharmacist, nurse, admin):  # its setter, and roles without library.approve
        page = client_for(user).get("/library/").content.decode()
        assert "Clinic limits waiting for a second approver (1)" in page
        assert APPROVE not in page
        assert "waiting: another pharmacist or physician approves it" in page
    assert "pending: not applied until a second approver approves it" in page


def test_the_approve_button_puts_the_limit_in_force_and_is_audited(
    pharmacist: User, physician: User
) -> None:
    row = morphine_limit(pharmacist)
    client = client_for(physician)
    response = client.post(f"/library/limits/{row.id}/approve/", {"version": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/library/#drug-morphine"
    row.refresh_from_db()
    assert (row.approved_by, row.version, row.pending) == ("dr.house", 2, False)
    page = client.get("/library/").content.decode()
    assert "Clinic limit for morphine approved: it applies from now on." in page
    assert "waiting for a second approver" not in page
    assert "in force, approved by dr.house" in page
    assert AuditEntry.objects.filter(action="library.limit.approve").count() == 1


def test_removing_a_hard_limit_is_asked_for_then_approved_by_someone_else(
    pharmacist: User, physician: User
) -> None:
    row = morphine_limit(pharmacist)
    client_for(physician).post(f"/library/limits/{row.id}/approve/", {"version": "1"})
    asking = client_for(pharmacist)
    asking.post(f"/library/limits/{row.id}/archive/", {"version": "2"})
    page = asking.get("/library/").content.decode()
    assert "it applies until a second pharmacist or physician approves the removal" in page
    assert "removal asked for by pharma.cist" in page
    approving = client_for(physician)
    assert approving.post(f"/library/limits/{row.id}/approve/", {"version": "3"}).status_code == 302
    row.refresh_from_db()
    assert row.archived_by == "dr.house"
    page = approving.get("/library/").content.decode()
    assert "Removal of the clinic limit for morphine approved: it no longer applies." in page


def test_the_setter_pressing_approve_is_refused_with_the_reason(pharmacist: User) -> None:
    row = morphine_limit(pharmacist)
    response = client_for(pharmacist).post(f"/library/limits/{row.id}/approve/", {"version": "1"})
    assert response.status_code == 403
    assert "pharma.cist set this limit" in response.content.decode()
    row.refresh_from_db()
    assert row.pending
    assert not AuditEntry.objects.filter(action="library.limit.approve").exists()


def test_a_stale_approval_is_a_409_and_approving_needs_a_post(
    pharmacist: User, physician: User
) -> None:
    row = morphine_limit(pharmacist)
    client = client_for(physician)
    assert client.get(f"/library/limits/{row.id}/approve/").status_code == 405
    assert client.post(f"/library/limits/{row.id}/approve/", {"version": "2"}).status_code == 409
    row.refresh_from_db()
    assert row.pending


def test_adding_a_hard_limit_says_it_waits_for_a_second_approver(pharmacist: User) -> None:
    client = client_for(pharmacist)
    assert client.post("/library/morphine/limits/new/", add_form()).status_code == 302
    page = client.get("/library/").content.decode()
    assert "It waits for a second pharmacist or physician to approve it" in page


def test_a_soft_limit_is_in_force_at_once(pharmacist: User) -> None:
    morphine_limit(pharmacist, "soft")
    page = client_for(pharmacist).get("/library/").content.decode()
    assert "waiting for a second approver" not in page
    assert ">in force</td>" in page
