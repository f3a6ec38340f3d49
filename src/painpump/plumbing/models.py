"""Records of the shared HTTP plumbing: failed logins (the database-backed counter that throttles
password guessing, painpump.plumbing.throttle), the addresses sign-ins came from, the expensive
runs users started (painpump.plumbing.pace), and the answers to writes sent with an idempotency
key (so that a retried write is answered, not done twice, painpump.plumbing.idempotency).

Both were first created by the api app: they keep its tables (`db_table`) and the names of their
index and constraint, so moving them here changed no database."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LoginFailure(models.Model):
    """One failed login (a wrong password or code), by the username tried and the client address
    it came from (painpump.plumbing.throttle.client_ip)."""

    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField()
    at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "api_loginfailure"
        indexes = (
            models.Index(fields=["username", "ip", "at"], name="api_loginfa_usernam_57dbd2_idx"),
            models.Index(fields=["ip", "at"], name="plumbing_loginfailure_ip_at"),
        )


class SignInAddress(models.Model):
    """A client address (painpump.plumbing.throttle.client_ip) somebody completed a sign-in from,
    and when last: while the clinic is past its ceiling of failed logins, such addresses try a
    password as usual, others share a trickle (kept PAINPUMP_LOGIN_KNOWN_DAYS)."""

    ip = models.GenericIPAddressField(unique=True)
    at = models.DateTimeField(db_index=True)


class TrickleCheck(models.Model):
    """One password check let through while the clinic is past its ceiling of failed logins, for
    an address not known (painpump.plumbing.throttle): such checks share PAINPUMP_LOGIN_TRICKLE
    a minute, counted here so that every worker process sees the same count."""

    at = models.DateTimeField(db_index=True)


class PacedRun(models.Model):
    """A run of an expensive action a user started (painpump.plumbing.pace): `finished_at` is
    empty while it runs, and only one run of an action may be unfinished at a time."""

    action = models.CharField(max_length=60)
    username = models.CharField(max_length=150)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)

    class Meta:
        indexes = (
            models.Index(
                fields=["action", "username", "started_at"], name="plumbing_paced_by_user"
            ),
        )
        constraints = (
            models.UniqueConstraint(
                fields=["action"],
                condition=models.Q(finished_at=None),
                name="plumbing_paced_one_running",
            ),
        )


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
        db_table = "api_idempotentrequest"
        constraints = (
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.user_id}, {self.status or 'running'})"
