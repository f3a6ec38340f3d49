"""The gunicorn worker `painpump serve` runs: gunicorn's threaded worker (gthread) with every
client's input and output moved into the worker's event loop. A request reaches the worker's
thread only once it has arrived in full (head and body); the thread reads it from memory and
writes its answer into memory, which the loop then sends. A client that sends half a request,
promises a body it never sends, or reads its answer slowly holds a socket and some memory for a
bounded time (REQUEST_SECONDS, ANSWER_SECONDS), never the thread: with the sync workers before,
two such clients stalled the whole service for the 30 s of gunicorn's worker timeout.

As with the sync workers: one thread a worker by default (one request at a time, the model
docs/benchmarks.md measured best on two cores), a worker accepts connections only while its
thread is free, each connection carries one request (keep-alive off), and a request that runs
longer than gunicorn's `timeout` gets its worker restarted (`WORKER TIMEOUT`). HTTP parsing
stays gunicorn's: this module only decides when a request has arrived. Built on the internals
of gunicorn 27's ThreadWorker (pinned in pyproject.toml); docs/security.md, hostile network."""

from __future__ import annotations

import contextlib
import enum
import json
import resource
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from gunicorn.workers.gthread import TConn, ThreadWorker

from painpump.core.errors import Refusal
from painpump.plumbing.client_address import trusted_proxy

REQUEST_SECONDS = 10.0
"""Seconds from a connection's opening for its request (head and body) to arrive; a body is
given one second more for every BODY_BYTES_PER_SECOND of it."""
BODY_BYTES_PER_SECOND = 32 * 1024
ANSWER_SECONDS = 60.0
"""Seconds a client has to take its answer."""
LINGER_SECONDS = 2.0
PER_HOST = 32
"""Requests one peer address may have arriving in a worker at once (a trusted proxy has no such
cap): beyond it a new connection is answered 429 at once, so one host holding half-sent requests
cannot fill the worker's connection slots or its memory (at most PER_HOST bodies buffered)."""
"""Seconds a sent answer's connection stays half-open, so that unread bytes of the client's do
not make the kernel reset it before the client has read the answer."""
BODY_LIMIT_DEFAULT = 2_621_440
"""Bytes of a request body when Django's DATA_UPLOAD_MAX_MEMORY_SIZE is None (no limit of its
own): its default value, so that the worker never holds an unbounded body in memory."""
READ_BYTES = 64 * 1024
FILES_BESIDES = 64
"""Open files a worker keeps for other than its connections (database, logs, modules)."""
OPEN_FILES_WANTED = 65536
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LENGTH_RULE = "RFC 9112, section 6.3: one Content-Length, in decimal digits"
FRAMING_RULE = (
    "RFC 9112, section 6.1: a request has a Content-Length or a Transfer-Encoding, never both "
    "(both may be an attempt at request smuggling)"
)
UNFRAMED_RULE = (
    "RFC 9110, section 15.5.12 (411 Length Required): painpump serve takes a request body only "
    "with its Content-Length (a chunked body would reach the application as no body)"
)
PARSER_SOURCE = "RFC 9112; gunicorn's HTTP parser and request limits (painpump serve)"
LENGTH_DIGITS_MAX = 20
"""Digits a Content-Length may have, leading zeros included: more than any body's length needs
(gunicorn refuses longer ones with its own HTML page, so the worker refuses them first)."""
BODY_LIMIT_SOURCE = "Django's DATA_UPLOAD_MAX_MEMORY_SIZE (painpump serve)"


class State(enum.Enum):
    WAITING = "waiting"
    """More of the request is to come."""
    ARRIVED = "arrived"
    """The request is complete, or malformed or too large a head: gunicorn's parser answers."""
    TOO_LARGE = "too large"
    """Its body is over the limit: refused with 413 before it is read."""
    BAD_LENGTH = "bad length"
    """Its Content-Length is not one number (none of digits, or several), or one of more than
    LENGTH_DIGITS_MAX digits under the limit (leading zeros): refused with 400."""
    BAD_FRAMING = "bad framing"
    """It has both a Content-Length and a Transfer-Encoding: refused with 400."""
    UNFRAMED = "unframed"
    """It has a Transfer-Encoding (a chunked body) and no Content-Length: refused with 411."""


