"""URL map of the clinic service: the REST API under /api/."""

from __future__ import annotations

from django.urls import path

from painpump.api.app import api

urlpatterns = [path("api/", api.urls)]
