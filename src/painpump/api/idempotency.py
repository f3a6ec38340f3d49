"""Idempotency keys for every write a client may retry. An unsafe API request (or a web form post)
sent with a key is answered once: its first successful answer is stored per (user, key) in the
request's own transaction (ATOMIC_REQUESTS), so a crash leaves neither the change without its key
nor the key without its change; a retry of the same request gets that answer again, marked
`Idempotent-Replayed: true`, instead of a second change. The same key with another request is
refused (422 naming the key); a concurrent duplicate waits for the first (the key's unique index)
and then gets its answer. Keys are kept for KEEP (24 hours): older ones are no longer replayed and
`painpump manage expire_idempotency_keys` deletes them. An error stores nothing (the change was
rolled back), so a retry after an error is a new attempt."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from ninja import NinjaAPI
from ninja.errors import HttpError

from painpump import clock
from painpump.api.models import IdempotentRequest
from painpump.core.errors import Refusal

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEEP = timedelta(hours=24)
KEY_LENGTH = 80
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SOURCE = (
    "DESIGN.md: a command whose outcome is unknown is retried idempotently (a client key), "
    "never a second change"
)
BUSY = "a request with this idempotency key is still running: retry it in a moment"
OWN_KEY = "_painpump_own_idempotency"
"""Marks a view that makes its retries idempotent itself (a domain key) or must not be replayed."""

F = TypeVar("F", bound=Callable[..., Any])

_claims: WeakKeyDictionary[HttpRequest, IdempotentRequest] = WeakKeyDictionary()


def own_key(reason: str) -> Callable[[F], F]:
    """Exempts an operation from the generic key, for `reason` (e.g. its own domain key)."""

    def mark(view: F) -> F:
        setattr(view, OWN_KEY, reason)
        return view

    return mark


def checked_key(value: str | None, field: str = HEADER) -> str | None:
    """The key sent (stripped), None if none; refused if empty or longer than KEY_LENGTH."""
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


def claim(user: User, key: str, request: HttpRequest, print_: str) -> IdempotentRequest | None:
    """The answer stored for (user, key) (status set), or a new claim this request owns (status
    0), or None when a concurrent request holds the key. A stored answer to another request is
    refused, naming the key."""
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
            HEADER,
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


def _operation(view_func: F) -> F:
    """Around an API operation (after authentication and validation): replay a stored answer,
    or claim the key for this request."""
    if getattr(view_func, OWN_KEY, None):
        return view_func

    @wraps(view_func)
    def keyed(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        user = getattr(request, "auth", None)
        if request.method in SAFE_METHODS or not isinstance(user, User):
            return view_func(request, *args, **kwargs)
        key = checked_key(request.headers.get(HEADER))
        if key is None:
            return view_func(request, *args, **kwargs)
        found = claim(user, key, request, fingerprint(request))
        if found is None:
            raise HttpError(409, BUSY)
        if found.status:
            return replay(found)
        _claims[request] = found
        return view_func(request, *args, **kwargs)

    return keyed  # type: ignore[return-value]


def _view(run: F) -> F:
    """Around an API operation's whole run: store its answer with the claim, if one was made."""

    @wraps(run)
    def answered(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = run(request, *args, **kwargs)
        claimed = _claims.pop(request, None)
        if claimed is not None:
            settle(claimed, response, stored=range(200, 300))
        return response

    return answered  # type: ignore[return-value]


def install(api: NinjaAPI) -> None:
    """Honour the Idempotency-Key header on every unsafe operation of `api`."""
    api.add_decorator(_operation, mode="operation")
    api.add_decorator(_view, mode="view")


def expire(now: datetime) -> int:
    """Delete the keys older than KEEP; returns how many."""
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=now - KEEP).delete()
    return deleted
