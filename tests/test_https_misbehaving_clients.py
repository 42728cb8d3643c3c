"""HttpsService against clients that misbehave, in process: a slow client is cut at its deadline
however it spreads its bytes, and what a client sends cannot drive the terminal through the log."""

from __future__ import annotations

import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import pytest
from https_round_trip import fetch, recording
from polling import wait_until

from mtlslib.tls import HttpsService
from mtlslib.tls.https import escape_for_log


# --------------------------------------------------------------------------------------------
# Deadlines: a slow client is cut, however it spreads its bytes

DEADLINE = 0.5  # the service's timeout in these tests: short, so that they run in about a second
SLACK = 1.0  # for a busy machine


def read_response(tls: ssl.SSLSocket) -> bytes:
    """One whole response with a Content-Length body (headers and body may come in two records)."""
    raw = b""
    while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < int(
            re.search(rb"Content-Length: (\d+)", raw).group(1)):
        data = tls.recv(4096)
        if not data:
            break
        raw += data
    return raw


class Cut(NamedTuple):
    seconds: float  # from the end of the client's handshake to the server's answer or hang-up
    answer: bytes


def slow_client(service: HttpsService, context: ssl.SSLContext, first: bytes, drip: bytes,
                interval: float = 0.3) -> Cut:
    """A slow-loris client: ``first``, then ``drip`` every ``interval`` seconds until the server
    answers or hangs up (at most 10 s)."""
    with context.wrap_socket(socket.create_connection(service.address, timeout=10),
                             server_hostname="localhost") as tls:
        started, answer = time.monotonic(), b""
        tls.sendall(first)
        tls.settimeout(interval)
        while time.monotonic() - started < 10:
            try:
                data = tls.recv(4096)
            except TimeoutError:
                tls.sendall(drip)
                continue
            except OSError:  # a reset: cut too
                break
            if not data:
                break
            answer += data
        return Cut(time.monotonic() - started, answer)


SLOW_REQUESTS = {
    "request line, a byte at a time": (b"GET /", b"a"),
    "one header line every 0.3 s": (b"GET / HTTP/1.1\r\nHost: localhost\r\n", b"X-Slow: 1\r\n"),
    "body, a byte at a time": (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n", b"x"),
}


@pytest.mark.parametrize("first, drip", SLOW_REQUESTS.values(), ids=SLOW_REQUESTS)
def test_a_slow_request_is_cut_at_its_deadline_while_others_are_served(server_cert, anonymous_context, first, drip):
    log: list[str] = []
    with HttpsService(server_cert, timeout=DEADLINE, log=log.append) as service:
        with ThreadPoolExecutor(5) as pool:
            slow = [pool.submit(slow_client, service, anonymous_context, first, drip) for _ in range(5)]
            wait_until(lambda: service.active_connections >= 5)
            good = fetch(service, anonymous_context)
            served_meanwhile = not any(future.done() for future in slow)
            cuts = [future.result() for future in slow]
    assert good.status == 200 and served_meanwhile, "the good client waited for the slow ones"
    for cut in cuts:
        assert DEADLINE * 0.9 <= cut.seconds < DEADLINE + SLACK, cut
        assert cut.answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), cut
        assert b"Connection: close\r\n" in cut.answer
        assert cut.answer.endswith(b"\r\n\r\nrequest not complete within 0.5 s\n")
    timed_out = [line for line in log if " 408 " in line]
    assert len(timed_out) == 5 and len(log) == 6, log  # one line per slow request, one for the good one
    request_line = first.partition(b"\r\n")[0].decode()
    expected = f'"{request_line}"' if b"\r\n" in first else "(no complete request line)"
    assert all(f"{expected} 408 request not complete within 0.5 s (no client certificate)" in line
               for line in timed_out), timed_out


def test_a_kept_alive_request_has_its_deadline_from_its_first_byte(server_cert, anonymous_context):
    log: list[str] = []
    with HttpsService(server_cert, timeout=DEADLINE, keep_alive=True, log=log.append) as service:
        with anonymous_context.wrap_socket(socket.create_connection(service.address, timeout=10),
                                           server_hostname="localhost") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert read_response(tls).startswith(b"HTTP/1.1 200 OK\r\n")
            time.sleep(DEADLINE * 0.6)  # idle, within the limit: the connection stays open
            tls.sendall(b"GET /second HTTP/1.1\r\n")  # the second request starts here ...
            started = time.monotonic()
            tls.settimeout(0.2)
            answer = b""
            while not answer:
                try:
                    answer = tls.recv(4096)
                except TimeoutError:
                    tls.sendall(b"X-Slow: 1\r\n")  # ... and never ends
            seconds = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    # Counted from the request's first byte, not from the previous answer (that was 0.3 s earlier).
    assert DEADLINE * 0.9 <= seconds < DEADLINE + SLACK
    assert '"GET /second HTTP/1.1" 408' in log[-1]


