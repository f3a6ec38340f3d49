"""How painpump starts Django and gunicorn, shared by the command line (`painpump serve`, `demo`,
`manage`, ...) and the development tools (painpump.devtools: benchmarks, load test, fault drills),
which both import it and never each other's set-up."""

from __future__ import annotations

import os
import socket
import sys
import time


def setup_django() -> None:
    """Configure Django with painpump's settings (they refuse to start without a secret) and
    refuse to go on without the audit key (every command may write the audit trail)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "painpump.settings")
    import django

    django.setup()
    from painpump.clinic.audit_keys import require_key

    require_key()


def gunicorn_argv(
    host: str, port: int, workers: int, timeout: int, max_requests: int = 2000
) -> list[str]:
    """The gunicorn command line serving painpump.wsgi:application with painpump's own worker
    (painpump.buffered_worker: slow clients hold no worker), one thread a worker and one request a
    connection. Each worker is replaced after about `max_requests` requests (0: never, as the load
    test's memory run needs to see a leak)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "painpump.buffered_worker.BufferedWorker",
        "--threads",
        "1",
        "--keep-alive",
        "0",
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "10",
        "--max-requests",
        str(max_requests),
        "--max-requests-jitter",
        str(max_requests // 10),
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
        "painpump.wsgi:application",
    ]


def free_port() -> int:
    """A TCP port free on the loopback interface just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, seconds: float = 30) -> None:
    """Wait until a server listens on the loopback `port`."""
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not listen on port {port} within {seconds:.0f} s")
