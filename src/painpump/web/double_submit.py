"""Double submissions of the web forms that create a record: the form carries a hidden key made
when it was shown, and its post is answered once (painpump.plumbing.idempotency, in the request's
transaction): a second click, or the browser's resubmission, gets the first answer (the redirect
to what was created) instead of a second record."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from painpump.core.errors import Refusal
from painpump.plumbing.idempotency import BUSY, checked_key, claim, fingerprint, replay, settle
from painpump.plumbing.status import CONFLICT, REFUSED

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]
FIELD = "submission"
OTHER_ENTRIES = (
    "This form was already sent with other entries, and its record was made then: open the form "
    "again to make another record."
)


def new_submission_key() -> str:
    """The hidden key of a form shown once: each showing is a new submission."""
    return secrets.token_urlsafe(24)


def answered_once(view: View[P]) -> View[P]:
    """A POST with the hidden FIELD is answered once per key; its first redirect (the record
    created) is what a repeated post gets. Inside clinic_page: the user is signed in."""

    @wraps(view)
    def once(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        user = request.user
        sent = request.POST.get(FIELD) if request.method == "POST" else None
        try:
            key = checked_key(sent, FIELD)
        except Refusal:
            key = None  # the form refuses it next to the field
        if key is None or not isinstance(user, User):
            return view(request, *args, **kwargs)
        try:
            found = claim(
                user, key, request, fingerprint(request, ("csrfmiddlewaretoken",)), field=FIELD
            )
        except Refusal:
            return render(request, "web/refused.html", {"message": OTHER_ENTRIES}, status=REFUSED)
        if found is None:
            return render(request, "web/refused.html", {"message": BUSY}, status=CONFLICT)
        if found.status:
            return replay(found)
        response = view(request, *args, **kwargs)
        settle(found, response, stored=range(300, 400))
        return response

    return once
