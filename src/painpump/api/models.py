"""Records of the API: its tokens (stored hashed, shown once). Failed logins and the stored
answers of retried writes, which the web app uses too, are painpump.plumbing's
(painpump.plumbing.models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A token a program sends as `Authorization: Bearer pp_...`. Only its keyed hash is stored
    (painpump.api.tokens.digest); the `prefix` (the first characters) names it in listings
    without revealing it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_at",)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id}, {'read-only' if self.read_only else 'read-write'})"
