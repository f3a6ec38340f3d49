"""The session engine (SESSION_ENGINE): Django's database sessions, with the key stored only as a
keyed hash (HMAC-SHA256 with the secret key), so the cookie's value is never in the database and
whoever reads the sessions table (a backup, an insider) cannot ride a live session. A session
stored before the hashing no longer matches its cookie: its user signs in again."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.base_session import AbstractBaseSession
from django.utils import timezone
from django.utils.crypto import salted_hmac

STORED_LENGTH = 40
"""The sessions table's key column holds 40 characters: the hash's first 160 bits, in hex (a
stored key is never as short as a cookie's 32, so one cannot be sent back as a cookie either)."""


def stored_key(session_key: str) -> str:
    """The key of the session's row: a keyed hash of the cookie's value."""
    digest = salted_hmac(__name__, session_key, algorithm="sha256").hexdigest()
    return digest[:STORED_LENGTH]


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> AbstractBaseSession | None:
        if self.session_key is not None:
            found = self.model.objects.filter(
                session_key=stored_key(self.session_key), expire_date__gt=timezone.now()
            ).first()
            if found is not None:
                return found
        self._session_key = None
        return None

    async def _aget_session_from_db(self) -> AbstractBaseSession | None:
        if self.session_key is not None:
            found = await self.model.objects.filter(
                session_key=stored_key(self.session_key), expire_date__gt=timezone.now()
            ).afirst()
            if found is not None:
                return found
        self._session_key = None
        return None

    def exists(self, session_key: str) -> bool:
        return self.model.objects.filter(session_key=stored_key(session_key)).exists()

    async def aexists(self, session_key: str) -> bool:
        return await self.model.objects.filter(session_key=stored_key(session_key)).aexists()

    def create_model_instance(self, data: dict[str, Any]) -> AbstractBaseSession:
        """The row `save` writes (and `create` and `cycle_key`, through it): under the hash."""
        row = super().create_model_instance(data)
        row.session_key = stored_key(row.session_key)
        return row

    async def acreate_model_instance(self, data: dict[str, Any]) -> AbstractBaseSession:
        row = await super().acreate_model_instance(data)
        row.session_key = stored_key(row.session_key)
        return row

    def delete(self, session_key: str | None = None) -> None:
        """Delete the row of `session_key` (the cookie's value), by default this session's; a
        cycled key's old row goes through here too (SessionBase.cycle_key)."""
        key = self.session_key if session_key is None else session_key
        if key is not None:
            self.model.objects.filter(session_key=stored_key(key)).delete()

    async def adelete(self, session_key: str | None = None) -> None:
        key = self.session_key if session_key is None else session_key
        if key is not None:
            await self.model.objects.filter(session_key=stored_key(key)).adelete()
