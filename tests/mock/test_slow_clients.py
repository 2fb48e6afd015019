"""Slow and idle clients are cut off, so that they cannot hold the mock's sockets for as long as they like.

Served by uvicorn on loopback with short time-outs; each test checks that the server closes the
connection (the client reads end-of-file or a reset), never how fast: pytest-timeout guards hangs.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, ConnectionTimeouts, serve

SHORT = ConnectionTimeouts(headers=0.5, body=0.5, idle=0.5)
REQUEST_HEAD = b"POST /api/session HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve(timeouts=SHORT) as base:
        yield base


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(30)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Reads until the server closes the connection (True), or 30 s pass (False)."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()


def _response(sock: socket.socket) -> bytes:
    """One whole response (head and a Content-Length body) read from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return data


def _drip(sock: socket.socket, data: bytes, stop: threading.Event) -> None:
    """Sends `data` a byte every 50 ms (a slowloris client) until the server hangs up."""
    try:
        for byte in data:
            if stop.wait(0.05):
                return
            sock.sendall(bytes([byte]))
        while not stop.wait(0.05):
            sock.sendall(b"X")
    except OSError:
        return


@pytest.mark.timeout(120)
def test_two_hundred_slow_or_idle_clients_are_cut_off_and_a_normal_client_is_served(url: str) -> None:
    stop = threading.Event()
    silent = [_connect(url) for _ in range(80)]  # connect, send nothing
    slowloris = [_connect(url) for _ in range(60)]  # headers a byte at a time, forever
    no_body = [_connect(url) for _ in range(60)]  # headers promising a body that never comes
    for sock in no_body:
        sock.sendall(REQUEST_HEAD + b"Content-Length: 1000\r\n\r\n{")
    drippers = [threading.Thread(target=_drip, args=(s, REQUEST_HEAD, stop), daemon=True) for s in slowloris]
    for thread in drippers:
        thread.start()
    try:
        # A normal client is served while the 200 hold their sockets.
        answer = httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD), timeout=30)
        assert answer.status_code == 201
        assert all(_closed_by_server(sock) for sock in silent), "a silent connection stayed open"
        assert all(_closed_by_server(sock) for sock in slowloris), "a slowloris connection stayed open"
        assert all(_closed_by_server(sock) for sock in no_body), "a connection that sent no body stayed open"
    finally:
        stop.set()


@pytest.mark.timeout(60)
def test_an_idle_keep_alive_connection_is_closed_after_its_response(url: str) -> None:
    sock = _connect(url)
    sock.sendall(b"GET /api/session HTTP/1.1\r\nHost: mock\r\n\r\n")
    head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 401 ")
    assert _closed_by_server(sock)


@pytest.mark.timeout(60)
def test_a_keep_alive_client_that_then_trickles_its_next_request_is_cut_off(url: str) -> None:
    sock = _connect(url)
    sock.sendall(b"GET /api/session HTTP/1.1\r\nHost: mock\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 401 ")
    stop = threading.Event()
    thread = threading.Thread(target=_drip, args=(sock, REQUEST_HEAD, stop), daemon=True)
    thread.start()
    try:
        assert _closed_by_server(sock)
    finally:
        stop.set()


def test_connection_timeouts_must_be_positive_seconds() -> None:
    with pytest.raises(ValueError, match="headers must be a positive number of seconds"):
        ConnectionTimeouts(headers=0)
    with pytest.raises(ValueError, match="idle must be a positive number of seconds"):
        ConnectionTimeouts(idle=float("inf"))


@pytest.mark.timeout(60)
def test_a_keep_alive_connection_idle_for_longer_than_the_header_timeout_is_still_served() -> None:
    """The header time-out runs from a request's first byte: between requests only `idle` counts."""
    with serve(timeouts=ConnectionTimeouts(headers=0.5, body=0.5, idle=5.0)) as base:
        sock = _connect(base)
        try:
            for _ in range(2):
                sock.sendall(b"GET /api/session HTTP/1.1\r\nHost: mock\r\n\r\n")
                assert _response(sock).startswith(b"HTTP/1.1 401 ")
                threading.Event().wait(1.5)  # idle three times the header time-out
        finally:
            sock.close()
