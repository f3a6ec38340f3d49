"""Sessions are stored under a keyed hash of their cookie (painpump.plumbing.hashed_sessions): the
sessions table never holds a cookie's value, so a copy of it (a backup, an insider) rides no
session; the session still works, signing out deletes its row, and a row stored under the raw
key (before the upgrade) opens nothing."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from clinic_fixtures import PASSWORD
from painpump.plumbing.hashed_sessions import SessionStore, stored_key

pytestmark = pytest.mark.django_db


def _signed_in(username: str) -> tuple[Client, str]:
    client = Client()
    response = client.post("/sign-in/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


def _stored_keys() -> set[str]:
    return set(Session.objects.values_list("session_key", flat=True))


def test_after_sign_in_the_cookie_is_not_in_the_sessions_table_and_the_session_works(
    nurse: User,
) -> None:
    client, cookie = _signed_in("nurse.joy")
    assert cookie not in _stored_keys()
    assert not Session.objects.filter(session_data__contains=cookie).exists()
    assert stored_key(cookie) in _stored_keys()
    assert client.get("/patients/").status_code == 200


def test_the_stored_key_sent_as_a_cookie_opens_nothing(nurse: User) -> None:
    _, cookie = _signed_in("nurse.joy")
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = stored_key(cookie)
    assert thief.get("/patients/")["Location"].startswith("/sign-in/")


def test_signing_out_deletes_the_sessions_row(nurse: User) -> None:
    client, cookie = _signed_in("nurse.joy")
    assert client.post("/sign-out/")["Location"] == "/sign-in/"
    assert stored_key(cookie) not in _stored_keys()
    assert client.get("/patients/")["Location"].startswith("/sign-in/")


def test_signing_in_replaces_the_visitors_session_row_with_a_new_key(nurse: User) -> None:
    client = Client()
    client.get("/sign-in/")
    store = SessionStore()
    store["visited"] = True
    store.create()
    before = store.session_key
    assert before is not None
    client.cookies[settings.SESSION_COOKIE_NAME] = before
    client.post("/sign-in/", {"username": "nurse.joy", "password": PASSWORD})
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert _stored_keys() == {stored_key(after)}


def test_a_session_stored_under_its_raw_key_before_the_upgrade_opens_nothing(nurse: User) -> None:
    client, cookie = _signed_in("nurse.joy")
    row = Session.objects.get(session_key=stored_key(cookie))
    Session.objects.all().delete()
    Session.objects.create(
        session_key=cookie, session_data=row.session_data, expire_date=row.expire_date
    )
    assert client.get("/patients/")["Location"].startswith("/sign-in/")


def test_the_store_finds_saves_and_deletes_by_the_cookies_value(db: None) -> None:
    store = SessionStore()
    store["n"] = 1
    store.save()
    key = store.session_key
    assert key is not None and len(key) == 32
    assert _stored_keys() == {stored_key(key)}
    assert store.exists(key) and not store.exists(stored_key(key))
    again = SessionStore(key)
    assert again["n"] == 1
    again["n"] = 2
    again.save()
    assert SessionStore(key)["n"] == 2
    assert Session.objects.get().expire_date > timezone.now()
    again.delete()
    assert _stored_keys() == set()
    assert SessionStore(key).load() == {}


def test_cycling_the_key_moves_the_row_to_the_new_keys_hash(db: None) -> None:
    store = SessionStore()
    store["n"] = 1
    store.create()
    old = store.session_key
    assert old is not None
    store.cycle_key()
    new = store.session_key
    assert new is not None and new != old
    assert _stored_keys() == {stored_key(new)}
    assert SessionStore(new)["n"] == 1


def test_the_async_store_saves_finds_and_deletes_under_the_hash(db: None) -> None:
    async def save_find_delete() -> tuple[str, bool, bool, object, bool]:
        store = SessionStore()
        store["n"] = 1
        await store.asave()
        key = store.session_key
        assert key is not None
        stored = await Session.objects.filter(session_key=stored_key(key)).aexists()
        found = await store.aexists(key)
        loaded = (await SessionStore(key).aload())["n"]
        await store.adelete()
        gone = not await Session.objects.filter(session_key=stored_key(key)).aexists()
        return key, stored, found, loaded, gone

    key, stored, found, loaded, gone = async_to_sync(save_find_delete)()
    assert (stored, found, loaded, gone) == (True, True, 1, True)
    assert key not in _stored_keys()
