"""Signing in and out: the password, then (for a user with an authenticator) the code, as
painpump.plumbing.sign_in runs both steps for the web and the API alike; a user the clinic
requires to have an authenticator and who has none is sent to set one up (views.two_factor).
Failed sign-ins are throttled with the same database-backed counter as the API's login, so
guessing a password or a code through the web is no easier than through the API."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from painpump.plumbing import sign_in as sign_in_steps
from painpump.plumbing.sign_in import Step
from painpump.plumbing.status import TOO_MANY_REQUESTS, UNAUTHENTICATED


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    password = forms.CharField(max_length=4096, label="Password", widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=64,
        label="Code",
        help_text="The six digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def next_page(request: HttpRequest) -> str:
    """Where to go once signed in: `next` when it is on this site, else the dashboard."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


def _then(name: str, request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse(name)}?{urlencode({'next': next_page(request)})}")


def _throttled(form: forms.Form, message: str, wait: int | None) -> int:
    form.add_error(None, f"{message}: try again in {wait} s.")
    return TOO_MANY_REQUESTS


def _page(
    request: HttpRequest, template: str, form: forms.Form, status: int, wait: int | None
) -> HttpResponse:
    response = render(request, template, {"form": form, "next": next_page(request)}, status=status)
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    status = 200
    wait: int | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = sign_in_steps.password_step(request, data["username"], data["password"])
        wait = outcome.wait
        if outcome.step is Step.SIGNED_IN:
            return redirect(next_page(request))
        if outcome.step is Step.CODE:
            return _then("web:sign-in-code", request)
        if outcome.step is Step.ENROL:
            return _then("web:two-factor", request)
        if outcome.step is Step.THROTTLED:
            status = _throttled(form, "Too many failed sign-ins", wait)
        else:
            form.add_error(None, "Wrong username or password.")
            status = UNAUTHENTICATED
    return _page(request, "web/sign_in.html", form, status, wait)


def sign_in_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, or a recovery code. After a recovery
    code the user lands on their two-factor page, which says how many are left."""
    if sign_in_steps.pending_user(request) is None:
        return redirect("web:sign-in")
    form = CodeForm(request.POST or None)
    status = 200
    wait: int | None = None
    if request.method == "POST" and form.is_valid():
        outcome = sign_in_steps.code_step(request, form.cleaned_data["code"])
        wait = outcome.wait
        if outcome.step is Step.SIGNED_IN:
            if outcome.recovery_codes_left is None:
                return redirect(next_page(request))
            messages.warning(
                request,
                f"You signed in with a recovery code: {outcome.recovery_codes_left} left. "
                "Each works once; renew them here.",
            )
            return redirect("web:two-factor")
        if outcome.step is Step.EXPIRED:
            return redirect("web:sign-in")
        if outcome.step is Step.THROTTLED:
            status = _throttled(form, "Too many wrong codes", wait)
        else:
            form.add_error("code", "Wrong code.")
            status = UNAUTHENTICATED
    return _page(request, "web/sign_in_code.html", form, status, wait)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:sign-in")
