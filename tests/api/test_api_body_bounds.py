"""Issue 14, the sixth outside attack: a login body of 200,000 unknown keys (2.3 MB) was answered
with 51 MB listing each, before any throttle; two such clients stalled the service. A body of
more JSON values than any request holds is refused before validation, short; a validation error
lists its first findings and counts the rest."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from painpump.api.errors import ERRORS_LISTED
from painpump.api.json_body import VALUES_MAX, values_in

pytestmark = pytest.mark.django_db

SMALL = 2_000


def login(body: dict[str, object]) -> tuple[int, dict[str, object], int]:
    response = Client().post(
        "/api/auth/login", data=json.dumps(body), content_type="application/json"
    )
    return response.status_code, response.json()["error"], len(response.content)


def test_regression_a_body_of_thousands_of_unknown_keys_is_refused_short_unvalidated() -> None:
    status, error, size = login({f"k{i}": 0 for i in range(20_000)})
    assert (status, error["field"]) == (422, "request")
    assert error["limit"] == f"at most {VALUES_MAX} values, every member and item counted"
    assert error["source"] == "painpump API schema (/api/openapi.json)"
    assert size < SMALL


def test_an_array_of_thousands_of_items_counts_as_well() -> None:
    status, error, _ = login({"username": "a", "password": [0] * (VALUES_MAX + 1)})
    assert (status, error["field"]) == (422, "request")


def test_a_validation_error_lists_its_first_findings_and_counts_the_rest() -> None:
    status, error, size = login({f"k{i}": 0 for i in range(100)})
    assert status == 422
    assert len(error["all"]) == ERRORS_LISTED  # type: ignore[arg-type]
    assert error["not_listed"] == 102 - ERRORS_LISTED  # 100 unknown, username and password missing
    assert size < 10 * SMALL


@pytest.mark.parametrize(
    ("data", "values"),
    [({}, 0), ({"a": 1}, 1), ({"a": [1, 2, {"b": 3}]}, 5), ([[], [[]]], 3), ("text", 0)],
)
def test_values_are_every_member_and_item_nested_ones_included(data: object, values: int) -> None:
    assert values_in(data) == values