def test_an_idle_connection_is_closed_quietly(server_cert, anonymous_context):
    log: list[str] = []
    with HttpsService(server_cert, timeout=DEADLINE, keep_alive=True, log=log.append) as service:
        for request in (b"", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"):
            # Nothing at all after the handshake (a browser's connection opened in advance), or
            # nothing after a first request: closed without an answer, after the idle limit.
            with anonymous_context.wrap_socket(socket.create_connection(service.address, timeout=10),
                                               server_hostname="localhost") as tls:
                started = time.monotonic()
                tls.sendall(request)
                first = read_response(tls) if request else b""
                rest = tls.recv(4096)
                seconds = time.monotonic() - started
            assert rest == b"" and DEADLINE * 0.9 <= seconds < DEADLINE + SLACK
            assert not request or first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(log) == 1 and '"GET / HTTP/1.1" 200' in log[0], log  # the closes log nothing


def test_a_handshake_sent_a_byte_at_a_time_is_cut_at_its_deadline(server_cert, anonymous_context):
    # The ClientHello a real client would send, dribbled out: a timeout per read would never fire.
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    with pytest.raises(ssl.SSLWantReadError):
        anonymous_context.wrap_bio(incoming, outgoing, server_hostname="localhost").do_handshake()
    hello = outgoing.read()
    log: list[str] = []
    with HttpsService(server_cert, timeout=DEADLINE, log=log.append) as service:
        with socket.create_connection(service.address, timeout=10) as sock:
            started = time.monotonic()
            sock.settimeout(0.05)
            for byte in hello:
                try:
                    sock.sendall(bytes([byte]))
                    if not sock.recv(4096):
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
            seconds = time.monotonic() - started
    assert len(hello) * 0.05 > DEADLINE + SLACK  # the whole hello would take longer than the test allows
    assert DEADLINE * 0.9 <= seconds < DEADLINE + SLACK
    assert any("TLS handshake failed: timed out" in line for line in log), log


@pytest.mark.parametrize("cut_short", [
    b"GET / HTTP/1.1\r\nHost: localhost\r\n",  # headers without their blank line
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nuser=",  # half a body
], ids=["headers", "body"])
def test_a_request_the_client_cuts_short_is_not_answered(server_cert, anonymous_context, cut_short):
    # http.server would take the end of the stream for the end of the headers, and a short body
    # for the whole one: the handler must see neither.
    handler, seen = recording()
    with HttpsService(server_cert, timeout=DEADLINE, handler=handler) as service:
        with anonymous_context.wrap_socket(socket.create_connection(service.address, timeout=10),
                                           server_hostname="localhost") as tls:
            tls.sendall(cut_short)
            tls.unwrap().shutdown(socket.SHUT_WR)  # close_notify, then the TCP FIN: "I am done"
            assert tls.recv(4096) == b""
    assert seen == []


# --------------------------------------------------------------------------------------------
# The log: what clients send cannot drive the terminal


def test_escape_for_log_shows_control_characters_as_python_escapes():
    assert escape_for_log("GET /\x1b[2J\x07 HTTP/1.1") == r"GET /\x1b[2J\x07 HTTP/1.1"
    assert escape_for_log("a\rb\x7f\x9b\u202e\\x1b") == r"a\rb\x7f\x9b\u202e\\x1b"
    assert escape_for_log("alice@example.test é") == "alice@example.test é"


@pytest.mark.parametrize("raw", [
    b"GET /\x1b[31mred\x1b[0m\x07 HTTP/1.1\r\nHost: localhost\r\n\r\n",  # ESC and BEL in the path
    b"GET /a\rb HTTP/1.1\r\nHost: localhost\r\n\r\n",  # a bare CR: the start of the line overwritten
    b"G\x1b]0;owned\x07T / HTTP/1.1\r\nHost: localhost\r\n\r\n",  # a window title, in the method
    b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\x1b[2J\r\x07\r\n\r\n",  # in a header value
    b"GET /\x9b31m\x7f\\x1b HTTP/1.1\r\nHost: localhost\r\n\r\n",  # C1 CSI, DEL, a literal backslash
], ids=["ESC and BEL", "CR", "in the method", "in a header", "C1, DEL, backslash"])
def test_the_log_escapes_control_characters_clients_send(server_cert, anonymous_context, raw):
    log: list[str] = []
    with HttpsService(server_cert, timeout=DEADLINE, log=log.append) as service:
        with anonymous_context.wrap_socket(socket.create_connection(service.address, timeout=10),
                                           server_hostname="localhost") as tls:
            tls.sendall(raw)
            assert tls.recv(4096).startswith(b"HTTP/1.1 ")  # answered (400, 501 or 200), whatever it was
    assert log and all(line.isprintable() for line in log), log
    request_line = raw.split(b"\r\n")[0].decode("latin-1")
    assert any(f'"{escape_for_log(request_line)}"' in line for line in log), log
