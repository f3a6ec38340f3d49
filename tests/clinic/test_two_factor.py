"""Two-factor sign-in in the clinic service: an authenticator is set up only with a first right
code, which issues ten single-use recovery codes; every set-up, failure, recovery code used,
renewal and reset is audited, never with a secret or a code; a device takes no code for a while
after a wrong one; only another admin resets a user's second factor; and PAINPUMP_REQUIRE_2FA,
on unless turned off, requires it of physicians, nurses, pharmacists and admins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from authenticator import code_for, enrol
from painpump.clinic import two_factor
from painpump.clinic.actions import two_factor as actions
from painpump.clinic.errors import Conflict
from painpump.clinic.models import AuditEntry
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db


def trail(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def test_an_authenticator_is_set_up_with_a_first_code_and_issues_ten_recovery_codes(
    nurse: User,
) -> None:
    enrolment = actions.start_enrolment(nurse)
    assert enrolment.uri.startswith("otpauth://totp/painpump%3Anurse.joy?")
    assert actions.start_enrolment(nurse) == enrolment, "a reload shows the same secret"
    assert not two_factor.enrolled(nurse)
    check = actions.confirm_enrolment(nurse, code_for(nurse))
    assert check.ok and two_factor.enrolled(nurse)
    assert len(set(check.recovery_codes)) == actions.RECOVERY_CODES == 10
    assert two_factor.recovery_codes_left(nurse) == 10
    (entry,) = trail("two_factor.enrol")
    assert entry.actor == "nurse.joy" and entry.object_id == "nurse.joy"
    written = json.dumps([entry.before, entry.after])
    secret = enrolment.secret.replace(" ", "")
    assert secret not in written and not any(c in written for c in check.recovery_codes)


def test_a_wrong_first_code_sets_nothing_up_and_is_audited(nurse: User) -> None:
    actions.start_enrolment(nurse)
    check = actions.confirm_enrolment(nurse, "000000" if code_for(nurse) != "000000" else "1")
    assert not check.ok and not two_factor.enrolled(nurse)
    (entry,) = trail("two_factor.failure")
    assert entry.after == {"step": "set-up", "code": "authenticator code", "reason": "wrong code"}


def test_a_second_authenticator_is_refused(nurse: User) -> None:
    enrol(nurse)
    with pytest.raises(Refusal) as refused:
        actions.start_enrolment(nurse)
    assert refused.value.field == "two_factor" and "already" in refused.value.message


def test_the_code_of_the_authenticator_signs_in_and_a_wrong_one_is_audited(
    nurse: User, frozen_clock: time_machine.Traveller
) -> None:
    enrol(nurse)
    wrong = actions.verify(nurse, "999999" if code_for(nurse) != "999999" else "111111")
    assert not wrong.ok
    (failure,) = trail("two_factor.failure")
    assert failure.after == {
        "step": "sign-in",
        "code": "authenticator code",
        "reason": "wrong code",
    }
    # The device takes no code for a second after a failure, even the right one.
    held = actions.verify(nurse, code_for(nurse))
    assert not held.ok and held.wait == 1
    frozen_clock.shift(timedelta(seconds=2))
    assert actions.verify(nurse, code_for(nurse)).ok


def test_a_recovery_code_works_once_and_each_use_is_audited(nurse: User) -> None:
    codes = enrol(nurse)
    first = actions.verify(nurse, codes[0].upper())  # typed in capitals, with its hyphen
    assert first.ok and first.recovery_codes_left == 9
    assert not actions.verify(nurse, codes[0]).ok
    (used,) = trail("two_factor.recovery_code")
    assert used.after == {"recovery_codes_left": 9}
    assert codes[0] not in json.dumps(used.after)
    (failure,) = trail("two_factor.failure")
    assert failure.after is not None and failure.after["code"] == "recovery code"


def test_renewed_recovery_codes_replace_the_old_ones_and_need_an_authenticator_code(
    nurse: User, frozen_clock: time_machine.Traveller
) -> None:
    old = enrol(nurse)
    assert not actions.renew_recovery_codes(nurse, old[0]).ok
    frozen_clock.shift(timedelta(seconds=2))
    renewed = actions.renew_recovery_codes(nurse, code_for(nurse))
    assert renewed.ok and not set(renewed.recovery_codes) & set(old)
    assert StaticToken.objects.filter(device__user=nurse).count() == 10
    assert not actions.verify(nurse, old[1]).ok
    assert len(trail("two_factor.recovery_codes_renewed")) == 1


def test_the_admin_resets_another_users_second_factor_and_it_is_audited(
    admin: User, nurse: User
) -> None:
    enrol(nurse)
    account = actions.reset(admin, nurse.id, expected_version=1)
    assert account.version == 2
    assert not two_factor.status(nurse).has_devices
    (entry,) = trail("two_factor.reset")
    assert entry.actor == "ad.min" and entry.object_id == "nurse.joy"
    assert entry.before == {"enrolled": True, "recovery_codes_left": 10}
    with pytest.raises(Conflict):
        actions.reset(admin, nurse.id, expected_version=1)
    with pytest.raises(Refusal) as nothing:
        actions.reset(admin, nurse.id, expected_version=2)
    assert "no second factor" in nothing.value.message


def test_an_admin_cannot_reset_their_own_second_factor(admin: User) -> None:
    enrol(admin)
    with pytest.raises(Refusal) as refused:
        actions.reset(admin, admin.id, expected_version=1)
    assert "your own" in refused.value.message
    assert two_factor.enrolled(admin) and not trail("two_factor.reset")


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_only_the_admin_resets_a_second_factor(
    request: pytest.FixtureRequest, admin: User, role_user: str
) -> None:
    enrol(admin)
    with pytest.raises(Forbidden):
        actions.reset(request.getfixturevalue(role_user), admin.id, expected_version=1)
    assert two_factor.enrolled(admin)


@pytest.mark.parametrize(
    ("role_user", "required"),
    [
        ("physician", True),
        ("nurse", True),
        ("pharmacist", True),
        ("admin", True),
        ("auditor", False),
    ],
)
def test_the_setting_requires_a_second_factor_of_clinical_roles_and_admins(
    request: pytest.FixtureRequest, settings: Settings, role_user: str, required: bool
) -> None:
    user = request.getfixturevalue(role_user)
    assert not two_factor.required_for(user), "the tests' fixtures sign in with a password"
    settings.PAINPUMP_REQUIRE_2FA = True
    assert two_factor.required_for(user) is required


def test_two_factor_sign_in_is_required_unless_turned_off() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PAINPUMP_REQUIRE_2FA"}
    script = "import painpump.settings as s; print(s.PAINPUMP_REQUIRE_2FA)"
    shown = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "True"
    typo = subprocess.run(
        [sys.executable, "-c", script],
        env=env | {"PAINPUMP_REQUIRE_2FA": "yes"},
        capture_output=True,
        text=True,
    )
    assert typo.returncode != 0 and "PAINPUMP_REQUIRE_2FA must be 1 (on) or 0 (off)" in typo.stderr


def test_an_unconfirmed_authenticator_is_no_second_factor(nurse: User) -> None:
    actions.start_enrolment(nurse)
    assert TOTPDevice.objects.filter(user=nurse).count() == 1
    assert not two_factor.enrolled(nurse) and not two_factor.needs_second_factor(nurse)