REFUSED = frozenset({State.TOO_LARGE, State.BAD_LENGTH, State.BAD_FRAMING, State.UNFRAMED})
"""The states the worker answers itself, before the request runs."""


def header_text(raw: bytes) -> str:
    """A header's bytes as a refusal may echo them: printable ASCII as it is, the backslash
    doubled and every other byte as \\xNN (a header has no declared encoding, so a digit of
    another script is shown as the bytes it came as, not decoded into something else)."""
    return "".join(
        "\\\\" if byte == 0x5C else chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02x}"
        for byte in raw
    )


def api_request(data: bytes | bytearray) -> bool:
    """The request line has arrived and names a path under /api/ (its answers are JSON)."""
    end = data.find(b"\r\n")
    parts = bytes(data[: end if end >= 0 else len(data)]).split(b" ")
    if end < 0 or len(parts) < 2:
        return False
    return urlsplit(parts[1].decode("latin-1")).path.startswith("/api/")


def parser_refusal(status: str, error: Exception, cfg: Any) -> Refusal:
    """What gunicorn's parser (or a failure outside the application) refused, as a refusal: the
    request named, gunicorn's reason as the value, shortened; the limits gunicorn runs with."""
    if status.startswith("500"):
        return Refusal("request", "(not answered)", "an answer", PARSER_SOURCE, "internal error")
    return Refusal(
        "request",
        header_text(str(error).encode("utf-8", "backslashreplace")),
        f"well-formed HTTP/1.1: a request line of at most {cfg.limit_request_line} bytes, at "
        f"most {cfg.limit_request_fields} headers of at most {cfg.limit_request_field_size} "
        "bytes each",
        PARSER_SOURCE,
        f"is refused ({status})",
    )


class Arriving:
    """What has arrived of one request. Each byte is looked at a bounded number of times, however
    the client splits the request."""

    def __init__(self, head_limit: int, body_limit: int) -> None:
        self.data = bytearray()
        self.head_limit = head_limit
        self.body_limit = body_limit
        self.body_start: int | None = None
        self.length = 0
        """The body's length from Content-Length (0 when refused)."""
        self.announced = ""
        """The Content-Length as sent (header_text), for a refusal to name."""
        self.expects_continue = False
        self.state = State.WAITING

    def feed(self, chunk: bytes) -> State:
        scanned = max(0, len(self.data) - 3)
        self.data += chunk
        if self.body_start is None:
            end = self.data.find(b"\r\n\r\n", scanned)
            if end < 0:
                if len(self.data) > self.head_limit:
                    self.state = State.ARRIVED
                return self.state
            self._read_head(end)
        if self.state is State.WAITING and len(self.data) - self._body() >= self.length:
            self.state = State.ARRIVED
        return self.state

    def _body(self) -> int:
        assert self.body_start is not None
        return self.body_start

    def _read_head(self, end: int) -> None:
        self.body_start = end + 4
        fields: dict[bytes, list[bytes]] = {}
        for line in bytes(self.data[:end]).split(b"\r\n")[1:]:
            name, colon, value = line.partition(b":")
            if colon:
                fields.setdefault(name.strip().lower(), []).append(value.strip().lower())
        self.expects_continue = fields.get(b"expect") == [b"100-continue"]
        lengths = fields.get(b"content-length", [])
        self.announced = header_text(b", ".join(lengths))
        encodings = fields.get(b"transfer-encoding")
        if encodings and lengths:
            self.state = State.BAD_FRAMING
        elif encodings:
            self.announced = header_text(b", ".join(encodings))
            self.state = State.UNFRAMED
        elif not lengths:
            self.state = State.ARRIVED
        elif len(lengths) != 1 or not lengths[0].isdigit():
            self.state = State.BAD_LENGTH
        else:
            digits = lengths[0].lstrip(b"0") or b"0"
            if len(digits) > len(str(self.body_limit)) or int(digits) > self.body_limit:
                self.state = State.TOO_LARGE  # however many digits
            elif len(lengths[0]) > LENGTH_DIGITS_MAX:
                self.state = State.BAD_LENGTH
            else:
                self.length = int(digits)

    def api_path(self) -> bool:
        return api_request(self.data)

    def refusal(self) -> tuple[str, Refusal]:
        """The status and the refusal of a request refused at its head (REFUSED)."""
        if self.state is State.UNFRAMED:
            return "411 Length Required", Refusal(
                "Transfer-Encoding",
                f"'{self.announced}'",
                "a body sent with its Content-Length",
                UNFRAMED_RULE,
                "is not taken",
            )
        if self.state is State.BAD_FRAMING:
            return "400 Bad Request", Refusal(
                "Content-Length",
                f"'{self.announced}'",
                "no Content-Length beside a Transfer-Encoding",
                FRAMING_RULE,
                "comes with a Transfer-Encoding",
            )
        if self.state is State.TOO_LARGE:
            return "413 Content Too Large", Refusal(
                "Content-Length",
                self.announced,
                f"at most {self.body_limit} bytes",
                BODY_LIMIT_SOURCE,
                "is over the limit: the body is refused before it is sent",
            )
        if self.announced.isdigit():
            return "400 Bad Request", Refusal(
                "Content-Length",
                self.announced,
                f"at most {LENGTH_DIGITS_MAX} digits, leading zeros included",
                LENGTH_RULE,
                "is too long",
            )
        return "400 Bad Request", Refusal(
            "Content-Length",
            f"'{self.announced}'",
            "one length in decimal digits",
            LENGTH_RULE,
            "is not one length",
        )

    def seconds(self) -> float:
        """Seconds from the connection's opening within which this request must arrive."""
        return REQUEST_SECONDS + self.length / BODY_BYTES_PER_SECOND


