"""Signing in and out. Failed sign-ins are throttled with the same database-backed counter as
the API's login, so guessing a password through the web is no easier than through the API."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from painpump.plumbing import throttle
from painpump.plumbing.status import TOO_MANY_REQUESTS, UNAUTHENTICATED


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    password = forms.CharField(max_length=4096, label="Password", widget=forms.PasswordInput)


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    status = 200
    wait: int | None = None
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        ip = throttle.client_ip(request)
        wait = throttle.retry_after(username, ip)
        if wait is not None:
            form.add_error(None, f"Too many failed sign-ins: try again in {wait} s.")
            status = TOO_MANY_REQUESTS
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if isinstance(user, User):
                throttle.clear(username, ip)
                login(request, user)
                return redirect(_next(request))
            throttle.record_failure(username, ip)
            form.add_error(None, "Wrong username or password.")
            status = UNAUTHENTICATED
    context = {"form": form, "next": _next(request)}
    response = render(request, "web/sign_in.html", context, status=status)
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:sign-in")
