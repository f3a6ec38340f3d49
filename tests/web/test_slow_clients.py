"""Regression: two connections that sent half a request and nothing more made an ordinary page
take 31.6 s (`WORKER TIMEOUT` in the log), each holding one of the two sync workers until
gunicorn's timeout. `painpump serve` now runs painpump.buffered_worker: a request reaches a
worker's thread only once it has arrived in full, and a request that does not arrive within its
deadline gets 408. The drill painpump.devtools.security.slow_clients holds such requests open
against a real server; the tests below pin what the worker decides about a request arriving."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from unittest import mock

import pytest
from gunicorn.config import Config

from painpump.buffered_worker import PER_HOST, Arriving, BufferedWorker, State
from painpump.devtools.faults.server import Server
from painpump.devtools.security import slow_clients

HEAD_LIMIT, BODY_LIMIT = 8190, 1000
POST = (
    b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b'Content-Length: 38\r\n\r\n{"username": "a", "password": "bcdef"}'
)


def arrived(*parts: bytes) -> list[State]:
    arriving = Arriving(HEAD_LIMIT, BODY_LIMIT)
    return [arriving.feed(part) for part in parts]


def test_regression_half_sent_requests_held_open_do_not_hold_up_an_ordinary_request() -> None:
    report = slow_clients.drill(full=False)
    assert report.problems == [], report.figures
    assert report.figures["while_held"]["requests"] > 50  # its p95: a figure (docs/benchmarks.md)
    assert report.figures["their_answers"].get("408", 0) > 0, "no held request met its deadline"


def test_a_request_has_arrived_only_once_its_head_and_promised_body_are_in() -> None:
    for split in range(1, len(POST)):
        assert arrived(POST[:split], POST[split:]) == [State.WAITING, State.ARRIVED], split
    byte_by_byte = arrived(*(POST[n : n + 1] for n in range(len(POST))))
    assert byte_by_byte == [State.WAITING] * (len(POST) - 1) + [State.ARRIVED]
    assert arrived(b"GET / HTTP/1.1\r\nHost: x\r\n", b"\r\n") == [State.WAITING, State.ARRIVED]


def test_a_head_too_long_goes_on_at_once_for_gunicorn_to_refuse() -> None:
    assert arrived(b"GET / HTTP/1.1\r\nX: " + b"y" * HEAD_LIMIT) == [State.ARRIVED]


@pytest.mark.parametrize(
    "head",
    [
        b"POST /api/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
        b"GET /api/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ids=["chunked", "gzip then chunked", "an empty chunked body"],
)
def test_regression_a_chunked_body_is_refused_with_411_at_its_head(head: bytes) -> None:
    """Regression: a body sent with Transfer-Encoding: chunked reached the application as no
    body (a POST answered 422 naming every field as missing); it is refused at its head."""
    arriving = Arriving(HEAD_LIMIT, BODY_LIMIT)
    assert arriving.feed(head) is State.UNFRAMED
    status_line, refusal = arriving.refusal()
    assert status_line == "411 Length Required"
    assert refusal.field == "Transfer-Encoding" and "chunked" in refusal.value
    assert refusal.limit == "a body sent with its Content-Length"
    assert refusal.source.startswith("RFC 9110, section 15.5.12")


@pytest.mark.parametrize(
    "head",
    [
        b"POST /api/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\nContent-Length: 5\r\ntransfer-encoding: gzip\r\n\r\n",
        b"POST /api/x HTTP/1.1\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
    ids=["chunked with a length", "length then an encoding", "a bad length with an encoding"],
)
def test_regression_a_request_with_both_a_length_and_a_transfer_encoding_is_refused_at_its_head(
    head: bytes,
) -> None:
    """Regression: it got gunicorn's HTML 400 on /api/; the worker refuses it itself now."""
    arriving = Arriving(HEAD_LIMIT, BODY_LIMIT)
    assert arriving.feed(head) is State.BAD_FRAMING
    status_line, refusal = arriving.refusal()
    assert status_line == "400 Bad Request"
    assert refusal.field == "Content-Length" and refusal.problem == "comes with a Transfer-Encoding"
    assert refusal.source.startswith("RFC 9112, section 6.1")


