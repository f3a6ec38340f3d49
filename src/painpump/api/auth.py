"""Who is calling: API tokens for programs (`Authorization: Bearer pp_...`) and the Django
session for the web (its unsafe requests must carry the CSRF token). Login (the password, then
the code of a user with two-factor sign-in, as painpump.plumbing.sign_in runs both steps),
logout and the CSRF token for web clients; failed logins are throttled (see
painpump.plumbing.throttle)."""

from __future__ import annotations

import json
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from ninja import Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf
from pydantic import ConfigDict, Field

from painpump.api import tokens
from painpump.api.schemas import Error
from painpump.clinic.roles import Forbidden, roles_of
from painpump.plumbing import sign_in, throttle
from painpump.plumbing.sign_in import Step
from painpump.plumbing.status import FORBIDDEN, TOO_MANY_REQUESTS, UNAUTHENTICATED

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    """A bearer token. A presented but unknown or revoked token is refused (401) rather than
    falling back to the session; a read-only token may not write (403)."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        found = tokens.user_for(token.strip())
        if found is None:
            raise AuthenticationError(401, "the API token is unknown or revoked")
        user, record = found
        if record.read_only and request.method not in SAFE_METHODS:
            raise Forbidden(user.get_username(), "write with a read-only API token")
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The Django session of a logged-in web user; unsafe methods need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # Check CSRF only for a logged-in session: an anonymous request is a plain 401.
        return None

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user
        if not user.is_authenticated or not isinstance(user, User):
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(FORBIDDEN, "CSRF check failed: send the X-CSRFToken header")
        return user


token_auth = TokenAuth()
session_auth = SessionAuth()
AUTH = [token_auth, session_auth]


def current_user(request: HttpRequest) -> User:
    """The authenticated user of a request that passed AUTH."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


router = Router(tags=["auth"])
CODE_NEXT = "password accepted: send the code of your authenticator app to /api/auth/code"
ENROL_FIRST = (
    "password accepted, but the clinic requires two-factor sign-in for your role: set up an "
    "authenticator in the web app (sign in there), then log in here again"
)


class Credentials(Schema):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=4096)


class Code(Schema):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64)


class Me(Schema):
    username: str
    roles: list[str]


class SignedIn(Me):
    recovery_codes_left: int | None = Field(
        None, description="after a recovery code: how many are left (each works once)"
    )


class SecondStep(Schema):
    step: Literal["code", "enrol"]
    message: str


class CsrfToken(Schema):
    csrf_token: str


class Message(Schema):
    message: str


def _me(user: User | AnonymousUser) -> dict[str, Any]:
    return {"username": user.get_username(), "roles": sorted(r.value for r in roles_of(user))}


def _csrf_or_403(request: HttpRequest) -> None:
    if check_csrf(request) is not None:
        raise HttpError(FORBIDDEN, "CSRF check failed: send the X-CSRFToken header")


@router.get("/csrf", response=CsrfToken, auth=None)
def csrf(request: HttpRequest) -> dict[str, str]:
    """A CSRF token (and its cookie) for a web client's login and later writes."""
    return {"csrf_token": get_token(request)}


@router.post(
    "/login",
    response={200: Me, 202: SecondStep, 400: Error, 401: Error, 403: Error, 422: Error, 429: Error},
    auth=None,
    url_name=throttle.SIGN_IN,  # refused early past the address's budget (throttle)
)
def login_view(request: HttpRequest, credentials: Credentials) -> Any:
    """Password login into a session (send the CSRF token from /api/auth/csrf). A user with an
    authenticator gets 202 with `step` "code": the session is not signed in until the code is
    sent to /api/auth/code (within 5 minutes); a user the clinic requires to have one and who
    has none gets 202 with `step` "enrol" (set it up in the web app first). After 20 failures
    from one address within 15 minutes, whatever the usernames, or 5 for this username from this
    address, further tries are refused with 429 and Retry-After before any password is checked,
    even the right one. Logging in rotates the CSRF token."""
    _csrf_or_403(request)
    outcome = sign_in.password_step(request, credentials.username, credentials.password)
    if outcome.step is Step.SIGNED_IN:
        return Status(200, _me(request.user))
    if outcome.step is Step.CODE:
        return Status(202, {"step": "code", "message": CODE_NEXT})
    if outcome.step is Step.ENROL:
        return Status(202, {"step": "enrol", "message": ENROL_FIRST})
    if outcome.step is Step.THROTTLED:
        return _throttled("too many failed logins", outcome.wait)
    # Returned, not raised: the failure must be committed to count.
    return _error(UNAUTHENTICATED, "wrong username or password")


@router.post(
    "/code",
    response={200: SignedIn, 400: Error, 401: Error, 403: Error, 422: Error, 429: Error},
    auth=None,
)
def code_view(request: HttpRequest, body: Code) -> Any:
    """The second step of a login answered 202 "code": the six digits of the authenticator app,
    or a recovery code (each works once). A wrong code is 401 and counted like a wrong password;
    after a recovery code, `recovery_codes_left` says how many remain."""
    _csrf_or_403(request)
    outcome = sign_in.code_step(request, body.code)
    if outcome.step is Step.SIGNED_IN:
        left = outcome.recovery_codes_left
        return Status(200, {**_me(request.user), "recovery_codes_left": left})
    if outcome.step is Step.EXPIRED:
        return _error(UNAUTHENTICATED, "no login waits for a code here: log in with the password")
    if outcome.step is Step.THROTTLED:
        return _throttled("too many wrong codes", outcome.wait)
    return _error(UNAUTHENTICATED, "wrong code")


@router.post("/logout", response={200: Message, 401: Error, 403: Error}, auth=AUTH)
def logout_view(request: HttpRequest) -> dict[str, str]:
    logout(request)
    return {"message": "logged out"}


@router.get("/me", response={200: Me, 401: Error}, auth=AUTH)
def me(request: HttpRequest) -> dict[str, Any]:
    return _me(current_user(request))


def _throttled(message: str, wait: int | None) -> HttpResponse:
    response = _error(TOO_MANY_REQUESTS, f"{message}: try again in {wait} s")
    response["Retry-After"] = str(wait)
    return response


def _error(status: int, message: str) -> HttpResponse:
    body = json.dumps({"error": {"message": message}})
    return HttpResponse(body, status=status, content_type="application/json")
