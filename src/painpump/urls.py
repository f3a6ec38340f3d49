"""URL map of the clinic service: the REST API under /api/, the web app at the root."""

from __future__ import annotations

from django.urls import include, path

from painpump.api.app import api

urlpatterns = [path("api/", api.urls), path("", include("painpump.web.urls"))]
handler400 = "painpump.plumbing.bad_request.bad_request"
