"""Django app of the REST API: its own records (API tokens) live here."""

from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "painpump.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"
