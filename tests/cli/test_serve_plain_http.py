"""The sixth outside attack: `painpump serve` on the clinic's network sends passwords, codes and
session cookies in clear unless a TLS proxy is in front; it says so at start, unless it listens on
this machine only or PAINPUMP_SECURE is set (secure cookies: TLS in front)."""

from __future__ import annotations

from typing import Any

import pytest

from painpump.cli.serve import plain_http_warning


@pytest.mark.parametrize(
    ("host", "secure", "warns"),
    [
        ("0.0.0.0", False, True),
        ("192.168.1.20", False, True),
        ("::", False, True),
        ("ward-server", False, True),
        ("127.0.0.1", False, False),
        ("::1", False, False),
        ("localhost", False, False),
        ("0.0.0.0", True, False),
    ],
)
def test_serving_plain_http_beyond_this_machine_warns_unless_tls_is_in_front(
    settings: Any, host: str, secure: bool, warns: bool
) -> None:
    settings.SESSION_COOKIE_SECURE = secure
    warning = plain_http_warning(host)
    assert bool(warning) is warns
    if warns:
        assert f"plain HTTP on {host}" in warning and "PAINPUMP_SECURE=1" in warning
