"""A path the API does not have and a method its path does not take are answered in JSON naming
the path and the method (painpump.plumbing.api_not_found), as every API refusal is; the web app
keeps its pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from painpump.clinic.roles import Role


@pytest.mark.parametrize("role", [Role.NURSE, None], ids=["nurse", "anonymous"])
@pytest.mark.parametrize("path", ["/api/nope", "/api/patients/x/y/z", "/api/x/\u202e"])
def test_an_unknown_api_path_is_a_json_404_naming_the_path(
    client_as: Callable[[Role | None], Client], role: Role | None, path: str
) -> None:
    """Issue 14: an unknown /api/ path answered Django's HTML 404."""
    response = client_as(role).get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["field"] == "path" and error["method"] == "GET"
    assert error["path"] == path.replace("\u202e", "\\u202e") == error["value"]
    assert error["source"].startswith("painpump API schema")


def test_a_method_the_api_path_does_not_take_is_a_json_405_naming_it(
    client_as: Callable[[Role | None], Client],
) -> None:
    """Issue 14: DELETE /api/patients answered a text/html 405."""
    response = client_as(Role.NURSE).delete("/api/patients")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}
    error = response.json()["error"]
    assert (error["field"], error["value"], error["path"]) == ("method", "DELETE", "/api/patients")
    assert "GET" in error["limit"] and "POST" in error["limit"]


def test_a_json_404_of_an_api_operation_is_kept_and_a_web_404_stays_a_page(
    client_as: Callable[[Role | None], Client],
) -> None:
    client = client_as(Role.NURSE)
    missing = client.get("/api/patients/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "does not exist" in missing.json()["error"]["message"]
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_regression_the_json_404_and_405_to_a_signed_in_session_are_not_stored(
    client_as: Callable[[Role | None], Client],
) -> None:
    """Regression (eighth outside attack): the JSON 404 and 405 replaced the answer that carried
    Cache-Control: no-store for a signed-in session, and dropped it."""
    client = client_as(Role.NURSE)
    assert client.get("/api/nope")["Cache-Control"] == "no-store"
    assert client.delete("/api/patients")["Cache-Control"] == "no-store"
    assert "Cache-Control" not in client_as(None).get("/api/nope")
