"""The API object; routers for each resource are added here."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="painpump clinic API", version="1", urls_namespace="api")
