"""The 400 Django answers before any view runs (a Host not allowed, a malformed request): JSON
naming the request on API paths, as every other API refusal is, Django's page elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "field": "request",
                    "value": "",
                    "limit": "a request to an allowed host, well formed",
                    "source": "painpump HTTP rules",
                    "message": "request: refused as malformed or sent to a host not allowed",
                }
            },
            status=400,
        )
    return defaults.bad_request(request, exception)
