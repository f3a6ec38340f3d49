"""The client address the throttle counts by: the connection's unless it comes from a trusted
proxy (PAINPUMP_TRUSTED_PROXIES); then the right-most address in X-Forwarded-For that is not a
trusted proxy, so an address the client itself wrote there is ignored. IPv6 clients count by
their /64; a mistyped proxy setting stops the service from starting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import RequestFactory
from pytest_django import Settings

from painpump.plumbing import throttle
from painpump.plumbing.client_address import client_address


def address(remote: str, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return str(client_address(RequestFactory().get("/", **extra)))  # type: ignore[arg-type]


def test_without_a_trusted_proxy_a_spoofed_forwarded_for_is_ignored(settings: Settings) -> None:
    settings.PAINPUMP_TRUSTED_PROXIES = []
    assert address("203.0.113.7", "10.0.0.1") == "203.0.113.7"
    assert address("203.0.113.7", "1.2.3.4, 5.6.7.8") == "203.0.113.7"


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        # The client wrote 6.6.6.6 itself; the proxy appended the address it saw.
        ("10.0.0.5", "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        # Two proxies, both trusted: the address the outer one saw.
        ("10.0.0.5", "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        # Not from the proxy: the header is the client's own words.
        ("203.0.113.9", "6.6.6.6", "203.0.113.9"),
        # A malformed entry ends the walk at the proxy that passed it on.
        ("10.0.0.5", "6.6.6.6, not-an-address", "10.0.0.5"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", None, "10.0.0.5"),
        ("10.0.0.5", "::ffff:203.0.113.7", "203.0.113.7"),
        ("fd00::1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(
    settings: Settings, remote: str, forwarded: str | None, client: str
) -> None:
    settings.PAINPUMP_TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/64"]
    assert address(remote, forwarded) == client


def test_an_ipv6_client_counts_by_its_64_network(settings: Settings) -> None:
    settings.PAINPUMP_TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")
    assert throttle.client_ip(request) == "2001:db8:1:2::"
    assert throttle.client_ip(RequestFactory().get("/", REMOTE_ADDR="")) == "0.0.0.0"


def test_a_mistyped_trusted_proxy_stops_the_service_from_starting() -> None:
    env = os.environ | {"PAINPUMP_TRUSTED_PROXIES": "10.0.0.0/8, 10.0.0.300"}
    started = subprocess.run(
        [sys.executable, "-c", "import painpump.settings"], env=env, capture_output=True, text=True
    )
    assert started.returncode != 0
    assert "PAINPUMP_TRUSTED_PROXIES: '10.0.0.300' is not an IP address or network" in (
        started.stderr
    )
