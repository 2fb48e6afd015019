"""The AsyncClient's aiohttp connections (vcenter_guest/_clients/aio.py): chosen only where they work,
and never saying "not sent" of a request that may have gone out.

The rest of the overlay suite runs its loopback async tests once per transport (tests/overlay/
conftest.py), and the hostile-server tests do too (tests/property/test_hostile_*.py).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from vcenter_guest import AsyncClient, CreateSpec, Credentials, RetryPolicy, errors
from vcenter_guest._clients.pool import ShardedTransport, backend
from vcenter_guest._failures import transport_error

from tests.conftest import MockServer

aiohttp = pytest.importorskip("aiohttp", reason="the aiohttp extra is not installed")
aio = pytest.importorskip("vcenter_guest._clients.aio")

CREDS = Credentials.password("root", "guest-secret")


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance of an aiohttp exception class, whatever its constructor wants."""
    from unittest import mock

    key = mock.Mock(host="esxi-1.lab", port=443, ssl=True)
    refused, gone = OSError(111, "refused"), OSError(2, "gone")
    shapes = ((), ("boom",), (key, refused), ("/run/vc.sock", key, gone), (mock.Mock(), ()))
    for args in shapes:
        try:
            return cls(*args)
        except Exception:
            continue
    return cls.__new__(cls)


NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, aiohttp.InvalidURL)
"""The aiohttp exceptions raised before a request is written: could not connect, no connection in
time, a URL it cannot send to."""


@pytest.mark.parametrize(
    "cls", sorted({*_subclasses(aiohttp.ClientError), TimeoutError, OSError}, key=lambda c: c.__qualname__)
)
def test_only_an_aiohttp_failure_before_sending_says_not_sent(cls: type[BaseException]) -> None:
    """Every exception class aiohttp has (and the builtin ones it lets through): the error the client
    raises says "not sent", which lets a create be sent again, only for the classes aiohttp raises
    before the request was written; every other one, today's and any aiohttp adds, says "may have
    reached the server" (fail closed). httpx-aiohttp's own mapping fails this for
    ServerDisconnectedError, which it calls a ConnectTimeout."""
    mapped = aio.translated(_instance(cls))
    assert isinstance(mapped, httpx.TransportError)
    error = transport_error(
        mapped, where="processes.create on vm-42", operation="processes.create", vm="vm-42", server="http://vc.test"
    )
    if issubclass(cls, NOT_SENT):
        assert isinstance(error, errors.RequestNotSent), (cls, mapped)
    else:
        assert isinstance(error, errors.ResponseNotReceived), (cls, mapped)
        assert error.may_have_reached_server


@pytest.fixture
def drops_creates() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server that answers a login, and reads each create whole and hangs up without answering."""
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head = data.partition(b"\r\n\r\n")[0]
                length = next(
                    (
                        int(v)
                        for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
                        if k.strip().lower() == b"content-length"
                    ),
                    0,
                )
                body = data.partition(b"\r\n\r\n")[2]
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                seen.append(head.split(b"\r\n")[0])
                if b"action=create" not in head.split(b"\r\n")[0]:
                    conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", seen
    done.set()
    server.close()


@pytest.mark.parametrize("kind", ["httpx", "aiohttp"])
def test_a_create_whose_connection_drops_after_sending_is_sent_once(
    drops_creates: tuple[str, list[bytes]], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server read the create, then hung up: the program may be running, so the client says so
    and never sends the create again, whichever transport carries it."""
    url, seen = drops_creates
    monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", "1" if kind == "aiohttp" else "0")

    async def scenario() -> ShardedTransport:
        retry = RetryPolicy(attempts=5, initial=0.001, jitter=0)
        async with AsyncClient(url, session_id="existing-session", timeout=5, retry=retry) as vc:
            with pytest.raises(errors.ResponseNotReceived) as caught:
                await vc.processes.create("vm-42", CREDS, CreateSpec(path="/bin/true"))
            assert caught.value.may_have_reached_server
            transport = vc._http._transport
            assert isinstance(transport, ShardedTransport)
            return transport

    transport = asyncio.run(scenario())
    assert transport.backend == kind
    assert len([line for line in seen if b"action=create" in line]) == 1, seen


