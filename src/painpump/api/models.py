"""Records of the API's security and safety: API tokens (stored hashed, shown once), failed logins
(the database-backed counter that throttles password guessing) and the answers to writes sent with
an idempotency key (so that a retried write is answered, not done twice)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A token a program sends as `Authorization: Bearer pp_...`. Only its SHA-256 is stored; the
    `prefix` (the first characters) names it in listings without revealing it."""

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


class LoginFailure(models.Model):
    """One failed password login, by the username tried and the client address it came from."""

    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField()
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = (models.Index(fields=["username", "ip", "at"]),)


class IdempotentRequest(models.Model):
    """The first answer to a write sent with an idempotency key, stored per (user, key) in the
    write's own transaction: a retry of the same request gets this answer again instead of a
    second change. `fingerprint` (SHA-256 of method, path and body) tells a retry from another
    request sent with the same key. `status` 0 marks the key claimed by a request still running
    (seen only inside its own transaction)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=400)
    status = models.PositiveSmallIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=400, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.user_id}, {self.status or 'running'})"
