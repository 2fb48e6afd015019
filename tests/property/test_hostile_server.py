"""The overlay facing a hostile server raises only `vcenter_guest.errors` exceptions, and never hangs.

Random status codes, random and truncated bodies and wrong content types come through
`httpx.MockTransport` (hypothesis draws them); slow responses and dropped connections come from a
loopback socket peer that speaks just enough HTTP to misbehave. Hangs are guarded by
pytest-timeout at many times the client's own timeout: no test measures speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcenter_guest import AsyncClient, Client, CreateSpec, Credentials, RetryPolicy, errors
from vcenter_guest_client.models import ErrorType

VM = "vm-42"
CREDS = Credentials.password("root", "guest-secret")
NEVER = RetryPolicy.never()

SYNC_CALLS: dict[str, Callable[[Client], Any]] = {
    "create": lambda vc: vc.processes.create(VM, CREDS, "/bin/true"),
    "list": lambda vc: vc.processes.list(VM, CREDS),
    "get": lambda vc: vc.processes.get(VM, CREDS, 4242),
    "delete": lambda vc: vc.processes.delete(VM, CREDS, 4242),
}


async def _async_call(vc: AsyncClient, name: str) -> Any:
    processes = vc.processes
    if name == "create":
        return await processes.create(VM, CREDS, "/bin/true")
    if name == "list":
        return await processes.list(VM, CREDS)
    if name == "get":
        return await processes.get(VM, CREDS, 4242)
    return await processes.delete(VM, CREDS, 4242)


# -- what a hostile server answers ---------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_error_types = st.sampled_from([e.value for e in ErrorType]) | st.text(max_size=12)
_messages = st.lists(
    st.fixed_dictionaries(
        {"id": st.text(max_size=8), "default_message": st.text(max_size=20), "args": st.lists(st.text(max_size=5))},
        optional={
            "params": st.dictionaries(st.text(max_size=4), st.dictionaries(st.sampled_from("sidlx"), _json_values))
        },
    ),
    max_size=2,
)
_error_bodies = st.fixed_dictionaries(
    {},
    optional={"error_type": _error_types, "messages": _messages | _json_values, "data": _json_values},
)
_documents = (
    _json_values
    | _error_bodies
    | st.integers(-(2**70), 2**70)
    | st.lists(st.fixed_dictionaries({"name": st.text(), "pid": _json_values, "started": st.text()}), max_size=2)
    | st.fixed_dictionaries({"name": st.text(), "owner": st.text(), "command": st.text(), "started": st.text()})
).map(lambda doc: json.dumps(doc).encode())


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    body = draw(_documents | st.binary(max_size=64) | st.just(b""))
    if body and draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body) - 1))]  # truncated
    return body


_responses = st.tuples(
    st.sampled_from([200, 201, 204, 400, 401, 403, 404, 405, 409, 429, 500, 503, 504]) | st.integers(200, 599),
    st.sampled_from(["application/json", "application/json; charset=utf-8", "text/html", "text/plain", "", "x/;;"]),
    _bodies(),
)
_logins = st.just((201, "application/json", b'"session-id"')) | _responses


def _transport(login: tuple[int, str, bytes], answer: tuple[int, str, bytes]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        status, content_type, body = login if request.url.path == "/api/session" else answer
        headers = {"content-type": content_type} if content_type else {}
        return httpx.Response(status, headers=headers, content=body)

    return httpx.MockTransport(handle)


def _hypothesis(budget: Callable[[int], int]) -> Any:
    return settings(
        max_examples=budget(60), derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )


@pytest.mark.parametrize("operation", sorted(SYNC_CALLS))
def test_client_raises_only_its_own_errors_whatever_the_server_answers(
    operation: str, budget: Callable[[int], int]
) -> None:
    @given(login=_logins, answer=_responses)
    @_hypothesis(budget)
    def check(login: tuple[int, str, bytes], answer: tuple[int, str, bytes]) -> None:
        try:
            with Client(
                "http://vc.invalid", user="u", password="p", retry=NEVER, transport=_transport(login, answer)
            ) as vc:
                SYNC_CALLS[operation](vc)
        except errors.VcenterGuestError:
            pass

    check()


@pytest.mark.parametrize("operation", sorted(SYNC_CALLS))
def test_async_client_raises_only_its_own_errors_whatever_the_server_answers(
    operation: str, budget: Callable[[int], int]
) -> None:
    @given(login=_logins, answer=_responses)
    @_hypothesis(budget)
    def check(login: tuple[int, str, bytes], answer: tuple[int, str, bytes]) -> None:
        async def scenario() -> None:
            async with AsyncClient(
                "http://vc.invalid", user="u", password="p", retry=NEVER, transport=_transport(login, answer)
            ) as vc:
                await _async_call(vc, operation)

        with contextlib.suppress(errors.VcenterGuestError):
            asyncio.run(scenario())

    check()


# -- slow and dropped connections: a loopback peer that misbehaves after reading the request ------------


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


BEHAVIOURS: dict[str, Callable[[socket.socket, threading.Event], None]] = {
    # Reads the request, then says nothing until the test ends.
    "never-answers": lambda conn, done: done.wait(),
    # Reads the request, then closes the connection.
    "drops-the-connection": lambda conn, done: None,
    # Sends a status line and some headers, then stalls.
    "stalls-in-the-headers": lambda conn, done: (conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: app"), done.wait()),
    # Promises 100 bytes, sends 10, then stalls.
    "stalls-in-the-body": lambda conn, done: (
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{"name":1'),
        done.wait(),
    ),
    # Promises 100 bytes, sends 10, then closes.
    "truncates-the-body": lambda conn, done: conn.sendall(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{"name":1'
    ),
    # Not HTTP at all.
    "answers-garbage": lambda conn, done: conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\r\n\r\n"),
}


@pytest.fixture
def peer() -> Iterator[Callable[[str], tuple[str, list[bytes]]]]:
    """peer(behaviour) -> (base URL, requests received): a loopback server that misbehaves that way."""
    done = threading.Event()
    sockets: list[socket.socket] = []

    def start(behaviour: str) -> tuple[str, list[bytes]]:
        server = socket.create_server(("127.0.0.1", 0))
        sockets.append(server)
        received: list[bytes] = []

        def serve() -> None:
            while not done.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    received.append(_read_request(conn))
                    BEHAVIOURS[behaviour](conn, done)

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{server.getsockname()[1]}", received

    yield start
    done.set()
    for server in sockets:
        server.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
@pytest.mark.parametrize("operation", sorted(SYNC_CALLS))
def test_client_gives_up_with_its_own_error_on_slow_or_dropped_connections(
    peer: Callable[[str], tuple[str, list[bytes]]],
    behaviour: str,
    operation: str,
    client_class: type[Client] | type[AsyncClient],
) -> None:
    url, received = peer(behaviour)
    # An existing session: the misbehaviour meets the guest call itself, not the login.
    retry = RetryPolicy(attempts=2, initial=0.01)

    def call() -> None:
        if client_class is Client:
            with Client(url, session_id="existing-session", timeout=0.5, retry=retry) as vc:
                SYNC_CALLS[operation](vc)
            return

        async def scenario() -> None:
            async with AsyncClient(url, session_id="existing-session", timeout=0.5, retry=retry) as avc:
                await _async_call(avc, operation)

        asyncio.run(scenario())

    with pytest.raises(errors.VcenterGuestError) as caught:
        call()
    if operation == "create" and isinstance(caught.value, errors.TransportError):
        # A create whose answer was lost may have started the program: it is never sent again.
        assert caught.value.may_have_reached_server or len(received) <= 2
        if caught.value.may_have_reached_server:
            assert isinstance(caught.value, errors.ResponseNotReceived)
            assert len([r for r in received if b"action=create" in r]) == 1


# -- servers that keep a call alive byte by byte ---------------------------------------------------------


def _drip(pieces: Callable[[], Iterator[bytes]]) -> Callable[[socket.socket, threading.Event], None]:
    """Sends `pieces` 50 ms apart until the client hangs up (or the test ends)."""

    def send(conn: socket.socket, done: threading.Event) -> None:
        with contextlib.suppress(OSError):
            for piece in pieces():
                if done.wait(0.05):
                    return
                conn.sendall(piece)

    return send


def _header_bytes() -> Iterator[bytes]:
    yield from (bytes([b]) for b in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    while True:
        yield b"X"  # one endless header line, a byte at a time


def _body_bytes() -> Iterator[bytes]:
    yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n["
    while True:
        yield b" "


def _processing() -> Iterator[bytes]:
    while True:
        yield b"HTTP/1.1 102 Processing\r\n\r\n"


SLOW = {
    "trickles-the-headers": _drip(_header_bytes),
    "trickles-the-body": _drip(_body_bytes),
    "floods-102-processing": _drip(_processing),
}
BEHAVIOURS.update(SLOW)
TIMEOUT = 0.5  # the clients' timeout in these tests: seconds one whole exchange may take
RETRY = RetryPolicy(attempts=5, timeout=1.2, initial=0.01, jitter=0)  # all attempts of a get: 1.2 s
# What "ends within its bound" allows on a shared, noisy machine: the bound is max(TIMEOUT,
# RETRY.timeout) = 1.2 s; without the deadline these servers keep a call alive until the test ends.
SLACK = 5.0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("behaviour", sorted(SLOW))
def test_a_call_ends_within_its_bound_however_slowly_the_server_answers(
    peer: Callable[[str], tuple[str, list[bytes]]], behaviour: str, client_class: type[Client] | type[AsyncClient]
) -> None:
    """`timeout` bounds a whole exchange (each read and write alone is short here), the retry policy's
    timeout bounds the retries, the one in flight included; a create is sent once and never again."""
    import time

    make = client_class
    url, received = peer(behaviour)
    for operation in ("get", "create"):
        vc: Any = make(url, session_id="existing-session", timeout=TIMEOUT, retry=RETRY)
        if make is Client:
            call = functools.partial(SYNC_CALLS[operation], vc)
        else:
            call = functools.partial(asyncio.run, _async_call(vc, operation))  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(errors.ResponseNotReceived) as caught:
            call()
        took = time.monotonic() - started
        assert took < max(TIMEOUT, RETRY.timeout) + SLACK, f"{operation} took {took:.1f} s"
        assert "timeout" in str(caught.value)
    creates = [r for r in received if b"action=create" in r]
    assert len(creates) == 1, "a create that may have reached the server is never sent again"
    assert len(received) >= 3, "the get was retried within the policy's time"


@pytest.mark.timeout(120)
def test_a_request_body_written_to_a_server_that_drains_slowly_ends_within_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpcore's sync write restarts its time-out with every partial send; the client's deadline does not.

    Small socket buffers on both sides (a congested link) and a server that takes 64 KiB every 0.3 s:
    each send makes progress within the per-operation time-out, so only a deadline ends the call.
    """
    import time

    done = threading.Event()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # inherited by accepted sockets
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def drain() -> None:
        with contextlib.suppress(OSError):
            while not done.is_set():
                conn, _ = listener.accept()
                with conn:
                    while conn.recv(65536) and not done.wait(0.3):
                        pass

    connect = socket.create_connection

    def small_send_buffer(*args: Any, **kwargs: Any) -> socket.socket:
        sock = connect(*args, **kwargs)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        return sock

    monkeypatch.setattr(socket, "create_connection", small_send_buffer)  # what httpcore's sync backend calls
    threading.Thread(target=drain, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    spec = CreateSpec("/bin/echo", arguments="x" * 1_000_000)
    try:
        for make in (Client, AsyncClient):
            vc: Any = make(url, session_id="existing-session", timeout=1.0, retry=NEVER)
            call = (
                functools.partial(vc.processes.create, VM, CREDS, spec)
                if make is Client
                else functools.partial(asyncio.run, vc.processes.create(VM, CREDS, spec))
            )
            started = time.monotonic()
            with pytest.raises(errors.TransportError):
                call()
            took = time.monotonic() - started
            assert took < 1.0 + SLACK, f"{make.__name__}: {took:.1f} s"
    finally:
        done.set()
        listener.close()


# -- bodies no client should hold: huge, decompression bombs, endless -----------------------------------

CAP = 4 * 1024 * 1024  # the clients' max_response_bytes in these tests


def _huge(conn: socket.socket, done: threading.Event) -> None:
    """100 MB of JSON-ish bytes with a Content-Length."""
    size = 100 * 1024 * 1024
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
    chunk = b"[" + b" " * (1024 * 1024 - 1)
    with contextlib.suppress(OSError):
        for _ in range(100):
            conn.sendall(chunk)


def _bomb(encoding: str) -> Callable[[socket.socket, threading.Event], None]:
    """About a megabyte of gzip (or deflate) that expands to a GiB of zeros."""

    def send(conn: socket.socket, done: threading.Event) -> None:
        import zlib

        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        zeros = b"\0" * (1024 * 1024)
        body = b"".join(packer.compress(zeros) for _ in range(1024)) + packer.flush()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}\r\n"
        conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
        with contextlib.suppress(OSError):
            conn.sendall(body)

    return send


