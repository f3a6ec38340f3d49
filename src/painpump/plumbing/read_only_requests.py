"""GET, HEAD, OPTIONS and TRACE requests run inside painpump.db.read_only: their transaction only
reads, and the audit entries of what they read are written after it, before the answer is sent.
A view that finds it must write first (painpump.db.read_only.require_writing) is run again as a
writing request. Last of the middleware, so only the view runs inside the scope."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from painpump.db.read_only import WritingRequired, read_only

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""The methods Django treats as safe (no CSRF check): a page may render for any of them."""
RUN_AGAIN = "_painpump_run_again_writing"


class ReadOnlyRequestsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method not in READING_METHODS:
            return self.get_response(request)
        with read_only():
            response = self.get_response(request)
        if getattr(request, RUN_AGAIN, False):
            return self.get_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The attempt that required writing: its answer is replaced by the writing run's."""
        if not isinstance(exception, WritingRequired):
            return None
        setattr(request, RUN_AGAIN, True)
        return HttpResponse(status=409)
