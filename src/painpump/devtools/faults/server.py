"""`painpump serve` as the drills run it: a subprocess in its own process group (so that one
SIGKILL takes the gunicorn master and every worker at once), logging to a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from painpump.runtime import free_port

PAINPUMP = Path(sys.executable).parent / "painpump"


class Server:
    """One clinic service on 127.0.0.1:port with `workers` gunicorn workers."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.env = env
        self.log = log
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start it as an operator would, migrations included (they are a no-op when current)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(PAINPUMP), "serve", "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def wait_ready(self, probe: Callable[[], bool], timeout: float = 120.0) -> None:
        """Wait until `probe` (a request the service must answer) succeeds."""
        deadline = time.monotonic() + timeout
        while not probe():
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"painpump serve exited; its log: {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"painpump serve did not answer in {timeout} s; log: {self.log}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL to the master and all its workers at once: no shutdown code runs."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        """A graceful stop (SIGTERM), SIGKILL if it does not end in time."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            self.process.wait()
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")
