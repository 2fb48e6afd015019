"""Both clients against a hostile server on a real loopback socket, every answer drawn by hypothesis.

Each example is one raw HTTP answer a misbehaving server could give: any status (1xx floods
before it), content type and encoding (gzip, deflate, ones never asked for, bodies that do not
decode, decompression bombs of a GiB), framing (Content-Length right, short, long or negative,
chunked good or broken, both at once, none), and delivery (at once, trickled byte by byte, then
closed, reset or held open, or an endless stream). The properties, for the sync and the async client:

- only `vcenter_guest.errors` exceptions leave a public method, whatever the answer;
- every call ends within its bound: the client's `timeout`, with slack for a noisy machine (the
  server trickles for longer than that, or holds the connection until the client hangs up);
- the client's memory stays bounded: tracemalloc's peak over all examples stays within a few
  times `max_response_bytes`, though bombs expand to a GiB and streams never end.

`pytest tests/property/test_hostile_loopback.py -rP` prints the figures: calls, outcomes by
exception type, the slowest call, the peak memory.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import gzip
import json
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from vcenter_guest import AsyncClient, Client, Credentials, RetryPolicy, errors

VM = "vm-42"
CREDS = Credentials.password("root", "guest-secret")
TIMEOUT = 0.5  # seconds one whole exchange may take (the clients' timeout here)
SLACK = 5.0  # what a shared machine may add; without deadlines these servers hold a call ~10 s
CAP = 1024 * 1024  # the clients' max_response_bytes here
HOLD = 10.0  # the longest the server holds a connection open or keeps streaming


@functools.cache
def _bomb(encoding: str) -> bytes:
    """About a megabyte that expands to a GiB of zeros (built once: compressing takes a few seconds)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    zeros = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(1024)) + packer.flush()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
_documents = (
    _json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "error_type": st.sampled_from(["NOT_FOUND", "UNAUTHENTICATED", "RESOURCE_BUSY", "X"]) | st.text(max_size=8),
            "messages": st.lists(
                st.fixed_dictionaries({"id": st.text(max_size=6), "default_message": st.text(max_size=12)}), max_size=2
            )
            | _json_values,
            "data": _json_values,
        },
    )
    | st.just([{"name": "n", "pid": 1, "owner": "o", "command": "c", "started": "2026-01-01T00:00:00Z"}])
    | st.just({"name": "n", "owner": "o", "command": "c", "started": "2026-01-01T00:00:00Z", "exit_code": 0})
).map(lambda doc: json.dumps(doc, allow_nan=True).encode())
_bodies = (
    _documents
    | st.binary(max_size=200)
    | st.just(b"[" * 200_000)  # deep nesting
    | st.just(b"\xff\xfe" + '["é"]'.encode("utf-16-le"))
    | st.just('{"x": "\udc80"}'.encode("utf-8", "surrogatepass"))
)


@attrs.frozen
class Answer:
    """One raw answer: what the server sends after reading the request, and how."""

    informational: int  # 102s before the answer
    status: int
    content_type: str | None
    encoding: str  # "identity", "gzip", "deflate", "gzip-bomb", "deflate-bomb", "gzip-garbled", "br", ...
    framing: str
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    delivery: str  # "at-once", "trickle", "then-hold", "then-reset"

    def head_and_body(self) -> tuple[bytes, bytes]:
        body, encoding_header = self._encoded()
        headers = [f"HTTP/1.1 {self.status} Status"]
        if self.content_type is not None:
            headers.append(f"Content-Type: {self.content_type}")
        if encoding_header:
            headers.append(f"Content-Encoding: {encoding_header}")
        framing_headers, body = FRAMINGS[self.framing](body)
        head = "\r\n".join(headers + framing_headers) + "\r\n\r\n"
        return b"HTTP/1.1 102 Processing\r\n\r\n" * self.informational + head.encode("latin-1"), body

    def _encoded(self) -> tuple[bytes, str]:
        if self.encoding.endswith("-bomb"):
            name = self.encoding.removesuffix("-bomb")
            return _bomb(name), name
        encode = ENCODINGS.get(self.encoding)
        return encode(self.body) if encode else (self.body, self.encoding)  # br, zstd, "gzip, gzip", nonsense


