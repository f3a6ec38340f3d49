"""Django registration of the web app."""

from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "painpump.web"
    label = "web"
    verbose_name = "painpump web app"
