"""The fixtures every folder of the tests shares: a fake clock, an event-loop portal, a loopback server.

Folder conftests add only what their folder needs on top: the overlay's mock servers reached in
process or over loopback (tests/overlay), the mock's request helper that checks each answer against
the document (tests/mock), the parsed document (tests/spec), example budgets (tests/property).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import pytest


class FakeClock:
    """Monotonic time that moves only when something sleeps on it (a client) or a test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()


@pytest.fixture(scope="session")
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    """An event loop in a thread, for calling ASGI apps in process from synchronous tests."""
    with anyio.from_thread.start_blocking_portal() as blocking_portal:
        yield blocking_portal


class _Switch:
    """An ASGI app forwarding to whichever app the current test set: one uvicorn serves every test."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


@pytest.fixture(scope="session")
def _loopback_server() -> Iterator[tuple[_Switch, str]]:
    from vcenter_guest.mock import serve

    switch = _Switch()
    with serve(app=switch) as url:
        yield switch, url


@pytest.fixture
def loopback(request: pytest.FixtureRequest) -> Callable[[Any], str]:
    """loopback(app) -> the URL at which `app` is served over a real socket (uvicorn on 127.0.0.1)."""

    def serve_app(app: Any) -> str:
        switch, url = request.getfixturevalue("_loopback_server")
        switch.target = app
        return str(url)

    return serve_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", "async", "async-httpx"])
def client_class(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """`Client`; `AsyncClient` through its default transport (aiohttp, with the aiohttp extra); or
    `AsyncClient` through httpx's own (VCENTER_GUEST_AIOHTTP=0): a test of both clients runs for each."""
    from vcenter_guest import AsyncClient, Client

    if request.param == "async-httpx":
        monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", "0")
    else:
        monkeypatch.delenv("VCENTER_GUEST_AIOHTTP", raising=False)
    return Client if request.param == "sync" else AsyncClient
