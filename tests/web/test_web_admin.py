"""The admin's pages: users (list, create, roles, deactivate and reactivate, password reset) and
the clinic settings, each write allowed for the admin only, refused with nothing stored for the
other roles, a bad value refused next to its field, a stale version a 409; the admin lands on
Users instead of a refused dashboard and sees the navigation of the role."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import SETTINGS_FORM, written_entries
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, ClinicSettings, RoleGrant
from painpump.clinic.roles import Role

pytestmark = pytest.mark.django_db

CLINICAL = ["physician", "nurse", "pharmacist", "auditor"]
GOOD = "saffron lantern 42"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def new_user(**changes: object) -> dict[str, object]:
    return {
        "username": "nurse.new",
        "first_name": "Nina",
        "last_name": "Neu",
        "roles": ["nurse"],
        "password": GOOD,
        "repeat": GOOD,
    } | changes


def error_next_to(page: str, field_id: str) -> str:
    match = re.search(
        r'<div class="field invalid">\s*<label for="' + field_id + r'">.*?</div>', page, re.S
    )
    assert match, f"no error next to {field_id}"
    return match.group(0)


def settings_form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    return SETTINGS_FORM | changes


def test_the_admin_lands_on_users_with_the_navigation_of_the_role(admin: User) -> None:
    client = client_for(admin)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/users/"
    page = client.get("/users/").content.decode()
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S)
    assert nav is not None
    labels = re.findall(r">([^<]+)</a>", nav.group(1))
    assert labels == ["Users", "Settings", "Audit log", "Drug library"]


def test_a_nurse_still_opens_the_dashboard_and_sees_the_drug_library_only(nurse: User) -> None:
    client = client_for(nurse)
    page = client.get("/").content.decode()
    assert "<h1>Dashboard" in page
    assert 'href="/library/"' in page
    assert 'href="/users/"' not in page and 'href="/audit/"' not in page


def test_the_auditor_sees_the_audit_log_in_the_navigation(auditor: User) -> None:
    page = client_for(auditor).get("/").content.decode()
    assert 'href="/audit/"' in page and 'href="/settings/"' not in page


def test_the_admin_lists_users_with_roles_and_last_sign_in(admin: User, nurse: User) -> None:
    assert Client().login(username="nurse.joy", password="correct horse battery")
    page = client_for(admin).get("/users/").content.decode()
    row = re.search(r"nurse\.joy</a></th>(.*?)</tr>", page, re.S)
    assert row is not None
    assert "nurse" in row.group(1) and "active" in row.group(1) and "never" not in row.group(1)


@pytest.mark.parametrize("role_user", CLINICAL)
def test_other_roles_may_not_manage_users_and_nothing_is_stored(
    request: pytest.FixtureRequest, nurse: User, role_user: str
) -> None:
    client = client_for(request.getfixturevalue(role_user))
    for url in ("/users/", "/users/new/", f"/users/{nurse.id}/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/users/new/", new_user()).status_code == 403
    assert (
        client.post(
            f"/users/{nurse.id}/roles/", {"roles-version": "1", "roles-roles": ["admin"]}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/users/{nurse.id}/active/", {"active-version": "1", "active-active": "0"}
        ).status_code
        == 403
    )
    reset = {"reset-version": "1", "reset-password": GOOD, "reset-repeat": GOOD}
    assert client.post(f"/users/{nurse.id}/password/", reset).status_code == 403
    assert not User.objects.filter(username="nurse.new").exists()
    nurse.refresh_from_db()
    assert nurse.is_active and nurse.check_password("correct horse battery")
    assert not written_entries().filter(action__startswith="user.").exists()


def test_the_admin_creates_a_user_who_can_sign_in_and_whose_role_waits_for_a_second_admin(
    admin: User,
) -> None:
    client = client_for(admin)
    response = client.post("/users/new/", new_user())
    assert response.status_code == 302
    created = User.objects.get(username="nurse.new")
    assert response["Location"] == f"/users/{created.id}/"
    assert list(created.groups.values_list("name", flat=True)) == []
    assert isinstance(authenticate(username="nurse.new", password=GOOD), User)
    page = client.get(response["Location"]).content.decode()
    assert "nurse: asked for, waiting for a second admin" in page
    assert "Withdraw" in page and "Approve nurse" not in page  # not by the admin who asked


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"password": "short", "repeat": "short"}, "id_password", "too short"),
        ({"password": "password1234", "repeat": "password1234"}, "id_password", "too common"),
        ({"repeat": "something else 99"}, "id_repeat", "The two passwords differ"),
        ({"username": "nurse.joy"}, "id_username", "is already taken"),
        ({"username": "with space"}, "id_username", "cannot hold"),
    ],
    ids=["short", "common", "repeat", "taken", "bad-username"],
)
def test_a_bad_new_user_is_refused_next_to_the_field_and_nothing_is_stored(
    admin: User, nurse: User, changes: dict[str, object], field_id: str, message: str
) -> None:
    response = client_for(admin).post("/users/new/", new_user(**changes))
    assert response.status_code == 422
    assert message in error_next_to(response.content.decode(), field_id)
    assert User.objects.count() == 2
    assert not written_entries().exists()


def test_a_new_user_needs_a_role(admin: User) -> None:
    response = client_for(admin).post("/users/new/", new_user(roles=[]))
    assert response.status_code == 422
    block = re.search(
        r'<fieldset class="field choices invalid">.*?</fieldset>', response.content.decode(), re.S
    )
    assert block is not None and 'role="alert"' in block.group(0)
    assert not User.objects.filter(username="nurse.new").exists()


def test_a_role_removed_goes_at_once_one_added_waits_and_a_stale_version_is_a_409(
    admin: User, nurse: User
) -> None:
    client = client_for(admin)
    url = f"/users/{nurse.id}/roles/"
    changed = client.post(url, {"roles-version": "1", "roles-roles": ["physician"]}, follow=True)
    assert "Roles removed: nurse; physician: asked for, waiting" in changed.content.decode()
    assert list(nurse.groups.values_list("name", flat=True)) == []
    stale = client.post(url, {"roles-version": "1", "roles-roles": ["nurse"]})
    assert stale.status_code == 409
    assert "was changed by someone else" in stale.content.decode()
    assert list(nurse.groups.values_list("name", flat=True)) == []


def test_a_second_admin_approves_a_role_the_first_asked_for_and_the_first_cannot(
    admin: User, nurse: User, make_user: Callable[..., User]
) -> None:
    client_for(admin).post(
        f"/users/{nurse.id}/roles/", {"roles-version": "1", "roles-roles": ["nurse", "physician"]}
    )
    (grant,) = RoleGrant.objects.filter(status="pending")
    url = f"/users/grants/{grant.id}/approve/"
    own = client_for(admin).post(url)
    assert own.status_code == 422 and "is your own" in own.content.decode()
    assert list(nurse.groups.values_list("name", flat=True)) == ["nurse"]
    second = client_for(make_user("ad.two", Role.ADMIN))
    assert "Approve physician for nurse.joy" in second.get("/users/").content.decode()
    approved = second.post(url, follow=True)
    assert "nurse.joy holds the role physician from now on." in approved.content.decode()
    assert sorted(nurse.groups.values_list("name", flat=True)) == ["nurse", "physician"]


def test_the_admin_cannot_change_their_own_roles_or_deactivate_themselves(admin: User) -> None:
    client = client_for(admin)
    response = client.post(
        f"/users/{admin.id}/roles/", {"roles-version": "1", "roles-roles": ["admin", "physician"]}
    )
    assert response.status_code == 422
    assert "nobody changes their own roles" in response.content.decode()
    assert not RoleGrant.objects.exists()
    response = client.post(
        f"/users/{admin.id}/active/", {"active-version": "1", "active-active": "0"}
    )
    assert response.status_code == 422
    assert "is your own" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active and admin.groups.filter(name="admin").exists()


def test_a_deactivated_user_is_signed_out_and_can_be_reactivated(admin: User, nurse: User) -> None:
    nurse_client = client_for(nurse)
    assert nurse_client.get("/").status_code == 200
    client = client_for(admin)
    url = f"/users/{nurse.id}/active/"
    assert client.post(url, {"active-version": "1", "active-active": "0"}).status_code == 302
    assert nurse_client.get("/").status_code == 302  # back to the sign-in page
    assert "deactivated" in client.get("/users/").content.decode()
    assert client.post(url, {"active-version": "2", "active-active": "1"}).status_code == 302
    nurse.refresh_from_db()
    assert nurse.is_active


def test_a_password_reset_is_validated_next_to_the_field(admin: User, nurse: User) -> None:
    client = client_for(admin)
    url = f"/users/{nurse.id}/password/"
    bad = client.post(url, {"reset-version": "1", "reset-password": "abc", "reset-repeat": "abc"})
    assert bad.status_code == 422
    assert "too short" in error_next_to(bad.content.decode(), "id_reset-password")
    good = {"reset-version": "1", "reset-password": GOOD, "reset-repeat": GOOD}
    assert client.post(url, good).status_code == 302
    nurse.refresh_from_db()
    assert nurse.check_password(GOOD)


def test_the_admin_resetting_their_own_password_stays_signed_in(admin: User) -> None:
    client = client_for(admin)
    good = {"reset-version": "1", "reset-password": GOOD, "reset-repeat": GOOD}
    assert client.post(f"/users/{admin.id}/password/", good).status_code == 302
    assert client.get("/users/").status_code == 200


def test_the_settings_page_explains_each_field_with_its_default_and_source(admin: User) -> None:
    page = client_for(admin).get("/settings/").content.decode()
    assert 'value="21 day"' in page
    assert "Default: 21 day." in page and "three weeks after the test phase" in page
    assert "Default: 7 day." in page and "Medtronic advises not relying on the alarm" in page
    assert "ziconotide maximum daily dose 19.2 mcg/day (US)" in page
    assert 'name="version" value="1"' in page


def test_the_admin_changes_the_settings_and_it_is_audited(admin: User) -> None:
    response = client_for(admin).post("/settings/", settings_form(implant_wait_days="4 week"))
    assert response.status_code == 302
    saved = clinic_settings()
    assert (saved.implant_wait_days, saved.version) == (28, 2)
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.after is not None and entry.after["implant_wait_days"] == "28 day"


@pytest.mark.parametrize("role_user", CLINICAL)
def test_other_roles_read_the_settings_but_may_not_change_them(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    client = client_for(request.getfixturevalue(role_user))
    page = client.get("/settings/")
    assert page.status_code == 200
    assert "Only an admin changes the clinic settings." in page.content.decode()
    assert client.post("/settings/", settings_form(implant_wait_days="28 day")).status_code == 403
    assert clinic_settings().implant_wait_days == 21
    assert not written_entries().exists()


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"implant_wait_days": "21"}, "id_implant_wait_days", "has no unit"),
        ({"refill_margin_days": "1.5 day"}, "id_refill_margin_days", "not a whole number of days"),
        ({"stay_min_days": "5 day"}, "id_stay_min_days", "is not a range of days"),
        ({"country": "XX"}, "id_country", "ISO 3166"),
        (
            {"test_phase_days_severe": "61 day"},
            "id_test_phase_days_severe",
            "61 day is out of range for a planned test phase",
        ),
        ({"test_phase_days_moderate": "0 day"}, "id_test_phase_days_moderate", "1 day to 60 day"),
    ],
    ids=["no-unit", "fraction", "range", "country", "test-phase-long", "test-phase-zero"],
)
def test_a_bad_setting_is_refused_next_to_its_field_and_nothing_changes(
    admin: User, changes: dict[str, str], field_id: str, message: str
) -> None:
    response = client_for(admin).post("/settings/", settings_form(**changes))
    assert response.status_code == 422
    assert message in error_next_to(response.content.decode(), field_id)
    assert ClinicSettings.objects.get().version == 1
    assert not written_entries().exists()


UNVERIFIED = "unverified: clinic setting, no source gives these lengths"


@pytest.mark.parametrize("role_user", ["admin", "physician"])
def test_the_settings_page_shows_the_test_phase_lengths_as_unverified_clinic_settings(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    page = client_for(request.getfixturevalue(role_user)).get("/settings/").content.decode()
    for severity, days in (("moderate", 3), ("severe", 5), ("very severe", 7)):
        assert f"Planned test phase, {severity} spasticity" in page
        assert f"{days} day" in page
    assert page.count(UNVERIFIED) == 3
    assert "rule-clinic-setting: the test phase&#x27;s length depends on the severity" in page


def test_the_admin_changes_a_test_phase_length_and_it_is_audited(admin: User) -> None:
    client = client_for(admin)
    response = client.post("/settings/", settings_form(test_phase_days_very_severe="2 week"))
    assert response.status_code == 302
    saved = clinic_settings()
    assert (saved.test_phase_days_very_severe, saved.version) == (14, 2)
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.before is not None and entry.after is not None
    assert (
        entry.before["test_phase_days_very_severe"],
        entry.after["test_phase_days_very_severe"],
    ) == (
        "7 day",
        "14 day",
    )
    assert 'value="14 day"' in client.get("/settings/").content.decode()


def test_a_stale_settings_version_is_a_409(admin: User) -> None:
    client = client_for(admin)
    assert client.post("/settings/", settings_form(refill_margin_days="10 day")).status_code == 302
    stale = client.post("/settings/", settings_form(refill_margin_days="5 day"))
    assert stale.status_code == 409
    assert "was changed by someone else" in stale.content.decode()
    assert clinic_settings().refill_margin_days == 10
