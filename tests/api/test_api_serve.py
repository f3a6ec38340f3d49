"""`painpump serve` for real: gunicorn started through the console script on a free localhost
port (after migrating a fresh SQLite database), answering HTTP with the security headers; the
server is stopped at the end whatever happens."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from painpump.runtime import gunicorn_argv

PAINPUMP = Path(sys.executable).parent / "painpump"
START_TIMEOUT = 45.0
READ_TIMEOUT = 30.0
"""Seconds for one answer: the first OpenAPI schema takes seconds on a loaded shared machine."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_gunicorn_serves_the_wsgi_application() -> None:
    argv = gunicorn_argv("127.0.0.1", 8123, 3, 30)
    assert argv[1:3] == ["-m", "gunicorn"] and argv[-1] == "painpump.wsgi:application"
    assert "127.0.0.1:8123" in argv and "--access-logfile" not in argv
    assert "[::1]:8123" in gunicorn_argv("::1", 8123, 1, 30)


@pytest.mark.skipif(not PAINPUMP.exists(), reason="the painpump console script is not installed")
def test_painpump_serve_answers_http_on_localhost(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # never a real database
    env |= {
        "PAINPUMP_SECRET_KEY": secrets.token_urlsafe(48),
        "PAINPUMP_DATA_DIR": str(tmp_path),
    }
    log = (tmp_path / "serve.log").open("w+b")
    server = subprocess.Popen(
        [str(PAINPUMP), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                status, headers, body = get(f"http://127.0.0.1:{port}/api/openapi.json")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "painpump serve did not answer in time"
                time.sleep(0.2)
        assert status == 200
        assert "/api/patients" in json.loads(body)["paths"]
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert headers["Server"].startswith("gunicorn")
        status, headers, body = get(f"http://127.0.0.1:{port}/api/patients")
        assert status == 401
        assert json.loads(body)["error"]["message"]
        assert headers["X-Frame-Options"] == "DENY"
        assert (tmp_path / "painpump.sqlite3").exists(), "serve did not migrate the database"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        log.close()
