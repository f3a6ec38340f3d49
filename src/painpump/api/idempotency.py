"""The Idempotency-Key header on every write an API client may retry: an unsafe request sent with
a key is answered once, through the stored answers of painpump.plumbing.idempotency (a retry gets
the first answer again, marked `Idempotent-Replayed: true`; a concurrent duplicate still running
is a 409). An operation that makes its retries idempotent itself is marked with own_key.

A replay is an answer shown again, so it is checked and audited as a read: the user must still
hold the capability that answer needs (REPLAY_CAPABILITY; patient.read for every answer about a
patient, which is the default), or gets the 403 the operation would give; the replay of an answer
about a patient appends a `request.replay` entry, as any read of the record does."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID
from weakref import WeakKeyDictionary

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import HttpError

from painpump.clinic import audit
from painpump.clinic.roles import require
from painpump.plumbing.idempotency import BUSY, checked_key, claim, fingerprint, replay, settle
from painpump.plumbing.models import IdempotentRequest
from painpump.plumbing.status import CONFLICT

HEADER = "Idempotency-Key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
OWN_KEY = "_painpump_own_idempotency"
"""Marks a view that makes its retries idempotent itself (a domain key) or must not be replayed."""

PATIENT_READ = "patient.read"
REPLAY_CAPABILITY = {
    "settings": "settings.write",
    "users": "users.manage",
    "role-grants": "users.manage",
    "clinic-catheters": "library.read",
}
"""The capability a replay re-checks, by the first segment of the API path (/api/<segment>/...):
the writes whose answers hold no patient data. Every other answer is about a patient and needs
PATIENT_READ."""

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
            _check_replay(user, found)
            return replay(found)
        _claims[request] = found
        return view_func(request, *args, **kwargs)

    return keyed  # type: ignore[return-value]


def replay_capability(path: str) -> str:
    """The capability a replay of the answer to `path` (/api/...) needs."""
    segment = path.removeprefix("/api/").split("/", 1)[0]
    return REPLAY_CAPABILITY.get(segment, PATIENT_READ)


def _check_replay(user: User, found: IdempotentRequest) -> None:
    """Forbidden unless `user` may still see the stored answer; an answer about a patient is
    audited as a read of it."""
    capability = replay_capability(found.path)
    actor = require(user, capability)
    if capability == PATIENT_READ:
        audit.record(
            actor,
            "request.replay",
            "request",
            found.pk,
            patient_id=_patient_of(found),
            after={
                "request": f"{found.method} {found.path}",
                "key": found.key,
                "status": found.status,
            },
        )


def _patient_of(found: IdempotentRequest) -> UUID | None:
    """The patient a stored answer is about, when it names one (its `patient_id`, or the `id`
    of a patient answer)."""
    try:
        body = json.loads(found.body or "null")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    named = body.get("patient_id")
    if named is None and found.path.removeprefix("/api/").startswith("patients"):
        named = body.get("id")
    try:
        return UUID(str(named)) if named is not None else None
    except ValueError:
        return None


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
