"""The 400 Django answers before any view runs (a Host not allowed, a malformed request): JSON
naming the request on API paths, as every other API refusal is, Django's page elsewhere; and
logged as one line, never with a traceback (settings.LOGGING)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from painpump.core.errors import shortened
from painpump.core.text import escaped

SUSPICIOUS = "django.security."
REQUEST_LOG = "django.request"
"""Django's logger of 4xx and 5xx answers ("Not Found: /path"): the path comes from the client."""
PATH_MOST = 200
"""Django's loggers of the requests it refuses as suspicious (django.security.DisallowedHost for
a Host not allowed), each logged with its traceback."""


class OneLine(logging.Filter):
    """Django's record of a suspicious request as one line: the request and the reason, escaped
    and shortened (both come from the client), without the traceback, which tells nothing of
    the client's fault and lets each such request write a page of log; the paths of its other
    refusals ("Not Found: /api/AAAA...") escaped and shortened too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(SUSPICIOUS):
            request = getattr(record, "request", None)
            path = getattr(request, "path", "")
            method = getattr(request, "method", "")
            reason = shortened(escaped(record.getMessage()))
            record.msg = f"refused with 400: {method} {shortened(escaped(path), 100)}: {reason}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        elif record.name == REQUEST_LOG and isinstance(record.args, tuple):
            record.args = tuple(
                shortened(escaped(arg), PATH_MOST) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


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
