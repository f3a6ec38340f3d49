"""The HTTP statuses the API and the web pages answer with, named for what they mean here."""

from __future__ import annotations

BAD_REQUEST = 400
UNAUTHENTICATED = 401
FORBIDDEN = 403
NOT_FOUND = 404
CONFLICT = 409
"""A stale version, a lost uniqueness race or a retried request still running."""
REFUSED = 422
"""A refusal (field, value, limit and source) or input that does not validate."""
TOO_MANY_REQUESTS = 429
UNAVAILABLE = 503
"""The database cannot serve just now."""