@pytest.mark.parametrize(
    ("length", "shown"),
    [
        ("\u0665".encode(), "'\\xd9\\xa5'"),
        ("\uff15\uff10".encode(), "'\\xef\\xbc\\x95\\xef\\xbc\\x90'"),
        (b"5\xa0", "'5\\xa0'"),
        (b"5\\x35", "'5\\\\x35'"),
    ],
    ids=["arabic-indic five", "fullwidth fifty", "latin-1 byte", "a backslash"],
)
def test_regression_a_content_length_of_other_digits_is_echoed_as_its_bytes_escaped(
    length: bytes, shown: str
) -> None:
    """Regression: a Content-Length of non-ASCII digits was echoed garbled (its UTF-8 bytes
    read as Latin-1) in the JSON 400; it is refused echoing each byte outside printable ASCII
    as \\xNN."""
    arriving = Arriving(HEAD_LIMIT, BODY_LIMIT)
    assert arriving.feed(b"POST /api/x HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n") is (
        State.BAD_LENGTH
    )
    refusal = arriving.refusal()[1]
    assert refusal.value == shown
    assert refusal.value.isascii()


def test_a_body_over_the_limit_is_refused_at_its_head() -> None:
    arriving = Arriving(HEAD_LIMIT, BODY_LIMIT)
    assert arriving.feed(b"POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n") is State.TOO_LARGE
    within = Arriving(HEAD_LIMIT, BODY_LIMIT)
    assert within.feed(b"POST / HTTP/1.1\r\nContent-Length: 0001000\r\n\r\n") is State.WAITING
    assert within.seconds() > Arriving(HEAD_LIMIT, BODY_LIMIT).seconds()


@pytest.mark.parametrize(
    ("length", "state"),
    [
        (b"9" * 19, State.TOO_LARGE),
        (b"9" * 5000, State.TOO_LARGE),
        (b"0" * 30 + b"1001", State.TOO_LARGE),
        (b"0" * 5000 + b"5", State.BAD_LENGTH),
        (b"0" * 21, State.BAD_LENGTH),
        (b"-1", State.BAD_LENGTH),
        (b"5x", State.BAD_LENGTH),
        (b"+5", State.BAD_LENGTH),
        (b"1e3", State.BAD_LENGTH),
        (b"", State.BAD_LENGTH),
        (b"5, 5", State.BAD_LENGTH),
        (b"5\r\nContent-Length: 5", State.BAD_LENGTH),
        (b"5\r\nContent-Length: 6", State.BAD_LENGTH),
    ],
    ids=[
        "19 digits",
        "5000 digits",
        "zeros then over",
        "thousands of leading zeros",
        "21 zeros",
        "negative",
        "not a number",
        "plus sign",
        "exponent",
        "empty",
        "a list",
        "twice the same",
        "two lengths",
    ],
)
def test_regression_any_content_length_over_the_limit_or_not_one_number_is_refused_at_its_head(
    length: bytes, state: State
) -> None:
    """Regression: a 19-digit Content-Length skipped the worker's 413 (gunicorn's 400 answered)."""
    assert arrived(b"POST /api/x HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n") == [state]


@pytest.mark.parametrize(
    ("start", "api"),
    [
        (b"POST /api/patients HTTP/1.1\r\n", True),
        (b"GET http://x/api/auth/me?q=1 HTTP/1.1\r\n", True),
        (b"GET /patients/?q=/api/ HTTP/1.1\r\n", False),
        (b"GET /api/auth/me", False),
    ],
    ids=["api", "absolute form", "web", "request line not arrived"],
)
def test_the_worker_s_refusals_are_json_on_api_paths(start: bytes, api: bool) -> None:
    arriving = Arriving(HEAD_LIMIT, BODY_LIMIT)
    arriving.feed(start)
    assert arriving.api_path() is api


