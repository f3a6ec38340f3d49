"""API tokens are stored as a keyed hash (HMAC-SHA256 with the secret key), so an insider with
database write cannot make one (issue 14): a row holding the plain SHA-256 of a secret they chose
(the digest painpump stored before), or a digest keyed with another key, is refused 401; a token
made by `painpump token create` or tokens.create still works. (The inserted row failing `painpump
audit verify`: tests/clinic/test_audit_insider_rows.py.)"""

from __future__ import annotations

import hashlib
import json
from typing import TypedDict

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils.crypto import salted_hmac
from typer.testing import CliRunner

from painpump.api import tokens
from painpump.api.models import ApiToken
from painpump.cli.console_proof import PASSWORD_ENV
from painpump.cli.main import _register, app
from painpump.clinic.roles import Role
from painpump.devtools.security import tamper

PASSWORD = "correct horse battery"  # the users fixture's password (conftest.py)


class Bearer(TypedDict):
    HTTP_AUTHORIZATION: str


def bearer(secret: str) -> Bearer:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_a_token_row_inserted_with_the_plain_sha256_of_its_secret_is_refused(
    users: dict[Role, User],
) -> None:
    secret = tamper.insert_token("dr.house")
    assert ApiToken.objects.get().digest == hashlib.sha256(secret.encode()).hexdigest()
    response = Client().get("/api/patients", **bearer(secret))
    assert response.status_code == 401
    assert "unknown or revoked" in response.json()["error"]["message"]


def test_a_token_row_keyed_with_another_key_is_refused(users: dict[Role, User]) -> None:
    secret = "pp_keyed-with-a-key-the-insider-chose"
    digest = salted_hmac(tokens.__name__, secret, secret="not the clinic's", algorithm="sha256")
    ApiToken.objects.create(
        user=User.objects.get(username="dr.house"),
        prefix=secret[:11],
        digest=digest.hexdigest(),
        read_only=False,
    )
    assert Client().get("/api/patients", **bearer(secret)).status_code == 401


def test_a_token_the_application_made_is_stored_keyed_and_works(users: dict[Role, User]) -> None:
    made = tokens.create("dr.house", read_only=True)
    stored = ApiToken.objects.get(id=made.record.id).digest
    assert stored == salted_hmac(tokens.__name__, made.secret, algorithm="sha256").hexdigest()
    assert stored != hashlib.sha256(made.secret.encode()).hexdigest()
    assert Client().get("/api/patients", **bearer(made.secret)).status_code == 200


def test_a_token_made_by_painpump_token_create_works(
    users: dict[Role, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    _register()
    created = CliRunner().invoke(app, ["token", "create", "pharma.cist", "--read-only", "--json"])
    assert created.exit_code == 0, created.output
    secret = json.loads(created.stdout)["token"]
    assert Client().get("/api/patients", **bearer(secret)).status_code == 200
