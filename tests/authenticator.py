"""The tests' authenticator app: the code it shows for a user's authenticator (or for a secret
read off the set-up page), and a user set up with an authenticator through the clinic service.
A code is taken once: after one was used, the app's code of the next 30 s is given (the service
accepts one step ahead), so a test may sign in twice without waiting."""

from __future__ import annotations

import time
from base64 import b32decode

from django.contrib.auth.models import User
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from painpump.clinic.actions import two_factor


def code_for(user: User) -> str:
    device = TOTPDevice.objects.filter(user=user).order_by("-id").first()
    assert device is not None, f"{user} has no authenticator"
    app = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    app.time = time.time()
    if app.t() <= device.last_t:
        app.time += device.step
    return f"{app.token():06d}"


def code_from_secret(secret: str) -> str:
    """The code an app set up by typing `secret` (base32, spaces allowed) shows now."""
    return f"{TOTP(b32decode(secret.replace(' ', ''))).token():06d}"


def enrol(user: User) -> tuple[str, ...]:
    """Set up the user's authenticator; its recovery codes as they were shown."""
    two_factor.start_enrolment(user)
    check = two_factor.confirm_enrolment(user, code_for(user))
    assert check.ok
    return check.recovery_codes
