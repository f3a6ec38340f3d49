"""How every page is guarded: a signed-in user, and the clinic services' own refusals shown as
pages (403 with the roles that may, 404, 409) instead of tracebacks. Services check roles; a
page never decides access on its own."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from painpump.clinic.errors import Conflict, NotFound, UnreadableRow
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal
from painpump.plumbing.status import CONFLICT, FORBIDDEN, NOT_FOUND, REFUSED
from painpump.web.refusals import labelled

P = ParamSpec("P")
CONCURRENT = "a concurrent change conflicts with this one: reload the page and check it"
View = Callable[Concatenate[HttpRequest, P], HttpResponse]
log = logging.getLogger(__name__)


def clinic_page(view: View[P]) -> View[P]:
    """Sign-in required; Forbidden, NotFound, Conflict (or a lost uniqueness race), a stored row
    the application never wrote (UnreadableRow, logged) and a Refusal that no form caught become
    403, 404, 409 and 422 pages, and the request's transaction is rolled back."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Forbidden as refused:
            return _refused(request, str(refused), FORBIDDEN)
        except NotFound as missing:
            return _refused(request, str(missing) or "no such record", NOT_FOUND)
        except Conflict as conflict:
            return _refused(request, str(conflict), CONFLICT)
        except IntegrityError:
            # A concurrent change won a uniqueness race (the database's message can hold patient
            # data, so it is not shown).
            return _refused(request, CONCURRENT, CONFLICT)
        except UnreadableRow as unreadable:
            log.error("%s %s refused: %s", request.method, request.path, unreadable)
            return _refused(request, str(unreadable), CONFLICT)
        except Refusal as refusal:
            return _refused(request, labelled(refusal).message, REFUSED)

    return login_required(guarded)  # type: ignore[return-value]


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    response = render(request, "web/refused.html", {"message": message}, status=status)
    if transaction.get_connection().in_atomic_block:
        transaction.set_rollback(True)
    return response


def user_of(request: HttpRequest) -> User:
    """The signed-in user of a request that passed clinic_page."""
    user = request.user
    assert isinstance(user, User)
    return user
