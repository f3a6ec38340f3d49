"""A write answered once: the first successful answer to a request sent with a key is stored per
(user, key) in the request's own transaction (ATOMIC_REQUESTS), so a crash leaves neither the
change without its key nor the key without its change; a retry of the same request gets that
answer again, marked `Idempotent-Replayed: true`, instead of a second change. The same key with
another request is refused (422 naming the key); a concurrent duplicate waits for the first (the
key's unique index) and then gets its answer. Keys are kept for KEEP (24 hours): older ones are no
longer replayed and `painpump manage expire_idempotency_keys` deletes them. An error stores
nothing (the change was rolled back), so a retry after an error is a new attempt.

The API sends the key in a header (painpump.api.idempotency), a web form in a hidden field
(painpump.web.double_submit); both keep their answers here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from painpump import clock
from painpump.core.errors import Refusal
from painpump.plumbing.models import IdempotentRequest

REPLAYED = "Idempotent-Replayed"
KEEP = timedelta(hours=24)
KEY_LENGTH = 80
SOURCE = (
    "rule-idempotent-retry: a command whose outcome is unknown is retried idempotently "
    "(a client key), never a second change"
)
BUSY = "a request with this idempotency key is still running: retry it in a moment"


def checked_key(value: str | None, field: str) -> str | None:
    """The key sent in `field` (stripped), None if none; refused if empty or longer than
    KEY_LENGTH."""
    if value is None:
        return None
    key = value.strip()
    if not 1 <= len(key) <= KEY_LENGTH:
        raise Refusal(
            field,
            repr(value[:100]),
            f"1 to {KEY_LENGTH} characters",
            SOURCE,
            "is empty or too long",
        )
    return key


def fingerprint(request: HttpRequest, ignore: Iterable[str] = ()) -> str:
    """SHA-256 of the method, path, query and body: a JSON body in canonical form (key order
    and spacing do not matter), form data without the fields in `ignore`."""
    content_type = request.content_type or ""
    body: object
    if content_type == "application/json":
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = request.body.decode("utf-8", "replace")
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        skipped = set(ignore)
        body = sorted((k, v) for k, vs in request.POST.lists() if k not in skipped for v in vs)
    else:
        body = request.body.decode("utf-8", "replace")
    query = sorted(request.GET.lists())
    text = json.dumps([request.method, request.path, query, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _stored(user: User, key: str, now: datetime) -> IdempotentRequest | None:
    found = IdempotentRequest.objects.filter(user=user, key=key).first()
    if found is not None and found.created_at < now - KEEP:
        found.delete()  # expired: the key starts afresh
        return None
    return found


def claim(
    user: User, key: str, request: HttpRequest, print_: str, *, field: str
) -> IdempotentRequest | None:
    """The answer stored for (user, key) (status set), or a new claim this request owns (status
    0), or None when a concurrent request holds the key. A stored answer to another request is
    refused, naming the key (sent in `field`)."""
    now = clock.now()
    found = _stored(user, key, now)
    if found is None:
        try:
            with transaction.atomic():
                return IdempotentRequest.objects.create(
                    user=user,
                    key=key,
                    fingerprint=print_,
                    method=str(request.method),
                    path=request.path[:400],
                    created_at=now,
                )
        except IntegrityError:
            # A concurrent request with this key committed first (PostgreSQL made this insert
            # wait for it): its answer is the answer.
            found = _stored(user, key, now)
    if found is None or found.status == 0:
        return None
    if found.fingerprint != print_:
        raise Refusal(
            field,
            key,
            f"one request per key within {KEEP.total_seconds() / 3600:g} h; it was first sent "
            f"with {found.method} {found.path}",
            SOURCE,
            "was already used for a different request",
        )
    return found


def replay(found: IdempotentRequest) -> HttpResponse:
    """The stored answer again, marked as a replay."""
    response = HttpResponse(found.body, status=found.status, content_type=found.content_type)
    if found.location:
        response["Location"] = found.location
    response[REPLAYED] = "true"
    return response


def settle(claimed: IdempotentRequest, response: HttpResponseBase, *, stored: range) -> None:
    """Store the answer with the claim when its status is in `stored` (the change is made);
    otherwise release the claim (nothing was changed). A transaction already marked for
    rollback takes the claim with it."""
    if transaction.get_connection().in_atomic_block and transaction.get_rollback():
        return
    if response.status_code not in stored or not isinstance(response, HttpResponse):
        claimed.delete()
        return
    claimed.status = response.status_code
    claimed.content_type = response.get("Content-Type", "")[:100]
    claimed.location = response.get("Location", "")[:400]
    claimed.body = response.content.decode("utf-8")
    claimed.save(update_fields=["status", "content_type", "location", "body"])


def expire(now: datetime) -> int:
    """Delete the keys older than KEEP; returns how many."""
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=now - KEEP).delete()
    return deleted