def _endless(conn: socket.socket, done: threading.Event) -> None:
    """A chunked body that never ends (until the client hangs up)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    with contextlib.suppress(OSError):
        while not done.is_set():
            conn.sendall(chunk)


BEHAVIOURS.update(
    {
        "sends-100-MB": _huge,
        "sends-a-gzip-bomb": _bomb("gzip"),
        "sends-a-deflate-bomb": _bomb("deflate"),
        "streams-forever": _endless,
    }
)
_TOO_LARGE = ("sends-100-MB", "sends-a-gzip-bomb", "sends-a-deflate-bomb", "streams-forever")


def _list_sync(vc: Client) -> Any:
    return vc.processes.list(VM, CREDS)


def _list_async(vc: AsyncClient) -> Any:
    return asyncio.run(vc.processes.list(VM, CREDS))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("behaviour", _TOO_LARGE)
def test_an_answer_past_the_cap_is_abandoned_with_memory_bounded(
    peer: Callable[[str], tuple[str, list[bytes]]], behaviour: str, client_class: type[Client] | type[AsyncClient]
) -> None:
    """The body is read as a stream and decoded with a cap: past it the call fails, naming the cap, and the
    client never held much more than the cap (tracemalloc's peak), whatever the server sends."""
    import tracemalloc

    url, _ = peer(behaviour)
    make = client_class
    vc: Any = make(url, session_id="existing-session", timeout=30, retry=NEVER, max_response_bytes=CAP)
    call = functools.partial(_list_sync if make is Client else _list_async, vc)
    tracemalloc.start()
    try:
        with pytest.raises(errors.UnexpectedResponse, match="max_response_bytes"):
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * CAP + 8 * 1024 * 1024, f"{make.__name__} peaked at {peak / 2**20:.0f} MiB"
