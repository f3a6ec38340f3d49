"""Who is calling: API tokens for programs (`Authorization: Bearer pp_...`) and the Django
session for the web (its unsafe requests must carry the CSRF token). Login, logout and the
CSRF token for web clients; failed logins are throttled (see painpump.plumbing.throttle)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
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
from painpump.plumbing import throttle
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


class Credentials(Schema):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=4096)


class Me(Schema):
    username: str
    roles: list[str]


class CsrfToken(Schema):
    csrf_token: str


class Message(Schema):
    message: str


def _me(user: User) -> dict[str, Any]:
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
    response={200: Me, 400: Error, 401: Error, 403: Error, 422: Error, 429: Error},
    auth=None,
)
def login_view(request: HttpRequest, credentials: Credentials) -> Any:
    """Password login into a session (send the CSRF token from /api/auth/csrf). After 5 failures
    within 15 minutes for this username from this address, further tries are refused with 429 and
    Retry-After, even with the right password. Logging in rotates the CSRF token."""
    _csrf_or_403(request)
    ip = throttle.client_ip(request)
    wait = throttle.retry_after(credentials.username, ip)
    if wait is not None:
        response = _error(TOO_MANY_REQUESTS, f"too many failed logins: try again in {wait} s")
        response["Retry-After"] = str(wait)
        return response
    user = authenticate(request, username=credentials.username, password=credentials.password)
    if not isinstance(user, User):
        # Returned, not raised: the failure must be committed to count.
        throttle.record_failure(credentials.username, ip)
        return _error(UNAUTHENTICATED, "wrong username or password")
    throttle.clear(credentials.username, ip)
    login(request, user)
    return Status(200, _me(user))


@router.post("/logout", response={200: Message, 401: Error, 403: Error}, auth=AUTH)
def logout_view(request: HttpRequest) -> dict[str, str]:
    logout(request)
    return {"message": "logged out"}


@router.get("/me", response={200: Me, 401: Error}, auth=AUTH)
def me(request: HttpRequest) -> dict[str, Any]:
    return _me(current_user(request))


def _error(status: int, message: str) -> HttpResponse:
    body = json.dumps({"error": {"message": message}})
    return HttpResponse(body, status=status, content_type="application/json")