class BufferedSocket:
    """The socket a request's thread is given: reading it gives the request as it arrived and
    then the end of the stream; what is written to it is kept for the worker's loop to send."""

    def __init__(self, sock: socket.socket, request: bytes) -> None:
        self.sock = sock
        self.request = request
        self.offset = 0
        self.answer = bytearray()

    def recv(self, size: int) -> bytes:
        chunk = self.request[self.offset : self.offset + size]
        self.offset += len(chunk)
        return chunk

    def send(self, data: bytes) -> int:
        if bytes(data) != CONTINUE:  # the worker's loop answered Expect: 100-continue already
            self.answer += data
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.answer += data

    def sendfile(self, file: BinaryIO, offset: int = 0, count: int | None = None) -> int:
        file.seek(offset)
        data = file.read(count) if count is not None else file.read()
        self.answer += data
        return len(data)

    def setblocking(self, flag: bool) -> None:
        """Reading and writing never wait: nothing to set."""

    def settimeout(self, seconds: float | None) -> None:
        """Reading and writing never wait: nothing to set."""

    def gettimeout(self) -> float | None:
        return None

    def fileno(self) -> int:
        return self.sock.fileno()

    def getpeername(self) -> Any:
        return self.sock.getpeername()

    def getsockname(self) -> Any:
        return self.sock.getsockname()

    def shutdown(self, how: int) -> None:
        """The worker's loop closes the connection once the answer is sent."""

    def close(self) -> None:
        """The worker's loop closes the connection once the answer is sent."""


class Phase(enum.Enum):
    ARRIVING = "arriving"
    RUNNING = "running"
    ANSWERING = "answering"
    CLOSING = "closing"


@dataclass(eq=False)
class Client:
    """One connection in the worker's loop."""

    conn: Any
    """gunicorn's TConn: its `sock` is the client's socket (non-blocking), or a BufferedSocket
    while the request runs."""
    sock: socket.socket
    arriving: Arriving
    opened: float
    deadline: float
    phase: Phase = Phase.ARRIVING
    continued: bool = False
    answer: memoryview = field(default_factory=lambda: memoryview(b""))
    sent: int = 0
    watched: bool = False
    host: str = ""
    """The peer's address ("" for none): a host may hold PER_HOST requests arriving at once."""


def plain_answer(status: str, text: str) -> bytes:
    return _http_answer(status, "text/plain; charset=utf-8", text.encode() + b"\n")


def refusal_answer(status: str, refusal: Refusal, api: bool) -> bytes:
    """A refusal as the application gives it: JSON on API paths ({"error": {field, value,
    limit, source, message}}), its message in plain text elsewhere."""
    if not api:
        return plain_answer(status, refusal.message)
    body = json.dumps({"error": refusal.as_dict()}, ensure_ascii=False).encode()
    return _http_answer(status, "application/json", body)