def test_the_backend_is_aiohttp_under_asyncio_httpx_under_trio_or_when_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def chosen() -> str:
        return backend()

    monkeypatch.delenv("VCENTER_GUEST_AIOHTTP", raising=False)
    assert anyio.run(chosen, backend="asyncio") == "aiohttp"
    pytest.importorskip("trio")
    assert anyio.run(chosen, backend="trio") == "httpx"  # aiohttp needs asyncio
    for off in ("0", "false", "no", "OFF"):
        monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", off)
        assert anyio.run(chosen, backend="asyncio") == "httpx"


def test_a_client_that_never_sent_a_request_imports_no_aiohttp() -> None:
    """`import vcenter_guest` and building an AsyncClient stay as cheap as before: aiohttp is loaded
    by the first request of a client that uses it."""
    import subprocess
    import sys

    code = (
        "import sys, vcenter_guest\n"
        "vcenter_guest.AsyncClient('https://vc.test', session_id='s')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'aiohttp', 'httpx_aiohttp'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_under_trio_the_client_runs_through_httpx_transport(make_loopback_server: Callable[..., MockServer]) -> None:
    """aiohttp needs asyncio: under trio the same client, installed the same way, keeps httpx's
    transport and works."""
    pytest.importorskip("trio")
    from vcenter_guest.mock import (
        DEMO_API_PASSWORD,
        DEMO_API_USER,
        DEMO_GUEST_PASSWORD,
        DEMO_GUEST_USER,
        DEMO_VM,
    )

    async def scenario(url: str) -> tuple[str | None, int, bytes]:
        creds = Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)
        async with AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc:
            result = await vc.processes.run(DEMO_VM, creds, "/bin/echo", "hi", timeout=30)
            transport = vc._http._transport
            assert isinstance(transport, ShardedTransport)
            return transport.backend, result.exit_code, result.stdout

    assert anyio.run(scenario, make_loopback_server().url, backend="trio") == ("httpx", 0, b"hi\n")


@pytest.mark.parametrize("direction", ["download", "upload"])
def test_a_cancellation_stops_a_transfer_whose_data_is_always_ready(
    tmp_path: Any, direction: str, make_loopback_server: Callable[..., MockServer]
) -> None:
    """Ctrl-C in the CLI cancels from another task; on loopback a transfer's reads and writes may find
    their data ready and never wait, and anyio delivers a cancellation only to a waiting task (a
    300 MB download through aiohttp ran to its end). The transfer must stop at the next piece."""
    from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_VM

    size = 48 << 20
    guest = Credentials.password("root", DEMO_GUEST_PASSWORD)
    local = tmp_path / "local.bin"
    moved: list[int] = []

    async def transfer(url: str) -> bool:
        async with AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc:
            if direction == "download":
                await vc.files.upload(DEMO_VM, guest, bytes(size), "/tmp/big.bin")
            with anyio.CancelScope() as scope:

                def progress(count: int) -> None:
                    moved.append(count)
                    scope.cancel()  # as the CLI's signal task does, while the data keeps coming

                if direction == "download":
                    await vc.files.download(DEMO_VM, guest, "/tmp/big.bin", local, progress=progress)
                else:
                    await vc.files.upload(DEMO_VM, guest, bytes(size), "/tmp/up.bin", progress=progress)
            with pytest.raises(errors.NotFound):
                await vc.files.stat(DEMO_VM, guest, "/tmp/up.bin" if direction == "upload" else "/tmp/none")
            return scope.cancelled_caught

    assert anyio.run(transfer, make_loopback_server().url)
    assert sum(moved) < size
    assert not local.exists()