# Content-Encoding -> (body -> (encoded body, header value)).
ENCODINGS: dict[str, Callable[[bytes], tuple[bytes, str]]] = {
    "identity": lambda body: (body, ""),
    "gzip": lambda body: (gzip.compress(body), "gzip"),
    "deflate": lambda body: (zlib.compress(body), "deflate"),
    "gzip-garbled": lambda body: (gzip.compress(body)[:-6] + b"\x00garbage", "gzip"),
    "gzip-plain": lambda body: (body, "gzip"),  # says gzip, is not
}


def _chunked(body: bytes) -> bytes:
    chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


# Framing -> (body -> (headers, what follows the head)).
FRAMINGS: dict[str, Callable[[bytes], tuple[list[str], bytes]]] = {
    "length": lambda body: ([f"Content-Length: {len(body)}"], body),
    "short-length": lambda body: ([f"Content-Length: {max(0, len(body) - 3)}"], body),
    "long-length": lambda body: ([f"Content-Length: {len(body) + 100}"], body),
    "negative-length": lambda body: (["Content-Length: -1"], body),
    "two-lengths": lambda body: ([f"Content-Length: {len(body)}", f"Content-Length: {len(body) + 1}"], body),
    "chunked": lambda body: (["Transfer-Encoding: chunked"], _chunked(body)),
    "bad-chunked": lambda body: (["Transfer-Encoding: chunked"], b"zz\r\n" + body),
    # The server streams chunks after this until the client hangs up.
    "endless-chunked": lambda body: (["Transfer-Encoding: chunked"], b""),
    "length-and-chunked": lambda body: ([f"Content-Length: {len(body)}", "Transfer-Encoding: chunked"], body),
    # The body ends when the connection does.
    "until-close": lambda body: (["Connection: close"], body),
}


_answers = st.builds(
    Answer,
    informational=st.sampled_from([0, 0, 0, 1, 50]),
    status=st.sampled_from([200, 201, 204, 400, 401, 404, 500, 503]) | st.integers(100, 999),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/html", "", None]),
    encoding=st.sampled_from(
        ["identity"] * 6 + sorted(ENCODINGS) + ["gzip-bomb", "deflate-bomb", "br", "gzip, gzip", "x"]
    ),
    framing=st.sampled_from(["length"] * 4 + sorted(FRAMINGS)),
    body=_bodies,
    delivery=st.sampled_from(["at-once", "at-once", "trickle", "then-hold", "then-reset"]),
)


