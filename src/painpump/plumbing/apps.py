"""Django app of the shared HTTP plumbing: the records it stores in (failed logins, the answers of
writes sent with an idempotency key) live here, so neither front door owns them."""

from __future__ import annotations

from django.apps import AppConfig


class PlumbingConfig(AppConfig):
    name = "painpump.plumbing"
    label = "plumbing"
    default_auto_field = "django.db.models.BigAutoField"
