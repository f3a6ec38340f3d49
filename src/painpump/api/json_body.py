"""The API's JSON parser: a body of more values than any request of the schema holds is refused
before it is validated, so a flood of bodies of thousands of unknown keys costs neither a
validation nor an answer listing each key (the sixth outside attack's 51 MB answer to 2.3 MB)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

from painpump.core.errors import Refusal

VALUES_MAX = 2_000
"""JSON values a body may hold, every member and item counted: a flex prescription of 91 step
rows with its PTM and drugs holds a few hundred."""
SOURCE = "painpump API schema (/api/openapi.json)"


def values_in(data: Any) -> int:
    """Every object member and array item in `data`, nested ones included."""
    count, pending = 0, [data]
    while pending:
        item = pending.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            count += 1
            if count > VALUES_MAX:
                return count
            pending.append(child)
    return count


class BoundedParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(request.body)
        if values_in(data) > VALUES_MAX:
            raise Refusal(
                "request",
                f"a body of more than {VALUES_MAX} JSON values",
                f"at most {VALUES_MAX} values, every member and item counted",
                SOURCE,
                "holds more than any request of the API",
            )
        return data