class Server:
    """A loopback server that answers every request with `self.answer`."""

    def __init__(self) -> None:
        self.answer: Answer | None = None
        self._done = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._done.set()
        self._listener.close()

    def _serve(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(HOLD)
            while self._read_request(conn):
                answer = self.answer
                assert answer is not None
                self._play(conn, answer)
                if answer.delivery != "at-once" or answer.framing in {"until-close", "endless-chunked"}:
                    return

    @staticmethod
    def _read_request(conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(h.split(b":", 1)[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True

    def _play(self, conn: socket.socket, answer: Answer) -> None:
        head, body = answer.head_and_body()
        whole = memoryview(head + body)  # slices of a memoryview copy nothing (tracemalloc counts copies)
        if answer.delivery == "trickle":
            step = max(1, len(whole) // 40)
            for start in range(0, len(whole), step):
                if self._done.wait(0.05):
                    return
                conn.sendall(whole[start : start + step])
        else:
            conn.sendall(whole)
        if answer.framing == "endless-chunked":
            chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
            ends = time.monotonic() + HOLD
            while time.monotonic() < ends and not self._done.is_set():
                conn.sendall(chunk)
        if answer.delivery == "then-hold":
            conn.recv(1)  # until the client hangs up (or HOLD passes)
        elif answer.delivery == "then-reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _typical(**changes: Any) -> Answer:
    """A well-formed answer to a list, with `changes`."""
    fields: dict[str, Any] = {
        "informational": 0,
        "status": 200,
        "content_type": "application/json",
        "encoding": "identity",
        "framing": "length",
        "body": b"[]",
        "delivery": "at-once",
    }
    return Answer(**(fields | changes))


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    for encoding in ("gzip", "deflate"):
        _bomb(encoding)  # built before any memory is measured
    peer = Server()
    yield peer
    peer.close()


def _sync_call(vc: Client, operation: str) -> Any:
    processes = vc.processes
    if operation == "create":
        return processes.create(VM, CREDS, "/bin/true")
    if operation == "list":
        return processes.list(VM, CREDS)
    if operation == "get":
        return processes.get(VM, CREDS, 4242)
    return processes.delete(VM, CREDS, 4242)


async def _async_call(vc: AsyncClient, operation: str) -> Any:
    processes = vc.processes
    if operation == "create":
        return await processes.create(VM, CREDS, "/bin/true")
    if operation == "list":
        return await processes.list(VM, CREDS)
    if operation == "get":
        return await processes.get(VM, CREDS, 4242)
    return await processes.delete(VM, CREDS, 4242)


@attrs.define
class Figures:
    calls: int = 0
    outcomes: collections.Counter[str] = attrs.field(factory=collections.Counter)
    slowest: float = 0.0
    slowest_answer: Answer | None = None

    def report(self, name: str, peak: int) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.outcomes.most_common())
        return (
            f"{name}: {self.calls} calls; outcomes: {kinds}; slowest call {self.slowest:.2f} s "
            f"({self.slowest_answer}); peak traced memory {peak / 2**20:.1f} MiB (cap {CAP / 2**20:.0f} MiB)"
        )


@pytest.mark.timeout(900)
def test_a_client_survives_any_answer_of_a_hostile_loopback_server(
    server: Server, client_class: type[Client] | type[AsyncClient], budget: Callable[[int], int]
) -> None:
    make = client_class
    figures = Figures()

    @given(answer=_answers, operation=st.sampled_from(["create", "list", "get", "delete"]))
    @example(answer=_typical(encoding="gzip-bomb"), operation="list")
    @example(answer=_typical(encoding="deflate-bomb", framing="chunked"), operation="get")
    @example(answer=_typical(framing="endless-chunked"), operation="list")
    @example(answer=_typical(informational=50, delivery="trickle"), operation="create")
    @example(answer=_typical(delivery="trickle", body=b"[" + b" " * 5000 + b"]"), operation="list")
    @example(answer=_typical(framing="long-length", delivery="then-hold"), operation="delete")
    @example(answer=_typical(framing="until-close", delivery="then-reset"), operation="list")
    @settings(
        max_examples=budget(60),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(answer: Answer, operation: str) -> None:
        server.answer = answer
        started = time.monotonic()
        outcome = "returned"
        try:
            if make is Client:
                with Client(
                    server.url,
                    session_id="existing-session",
                    timeout=TIMEOUT,
                    retry=RetryPolicy.never(),
                    max_response_bytes=CAP,
                ) as vc:
                    _sync_call(vc, operation)
            else:

                async def scenario() -> None:
                    async with AsyncClient(
                        server.url,
                        session_id="existing-session",
                        timeout=TIMEOUT,
                        retry=RetryPolicy.never(),
                        max_response_bytes=CAP,
                    ) as vc:
                        await _async_call(vc, operation)

                asyncio.run(scenario())
        except errors.VcenterGuestError as exc:
            outcome = type(exc).__name__
        took = time.monotonic() - started
        figures.calls += 1
        figures.outcomes[outcome] += 1
        if took > figures.slowest:
            figures.slowest, figures.slowest_answer = took, answer
        # One exchange, and the logout a client that did not create the session never sends.
        assert took < TIMEOUT + SLACK, f"{operation} took {took:.1f} s against {answer}"

    tracemalloc.start()
    try:
        check()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(figures.report(make.__name__, peak))
    assert peak < 4 * CAP + 16 * 1024 * 1024, figures.report(make.__name__, peak)