def _http_answer(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _open_files() -> int:
    """The open files this process may have (each held connection is one), raised to the hard
    limit (at most OPEN_FILES_WANTED) when the soft limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return OPEN_FILES_WANTED
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return soft


class BufferedWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clients: set[Client] = set()
        """Connections the loop reads from or writes to (not those whose request runs)."""
        self.in_pool: dict[Any, Client] = {}
        """Requests handed to the thread pool and not finished, by their TConn."""
        self.started: dict[int, float] = {}
        """When the request each pool thread runs began, by thread."""
        self.started_lock = threading.Lock()
        self.next_sweep = 0.0
        self.body_limit: int | None = None

    def init_process(self) -> None:
        if self.cfg.is_ssl or self.cfg.keepalive:
            raise RuntimeError(
                "BufferedWorker reads plain HTTP, one request a connection: run gunicorn without "
                f"TLS (terminate it in front) and with --keep-alive 0 (keepalive is "
                f"{self.cfg.keepalive})"
            )
        self.worker_connections = min(self.cfg.worker_connections, _open_files() - FILES_BESIDES)
        for listener in self.sockets:
            # Linux: a connection is accepted once its first bytes are in, so an accepted
            # request has mostly arrived, and a worker that accepts it while idle runs it next.
            with contextlib.suppress(OSError, AttributeError):
                listener.setsockopt(
                    socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, int(REQUEST_SECONDS)
                )
        super().init_process()

    def _limits(self) -> tuple[int, int]:
        """The largest request head gunicorn accepts, and Django's largest body (read once the
        application, and so Django's settings, are loaded)."""
        cfg = self.cfg
        head = cfg.limit_request_line + cfg.limit_request_fields * (
            cfg.limit_request_field_size + 2
        )
        if self.body_limit is None:
            from django.conf import settings

            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            self.body_limit = BODY_LIMIT_DEFAULT if limit is None else int(limit)
        return head + 4, self.body_limit

    # -- accepting: only while the thread pool has a free thread, as a sync worker does --------

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and len(self.in_pool) < self.cfg.threads)

    def _gate_accept(self) -> None:
        if self.alive:
            self.set_accept_enabled(self.nr_conns < self.worker_connections)

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, address = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        self.nr_conns += 1
        now = time.monotonic()
        host = str(address[0]) if isinstance(address, tuple) and address else ""
        client = Client(
            conn=TConn(self.cfg, sock, address, listener.getsockname()),
            sock=sock,
            arriving=Arriving(*self._limits()),
            opened=now,
            deadline=now + REQUEST_SECONDS,
            host=host,
        )
        if host and not trusted_proxy(host) and self._arriving_from(host) >= PER_HOST:
            self._answer(
                client,
                plain_answer(
                    "429 Too Many Requests",
                    f"too many requests arriving from {host} at once (at most {PER_HOST})",
                ),
            )
            return
        self.clients.add(client)
        self._watch(client, selectors.EVENT_READ, self._read)
        self._read(client)

    def _arriving_from(self, host: str) -> int:
        return sum(1 for c in self.clients if c.host == host and c.phase is Phase.ARRIVING)

    # -- the request arriving -------------------------------------------------------------------

    def _read(self, client: Client, _sock: object = None) -> None:
        try:
            chunk = client.sock.recv(READ_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(client)
            return
        if not chunk:
            self._close(client)
            return
        arriving = client.arriving
        state = arriving.feed(chunk)
        client.deadline = client.opened + arriving.seconds()
        if state is State.WAITING:
            if arriving.expects_continue and not client.continued:
                client.continued = True
                with contextlib.suppress(OSError):
                    client.sock.send(CONTINUE)
            return
        if state in REFUSED:
            self._answer(client, refusal_answer(*arriving.refusal(), arriving.api_path()))
            return
        self._run(client)

    def _run(self, client: Client) -> None:
        self._unwatch(client)
        self.clients.discard(client)
        client.phase = Phase.RUNNING
        client.conn.sock = BufferedSocket(client.sock, bytes(client.arriving.data))
        client.conn.data_ready = True
        self.in_pool[client.conn] = client
        self.enqueue_req(client.conn)
        self._gate_accept()

    def handle(self, conn: Any) -> Any:
        """Run one request (in a pool thread), noting when it began for notify()."""
        thread = threading.get_ident()
        with self.started_lock:
            self.started[thread] = time.monotonic()
        try:
            return super().handle(conn)
        finally:
            with self.started_lock:
                del self.started[thread]

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        """gunicorn's answer to a request its parser refused (or that failed outside the
        application), in JSON naming the request on API paths, as the application answers."""
        before = len(client.answer) if isinstance(client, BufferedSocket) else None
        super().handle_error(req, client, addr, exc)
        if before != 0 or not api_request(client.request):
            return
        status_line = bytes(client.answer.split(b"\r\n", 1)[0]).decode("latin-1")
        status = status_line.partition(" ")[2]
        if status:
            client.answer[:] = refusal_answer(status, parser_refusal(status, exc, self.cfg), True)

    def notify(self) -> None:
        """Tell the arbiter this worker is alive, unless a request has run longer than `timeout`:
        then the arbiter restarts the worker, as it did a stuck sync worker."""
        with self.started_lock:
            oldest = min(self.started.values(), default=None)
        timeout = self.cfg.timeout
        if oldest is not None and timeout and time.monotonic() - oldest > timeout:
            return
        super().notify()

    # -- the answer -----------------------------------------------------------------------------

    def finish_request(self, conn: Any, fs: Any) -> None:
        client = self.in_pool.pop(conn, None)
        if client is None:
            super().finish_request(conn, fs)
            return
        buffered = conn.sock
        conn.sock = client.sock
        self._answer(client, bytes(buffered.answer))
        self._gate_accept()

    def _answer(self, client: Client, answer: bytes) -> None:
        self._unwatch(client)
        client.phase = Phase.ANSWERING
        client.answer, client.sent = memoryview(answer), 0
        client.deadline = time.monotonic() + ANSWER_SECONDS
        self.clients.add(client)
        self._write(client)

    def _write(self, client: Client, _sock: object = None) -> None:
        try:
            client.sent += client.sock.send(client.answer[client.sent :])
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close(client)
            return
        if client.sent < len(client.answer):
            self._watch(client, selectors.EVENT_WRITE, self._write)
            return
        try:
            client.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(client)
            return
        client.phase = Phase.CLOSING
        client.deadline = time.monotonic() + LINGER_SECONDS
        self._watch(client, selectors.EVENT_READ, self._drain)

    def _drain(self, client: Client, _sock: object = None) -> None:
        try:
            if client.sock.recv(READ_BYTES):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._close(client)

    # -- bookkeeping ----------------------------------------------------------------------------

    def murder_pending(self) -> None:
        """Besides gunicorn's own: end the connections past their deadline, with a 408 to a
        client that sent part of a request (one that sent nothing is just closed)."""
        super().murder_pending()
        now = time.monotonic()
        if now < self.next_sweep:
            return
        self.next_sweep = now + 0.25
        for client in [c for c in self.clients if c.deadline <= now]:
            if client.phase is Phase.ARRIVING and client.arriving.data:
                late = Refusal(
                    "request",
                    "(not arrived in full)",
                    f"in full within {client.arriving.seconds():.0f} s of the connection",
                    "painpump serve (REQUEST_SECONDS)",
                    "timed out",
                )
                answer = refusal_answer("408 Request Timeout", late, client.arriving.api_path())
                self._answer(client, answer)
            else:
                self._close(client)

    def _watch(self, client: Client, events: int, callback: Any) -> None:
        if client.watched:
            self.poller.modify(client.sock, events, partial(callback, client))
        else:
            self.poller.register(client.sock, events, partial(callback, client))
            client.watched = True

    def _unwatch(self, client: Client) -> None:
        if client.watched:
            self.poller.unregister(client.sock)
            client.watched = False

    def _close(self, client: Client) -> None:
        self._unwatch(client)
        self.clients.discard(client)
        self.nr_conns -= 1
        with contextlib.suppress(OSError):
            client.sock.close()
        self._gate_accept()