def test_a_request_running_longer_than_the_timeout_gets_its_worker_restarted() -> None:
    config = Config()
    config.set("timeout", 30)
    worker = BufferedWorker(0, 0, [], None, 15, config, mock.Mock())
    worker.tmp = mock.Mock()
    worker.started[1] = time.monotonic() - 29
    worker.notify()
    assert worker.tmp.notify.call_count == 1
    worker.started[2] = time.monotonic() - 31
    worker.notify()
    assert worker.tmp.notify.call_count == 1, "the arbiter was told a stuck worker is alive"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Server, str]]:
    with slow_clients.clinic_server() as server_and_token:
        yield server_and_token


def read_all(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_request_that_arrives_in_pieces_is_answered_once_complete(
    served: tuple[Server, str],
) -> None:
    server, token = served
    request = f"GET /api/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}"
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        for part in (request[:20], request[20:], "\r\n", "\r\n"):
            sock.sendall(part.encode())
            time.sleep(0.3)
        answer = read_all(sock)
    assert status(answer) == 200 and b"nurse" in answer


def test_expect_100_continue_is_answered_once_before_the_body(
    served: tuple[Server, str],
) -> None:
    server, _ = served
    head, body = POST.split(b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head + b"\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = read_all(sock)
    assert b"100 Continue" not in answer and status(answer) == 403  # no CSRF token


def test_a_body_over_djangos_limit_is_refused_with_413_before_it_is_sent(
    served: tuple[Server, str],
) -> None:
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
        )
        answer = read_all(sock)
    assert status(answer) == 413
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == {
        "field": "Content-Length",
        "value": "10000000",
        "limit": "at most 2621440 bytes",
        "source": "Django's DATA_UPLOAD_MAX_MEMORY_SIZE (painpump serve)",
        "message": "Content-Length: 10000000 is over the limit: the body is refused before "
        "it is sent; limit: at most 2621440 bytes (source: Django's DATA_UPLOAD_MAX_MEMORY_SIZE "
        "(painpump serve))",
    }


def answered(server: Server, head: bytes) -> tuple[int, bytes, bytes]:
    """The status, head and body of the answer to `head` (a request sent without its body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head)
        answer = read_all(sock)
    head_part, _, body = answer.partition(b"\r\n\r\n")
    return status(answer), head_part, body


@pytest.mark.parametrize(
    ("length", "code", "refused"),
    [
        (b"1234567890123456789", 413, b"1234567890123456789 is over the limit"),
        (b"9" * 4000, 413, b"(4000 characters) is over the limit"),
        (b"0" * 4000 + b"5", 400, b"(4001 characters) is too long"),
        (b"-1", 400, b"'-1'"),
        (b"12abc", 400, b"'12abc'"),
        (b"5\r\nContent-Length: 5", 400, b"'5, 5'"),
    ],
    ids=["19 digits", "4000 digits", "4000 leading zeros", "negative", "not a number", "twice"],
)
def test_regression_a_content_length_over_the_limit_or_not_one_number_is_refused_like_the_rest(
    served: tuple[Server, str], length: bytes, code: int, refused: bytes
) -> None:
    """Regression: a 19-digit Content-Length got gunicorn's plain-text 400, and so did a small
    one behind thousands of leading zeros (its HTML 400 on /api/). Now every refused
    length is answered by the worker: JSON naming it on API paths, its message elsewhere."""
    server, _ = served
    for path, kind in ((b"/api/patients", b"application/json"), (b"/patients/new/", b"text/plain")):
        head = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"
        got, answer_head, body = answered(server, head)
        assert got == code, body
        assert b"Content-Type: " + kind in answer_head
        assert refused in body and len(body) < 2000
        if kind == b"application/json":
            assert json.loads(body)["error"]["field"] == "Content-Length"


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5", "comes with a Transfer-Encoding"),
        (b"Content-Length: \xd9\xa5", "Content-Length: '\\xd9\\xa5' is not one length"),
    ],
    ids=["chunked with a length", "arabic-indic digit"],
)
def test_regression_both_framings_or_a_length_of_other_digits_are_refused_by_the_worker(
    served: tuple[Server, str], headers: bytes, refused: str
) -> None:
    """Regression: a request with both Transfer-Encoding and Content-Length got gunicorn's HTML
    400 on /api/, and a Content-Length of non-ASCII digits was echoed garbled in the JSON 400."""
    server, _ = served
    for path, kind in ((b"/api/patients", b"application/json"), (b"/patients/new/", b"text/plain")):
        head = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n\r\n"
        got, answer_head, body = answered(server, head)
        assert got == 400, body
        assert b"Content-Type: " + kind in answer_head and body.isascii()
        if kind == b"application/json":
            error = json.loads(body)["error"]
            assert error["field"] == "Content-Length" and refused in error["message"]
        else:
            assert refused in body.decode()


def test_regression_a_chunked_request_is_refused_411_by_the_worker(
    served: tuple[Server, str],
) -> None:
    server, _ = served
    for path, kind in ((b"/api/patients", b"application/json"), (b"/patients/new/", b"text/plain")):
        head = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        got, answer_head, body = answered(server, head + b"5\r\nhello\r\n0\r\n\r\n")
        assert got == 411, body
        assert b"Content-Type: " + kind in answer_head
        if kind == b"application/json":
            assert json.loads(body)["error"]["field"] == "Transfer-Encoding"


@pytest.mark.parametrize(
    ("head", "code"),
    [
        (b"GET /api/patients?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /api/patients HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
        (
            b"GET /api/patients HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: 1\r\n" % n for n in range(120))
            + b"\r\n",
            431,
        ),
        (b"GET /api/patients HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET /api/patients HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400),
        (b"GET /api/patients HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    ],
    ids=["request line 5 KB", "a 9 KB header", "120 headers", "HTTP/9.9", "folded", "NUL"],
)
def test_regression_requests_gunicorns_parser_refuses_are_json_on_api_paths(
    served: tuple[Server, str], head: bytes, code: int
) -> None:
    """Regression: requests gunicorn's parser refuses (414, 431, 400) were answered with its HTML
    pages on /api/ paths; they are JSON naming the request and the limits now, and stay
    gunicorn's page elsewhere."""
    server, _ = served
    got, answer_head, body = answered(server, head)
    assert got == code, body
    assert b"Content-Type: application/json" in answer_head, answer_head
    error = json.loads(body)["error"]
    assert error["field"] == "request" and error["source"].startswith("RFC 9112")
    assert f"is refused ({code} " in error["message"] and len(body) < 2000
    web = head.replace(b"/api/patients", b"/patients/", 1)
    got, answer_head, _ = answered(server, web)
    assert got == code and b"Content-Type: text/html" in answer_head


def test_one_host_holding_many_half_sent_requests_gets_429_and_others_are_served(
    served: tuple[Server, str],
) -> None:
    """Regression: one host holding a thousand half-sent requests per worker filled its
    connection slots; beyond PER_HOST arriving at once, its new connections get 429."""
    server, token = served
    held: list[socket.socket] = []
    statuses: list[int] = []
    try:
        for _ in range(2 * PER_HOST + 4):  # enough for both workers to reach the cap
            sock = socket.create_connection(
                ("127.0.0.1", server.port), timeout=5, source_address=("127.0.0.7", 0)
            )
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            held.append(sock)
        time.sleep(1)
        for sock in held:
            sock.settimeout(0.05)
            try:
                answer = sock.recv(1024)
            except TimeoutError:
                continue
            if answer.startswith(b"HTTP/"):
                statuses.append(status(answer))
        assert 429 in statuses
        request = (
            f"GET /api/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
            sock.sendall(request.encode())
            assert status(read_all(sock)) == 200
    finally:
        for sock in held:
            sock.close()
