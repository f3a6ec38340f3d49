"""A user's own two-factor page: set up an authenticator from a QR code or its secret, confirmed
with a first code, which shows the recovery codes once; later, renew the recovery codes. It is
open to a signed-in user and to one whose password was right but who must set up an
authenticator before anything else (painpump.plumbing.sign_in). The changes are
clinic.actions.two_factor's; the admin's reset is on the user's page (views.admin)."""

from __future__ import annotations

from typing import Any

import segno
from django import forms
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache

from painpump.clinic import two_factor
from painpump.clinic.actions import two_factor as two_factor_actions
from painpump.clinic.actions.two_factor import Check
from painpump.core.errors import Refusal
from painpump.plumbing import sign_in as sign_in_steps
from painpump.plumbing.sign_in import Outcome, Step
from painpump.plumbing.status import REFUSED, TOO_MANY_REQUESTS, UNAUTHENTICATED
from painpump.web.views.session import next_page


class AuthenticatorCodeForm(forms.Form):
    code = forms.CharField(
        max_length=64,
        label="Code from the app",
        help_text="The six digits the authenticator app shows now.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _qr_code(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (no script, no image request)."""
    code = segno.make(uri, error="m")
    return str(code.svg_inline(scale=4, dark="#000", light="#fff", title="QR code to scan"))


def _refused(form: forms.Form, outcome: Outcome) -> int:
    if outcome.step is Step.THROTTLED:
        form.add_error("code", f"Too many wrong codes: try again in {outcome.wait} s.")
        return TOO_MANY_REQUESTS
    form.add_error("code", "Wrong code: type the six digits the app shows now.")
    return UNAUTHENTICATED


def _shown(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(
        request, "web/two_factor.html", {"next": next_page(request), **context}, status=status
    )
    wait = context.get("wait")
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


def _codes(request: HttpRequest, check: Check, heading: str) -> HttpResponse:
    return _shown(request, {"codes": check.recovery_codes, "heading": heading})


def _enrol(request: HttpRequest, user: User, pending: bool) -> HttpResponse:
    form = AuthenticatorCodeForm(request.POST or None)
    status, wait = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            outcome, check = sign_in_steps.enrol_step(request, user, form.cleaned_data["code"])
        except Refusal as refusal:
            form.add_error("code", refusal.message)
            outcome, check, status = Outcome(Step.REFUSED), Check(), REFUSED
        if check.ok:
            return _codes(request, check, "Your authenticator is set up")
        if status != REFUSED:
            status, wait = _refused(form, outcome), outcome.wait
    enrolment = two_factor_actions.start_enrolment(user)
    context = {
        "enrol": enrolment,
        "qr": mark_safe(_qr_code(enrolment.uri)),  # segno's own markup, no user text in it
        "form": form,
        "pending": pending,
        "required": two_factor.required_for(user),
        "wait": wait,
    }
    return _shown(request, context, status)


def _renew(request: HttpRequest, user: User) -> HttpResponse:
    form = AuthenticatorCodeForm(request.POST or None)
    status, wait = 200, None
    if request.method == "POST" and form.is_valid():
        check = two_factor_actions.renew_recovery_codes(user, form.cleaned_data["code"])
        if check.ok:
            return _codes(request, check, "New recovery codes")
        wait = check.wait
        step = Step.THROTTLED if wait else Step.REFUSED
        status = _refused(form, Outcome(step, wait))
    context = {"status": two_factor.status(user), "form": form, "wait": wait}
    return _shown(request, context, status)


@never_cache
def own(request: HttpRequest) -> HttpResponse:
    """The signed-in user's two-factor page, or the set-up a waiting sign-in was sent to (kept
    by no cache: it shows the secret and the recovery codes)."""
    if isinstance(request.user, User):
        user = request.user
        if two_factor.enrolled(user):
            return _renew(request, user)
        return _enrol(request, user, pending=False)
    waiting = sign_in_steps.pending_user(request)
    if waiting is None:
        return redirect("web:sign-in")
    if two_factor.enrolled(waiting):
        return redirect("web:sign-in-code")
    return _enrol(request, waiting, pending=True)
