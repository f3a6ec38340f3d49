"""The REST API of the clinic service (django-ninja, OpenAPI schema at /api/openapi.json)."""
