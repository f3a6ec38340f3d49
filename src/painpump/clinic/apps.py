"""Django app configuration of the clinic service."""

from __future__ import annotations

from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "painpump.clinic"
    label = "clinic"
    default_auto_field = "django.db.models.BigAutoField"
