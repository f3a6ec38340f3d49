"""The slow-clients drill: `painpump serve` on a fresh SQLite clinic, then N connections that each
send part of a request and nothing more, held open (the outside test's two such connections made
an ordinary page take 31.6 s, `WORKER TIMEOUT` in the log), while one client times an ordinary
request (GET /api/auth/me with an API token) before and while they are held. The held requests
are of three kinds in turn: a head never finished, a complete head whose promised body never
comes, and a connection that sends nothing. When the server ends a held connection (its request
deadline, painpump.buffered_worker), the drill opens another at once, so N are held throughout.

A problem is: an ordinary request that fails, or is slower than P95_BOUND at the 95th percentile
while the connections are held; a held connection that could not be opened; or `WORKER TIMEOUT`
in the server's log.

`drill(full=False)` is the CI size (8 connections for 12 s, so that the server ends some at their
10 s deadline); `full=True` the run by hand (200 for 60 s).
`python -m painpump.devtools.security.slow_clients [--full]` prints the report as JSON."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from painpump.devtools.faults.report import Report
from painpump.devtools.faults.server import Server
from painpump.devtools.security.common import latencies, percentile

P95_BOUND = 0.100
"""Seconds: the 95th percentile of the ordinary request while the connections are held, the
bound of the login-flood drill too."""
PROBE_EVERY = 0.02
PROBE_TIMEOUT = 60.0
"""Seconds an ordinary request may take before it counts as failed: more than the 30 s a stalled
sync worker took, so that a run against one shows the stall."""
PARTS = {
    "head": b"GET /api/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-clients drill\r\n",
    "body": (
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 4096\r\n\r\n{"username": "'
    ),
    "silent": b"",
}
"""What each kind of held connection sends before it goes quiet."""


@dataclass(frozen=True)
class Size:
    held: int
    seconds: float
    baseline: int


SMALL = Size(held=8, seconds=12.0, baseline=40)
FULL = Size(held=200, seconds=60.0, baseline=200)


@dataclass
class Holder:
    """Keeps `held` connections open, each with part of a request sent, from as many loopback
    addresses (hosts, each under the worker's cap per host); a connection the server ends is
    noted (with the status of its answer, if any) and replaced at once."""

    port: int
    held: int
    kinds: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    replaced: int = 0
    longest_held: float = 0.0
    failures: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        opened: dict[socket.socket, tuple[str, float, bytes, int]] = {}
        try:
            for number in range(self.held):
                self._open(selector, opened, list(PARTS)[number % len(PARTS)], number)
            self.ready.set()
            while not self.stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    self._readable(selector, opened, key.fileobj)  # type: ignore[arg-type]
        finally:
            self.ready.set()
            for sock in opened:
                sock.close()
            selector.close()

    def _open(
        self,
        selector: selectors.BaseSelector,
        opened: dict[socket.socket, tuple[str, float, bytes, int]],
        kind: str,
        number: int,
    ) -> None:
        source = (f"127.0.{1 + number // 250}.{1 + number % 250}", 0)
        try:
            sock = socket.create_connection(
                ("127.0.0.1", self.port), timeout=10, source_address=source
            )
            sock.sendall(PARTS[kind])
        except OSError as error:
            self.failures.append(f"a {kind} connection could not be opened: {error}")
            return
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        opened[sock] = (kind, time.monotonic(), b"", number)
        self.kinds[kind] += 1

    def _readable(
        self,
        selector: selectors.BaseSelector,
        opened: dict[socket.socket, tuple[str, float, bytes, int]],
        sock: socket.socket,
    ) -> None:
        kind, since, answer, number = opened[sock]
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            opened[sock] = (kind, since, answer + data, number)
            return
        selector.unregister(sock)
        sock.close()
        del opened[sock]
        status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "none"
        self.answers[status] += 1
        self.replaced += 1
        self.longest_held = max(self.longest_held, time.monotonic() - since)
        self._open(selector, opened, kind, number)


def ordinary(port: int, token: str) -> float:
    """Seconds for GET /api/auth/me with the drill's token (RuntimeError on another answer)."""
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
    try:
        connection.request("GET", "/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET /api/auth/me with the drill's token answered {response.status}")
    return time.perf_counter() - began


def measure(port: int, token: str, size: Size, report: Report) -> None:
    """Time the ordinary request on the server at `port` before and while `size.held`
    connections hold half-sent requests; figures and problems into `report`."""
    failed: list[str] = []

    def probe(times: list[float]) -> None:
        try:
            times.append(ordinary(port, token))
        except (OSError, RuntimeError, http.client.HTTPException) as error:
            failed.append(f"{type(error).__name__}: {error}")

    for _ in range(5):
        probe([])  # warm both workers
    before: list[float] = []
    for _ in range(size.baseline):
        probe(before)
    holder = Holder(port, size.held)
    thread = threading.Thread(target=holder.run, daemon=True)
    thread.start()
    holder.ready.wait()
    held: list[float] = []
    deadline = time.monotonic() + size.seconds
    while time.monotonic() < deadline:
        probe(held)
        time.sleep(PROBE_EVERY)
    holder.stop.set()
    thread.join(timeout=30)
    report.figures |= {
        "held_connections": size.held,
        "held_seconds": size.seconds,
        "kinds_opened": dict(sorted(holder.kinds.items())),
        "before": latencies(before),
        "while_held": latencies(held),
        "ordinary_requests_failed": len(failed),
        "held_ended_by_server": holder.replaced,
        "their_answers": dict(sorted(holder.answers.items())),
        "longest_held_s": round(holder.longest_held, 1),
        "p95_bound_ms": P95_BOUND * 1000,
    }
    if failed:
        report.problems.append(f"{len(failed)} ordinary requests failed, the first: {failed[0]}")
    if held and percentile(held, 0.95) >= P95_BOUND:
        report.slow.append(
            f"the ordinary request took {percentile(held, 0.95) * 1000:.0f} ms at the 95th "
            f"percentile while {size.held} half-sent requests were held, over the bound of "
            f"{P95_BOUND * 1000:.0f} ms"
        )
    report.problems += holder.failures[:3]


def _token(env: dict[str, str]) -> str:
    """A nurse's read-only API token in the clinic of `env` (seeded as the login-flood drill
    seeds it, in a process of its own: Django is configured once a process)."""
    script = "from painpump.devtools.security.login_flood import seed; print(seed())"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"seeding the drill's clinic failed: {done.stderr[-2000:]}")
    token: str = json.loads(done.stdout.strip().splitlines()[-1])["token"]
    return token


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/api/auth/csrf")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextlib.contextmanager
def clinic_server() -> Iterator[tuple[Server, str]]:
    """`painpump serve` (two workers) on a fresh SQLite clinic in a scratch directory, and a
    nurse's read-only API token; stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="painpump-slow-clients-") as work:
        directory = Path(work)
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
        }
        env |= {
            "PAINPUMP_DATA_DIR": str(directory / "data"),
            "PAINPUMP_SECRET_KEY": env.get("PAINPUMP_SECRET_KEY") or secrets.token_urlsafe(48),
            "PAINPUMP_AUDIT_KEY": env.get("PAINPUMP_AUDIT_KEY") or secrets.token_urlsafe(48),
            "PAINPUMP_AUDIT_CHECKPOINTS": str(directory / "audit-checkpoints.log"),
        }
        (directory / "data").mkdir(mode=0o700)
        token = _token(env)
        server = Server(env, directory / "serve.log")
        server.start()
        try:
            server.wait_ready(lambda: _answers(server.port))
            yield server, token
        finally:
            server.stop()


def drill(full: bool) -> Report:
    report = Report("slow-clients", "sqlite")
    with clinic_server() as (server, token):
        measure(server.port, token, FULL if full else SMALL, report)
        if "WORKER TIMEOUT" in server.log_text():
            report.problems.append("the server's log shows WORKER TIMEOUT")
    return report


def main(argv: list[str]) -> int:
    report = drill(full="--full" in argv)
    print(json.dumps(report.as_json(), indent=2))
    return 1 if report.problems or report.slow else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
