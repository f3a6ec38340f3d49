"""The 404 and 405 Django and django-ninja answer on API paths before any operation runs (a path
the API does not have, a method its path does not take) as JSON naming the path and the method,
as every other API refusal is, instead of an HTML page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase, JsonResponse

from painpump.core.errors import Refusal, shortened
from painpump.core.text import escaped

API = "/api/"
SCHEMA_RULES = "painpump API schema (/api/openapi.json)"
NOT_FOUND = 404
NOT_ALLOWED = 405


class ApiNotFoundMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        status = response.status_code
        if (
            status not in (NOT_FOUND, NOT_ALLOWED)
            or not request.path.startswith(API)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        answer = JsonResponse({"error": _error(request, response)}, status=status)
        for kept in ("Allow", "Cache-Control", "Vary"):  # no-store to a signed-in session
            if kept in response:
                answer[kept] = response[kept]
        return answer


def _error(request: HttpRequest, response: HttpResponseBase) -> dict[str, str]:
    path = shortened(escaped(request.path), 200)
    method = shortened(escaped(str(request.method)), 20)
    if response.status_code == NOT_FOUND:
        refusal = Refusal(
            "path",
            path,
            "a path the API has (listed in /api/openapi.json)",
            SCHEMA_RULES,
            f"is not a path of the API ({method} {path})",
        )
    else:
        allowed = response.get("Allow", "") or "none"
        refusal = Refusal(
            "method",
            method,
            f"one of {allowed} on {path}",
            SCHEMA_RULES,
            f"is not allowed on {path}",
        )
    return refusal.as_dict() | {"path": path, "method": method}
