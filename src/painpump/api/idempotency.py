"""The Idempotency-Key header on every write an API client may retry: an unsafe request sent with
a key is answered once, through the stored answers of painpump.plumbing.idempotency (a retry gets
the first answer again, marked `Idempotent-Replayed: true`; a concurrent duplicate still running
is a 409). An operation that makes its retries idempotent itself is marked with own_key."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import HttpError

from painpump.plumbing.idempotency import BUSY, checked_key, claim, fingerprint, replay, settle
from painpump.plumbing.models import IdempotentRequest
from painpump.plumbing.status import CONFLICT

HEADER = "Idempotency-Key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
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
        key = checked_key(request.headers.get(HEADER), HEADER)
        if key is None:
            return view_func(request, *args, **kwargs)
        found = claim(user, key, request, fingerprint(request), field=HEADER)
        if found is None:
            raise HttpError(CONFLICT, BUSY)
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
