"""WSGI entry point for production servers (`painpump serve` runs gunicorn on it)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from painpump.clinic.audit_keys import require_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "painpump.settings")
application = get_wsgi_application()
require_key()  # no service without the audit trail's key
