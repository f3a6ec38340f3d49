"""A minimal HTTP client for the drills: one connection per request (a killed server leaves no
half-used keep-alive connection behind), every failure to get an answer raised as Lost."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any


class Lost(Exception):
    """No answer: refused, reset or timed out. Whether a write reached the database is unknown."""


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    retry_after: str | None
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def call(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    session: str | None = None,
    body: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> Answer:
    """Send one request to the server on 127.0.0.1:`port`, with an API token or a session."""
    headers = {"Accept": "application/json, text/html"}
    payload = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if session:
        headers["Cookie"] = f"sessionid={session}"
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return Answer(
            response.status,
            response.getheader("Content-Type", ""),
            response.getheader("Retry-After"),
            response.read(),
        )
    except (OSError, http.client.HTTPException) as error:
        raise Lost(f"{method} {path}: {type(error).__name__}") from error
    finally:
        connection.close()
