"""The API object: routers for each resource, authentication by token or session, the error
mapping (errors.py) and the Idempotency-Key of every write (idempotency.py). The OpenAPI schema
is at /api/openapi.json; the interactive docs page is off (it would load its scripts from a CDN,
and clinics run offline)."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.errors import ValidationError, ValidationErrorContext

from painpump.api import (
    auth,
    catheters,
    clinic,
    episodes,
    errors,
    idempotency,
    implants,
    json_body,
    pathway,
    patients,
    prescriptions,
    tolerance_requests,
    users,
)


class ClinicAPI(NinjaAPI):
    """NinjaAPI that keeps the refused input in validation errors (shortened), so a 422 names
    the field and the value."""

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext[Any]]
    ) -> ValidationError:
        found: list[dict[str, Any]] = []
        for context in error_contexts:
            model = context.model
            for item in context.pydantic_validation_error.errors(include_url=False):
                location = model.__ninja_flatten_map_reverse__.get(item["loc"], item["loc"])
                found.append(
                    {
                        "loc": (model.__ninja_param_source__, *location),
                        "msg": item["msg"],
                        "type": item["type"],
                        "input": item.get("input") if item["type"] != "missing" else None,
                    }
                )
        return ValidationError(found)


api = ClinicAPI(
    title="painpump clinic API",
    version="1",
    urls_namespace="api",
    docs_url=None,
    auth=auth.AUTH,
    parser=json_body.BoundedParser(),
)
errors.install(api)
idempotency.install(api)
api.add_router("/auth", auth.router)
api.add_router("/patients", patients.router)
api.add_router("/episodes", episodes.router)
api.add_router("/episodes", pathway.router)
api.add_router("", implants.router)
api.add_router("", prescriptions.router)
api.add_router("", clinic.router)
api.add_router("", tolerance_requests.router)
api.add_router("", catheters.router)
api.add_router("", users.router)
