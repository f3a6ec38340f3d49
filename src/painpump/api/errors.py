"""The one place where failures become HTTP answers, each {"error": {...}}: a refusal is 422
with field, value, limit and source; a validation error is 422 naming the field; a missing role
403; an unknown record 404; a stale version 409 with the current version (a lost uniqueness
race is a 409 too, and so is a stored row the application never wrote, named and logged); a
database that cannot serve (down, full, read-only) 503 (painpump.plumbing.unavailable). Every
error rolls the request's transaction back, so nothing is stored."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, InterfaceError, InternalError, OperationalError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from painpump.clinic.errors import Conflict, NotFound, UnreadableRow
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal, shortened
from painpump.plumbing import unavailable
from painpump.plumbing.status import (
    CONFLICT,
    FORBIDDEN,
    NOT_FOUND,
    REFUSED,
    UNAUTHENTICATED,
    UNAVAILABLE,
)

SCHEMA_RULES = "painpump API schema (/api/openapi.json)"
ERRORS_LISTED = 20
"""Validation errors an answer lists (`all`); `not_listed` counts the others."""
log = logging.getLogger(__name__)


def _answer(
    api: NinjaAPI, request: HttpRequest, status: int, error: dict[str, Any]
) -> HttpResponse:
    if transaction.get_connection().in_atomic_block:
        transaction.set_rollback(True)
    return api.create_response(request, {"error": error}, status=status)


def _field(location: tuple[Any, ...]) -> str:
    """The request field an error is about: body.payload.birth_date -> birth_date."""
    parts = [str(p) for p in location]
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else parts[1:]
    elif parts:
        parts = parts[1:]
    return ".".join(parts) or "request"


def _validation(exc: ValidationError) -> dict[str, Any]:
    errors = []
    for item in exc.errors[:ERRORS_LISTED]:
        field = shortened(_field(tuple(item.get("loc", ()))))
        value = item.get("input", "missing") if item.get("type") != "missing" else "missing"
        text = shortened(repr(value) if not isinstance(value, str) else value)
        limit = shortened(str(item.get("msg", "is not valid")))
        errors.append(
            {
                "field": field,
                "value": text,
                "limit": limit,
                "source": SCHEMA_RULES,
                "message": f"{field}: {text} is refused; limit: {limit} (source: {SCHEMA_RULES})",
            }
        )
    first: dict[str, Any] = dict(errors[0]) if errors else {"message": "the request is not valid"}
    first["all"] = errors
    first["not_listed"] = len(exc.errors) - len(errors)
    return first


def install(api: NinjaAPI) -> None:
    """Register the handlers on `api` (replacing django-ninja's defaults for these types)."""

    def refusal(request: HttpRequest, exc: Any) -> HttpResponse:
        return _answer(api, request, REFUSED, exc.as_dict())

    def validation(request: HttpRequest, exc: Any) -> HttpResponse:
        return _answer(api, request, REFUSED, _validation(exc))

    def forbidden(request: HttpRequest, exc: Any) -> HttpResponse:
        return _answer(api, request, FORBIDDEN, {"message": str(exc), "capability": exc.capability})

    def not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        detail = f"{exc} does not exist" if isinstance(exc, NotFound) else "not found"
        return _answer(api, request, NOT_FOUND, {"message": detail})

    def conflict(request: HttpRequest, exc: Any) -> HttpResponse:
        return _answer(
            api,
            request,
            CONFLICT,
            {
                "message": str(exc),
                "object_type": exc.object_type,
                "object_id": exc.object_id,
                "expected_version": exc.expected_version,
                "current_version": exc.current_version,
            },
        )

    def integrity(request: HttpRequest, exc: Any) -> HttpResponse:
        # A concurrent change won a uniqueness race. The database's message can hold patient
        # data (e.g. the record number), so it is neither logged nor shown.
        log.warning("integrity conflict on %s %s", request.method, request.path)
        return _answer(
            api,
            request,
            CONFLICT,
            {"message": "a concurrent change conflicts with this one: reload and try again"},
        )

    def unreadable(request: HttpRequest, exc: Any) -> HttpResponse:
        log.error("%s %s refused: %s", request.method, request.path, exc)
        detail = {"message": str(exc), "record": exc.record, "field": exc.field}
        return _answer(api, request, CONFLICT, detail)

    def database(request: HttpRequest, exc: Any) -> HttpResponse:
        found = unavailable.classify(exc)
        if found is None:
            raise exc
        unavailable.noted(request, exc, found)
        response = _answer(api, request, UNAVAILABLE, found.as_error())
        response["Retry-After"] = str(unavailable.RETRY_AFTER_SECONDS)
        return response

    def unauthenticated(request: HttpRequest, exc: Any) -> HttpResponse:
        message = exc.message if exc.message != "Unauthorized" else "log in or send an API token"
        response = _answer(api, request, UNAUTHENTICATED, {"message": message})
        response["WWW-Authenticate"] = 'Bearer realm="painpump"'
        return response

    def http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        if isinstance(exc.__cause__, Refusal):  # the body parser's (api.json_body)
            return refusal(request, exc.__cause__)
        return _answer(api, request, exc.status_code, {"message": exc.message})

    api.add_exception_handler(Refusal, refusal)
    api.add_exception_handler(ValidationError, validation)
    api.add_exception_handler(Forbidden, forbidden)
    api.add_exception_handler(NotFound, not_found)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(Conflict, conflict)
    api.add_exception_handler(IntegrityError, integrity)
    api.add_exception_handler(UnreadableRow, unreadable)
    for failure in (OperationalError, InterfaceError, InternalError):
        api.add_exception_handler(failure, database)
    api.add_exception_handler(AuthenticationError, unauthenticated)
    api.add_exception_handler(HttpError, http_error)
