"""Fixtures of the overlay tests: the mock vCenter in process and over loopback (the clock: tests/conftest.py).

`mock_server` is parametrized: each test that uses it runs once against the ASGI app in this
process (through an httpx transport) and once against the same app served by uvicorn on
127.0.0.1, so the client is checked both without and with a real socket in between.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest
from vcenter_guest import AsyncClient, Client, Credentials, RetryPolicy, errors
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_INVENTORY,
    Simulator,
    create_app,
)

# Retries that do not slow the tests down, but still go through the whole retry machinery.
FAST_RETRY = RetryPolicy(attempts=3, timeout=10, initial=0.001, maximum=0.005, jitter=0.0)


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt (which pytest itself would act on)."""


class Interruptions:
    """A client's `sleep=` that can stop a run at its first wait: with Interrupt (Ctrl-C) or by
    cancelling the run's task. `ending(run, how)` runs a call one way and names how it ended."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._interrupt = False
        self._cancel: anyio.CancelScope | None = None

    async def sleep(self, seconds: float) -> None:
        if self._interrupt:
            self._interrupt = False
            raise Interrupt
        if self._cancel is not None:
            scope, self._cancel = self._cancel, None
            scope.cancel()
        await self._clock.async_sleep(seconds)

    async def ending(self, run: Callable[[], Any], how: str = "plain") -> str:
        """ "returned", the error's class name, "interrupted" (how="ctrl-c") or "cancelled" (how="cancel")."""
        try:
            if how == "cancel":
                with anyio.CancelScope() as scope:
                    self._cancel = scope
                    await run()
                return "cancelled" if scope.cancelled_caught else "not cancelled"
            self._interrupt = how == "ctrl-c"
            await run()
        except Interrupt:
            return "interrupted"
        except errors.VcenterGuestError as exc:
            return type(exc).__name__
        return "returned"


class SyncASGITransport(httpx.BaseTransport):
    """Lets the sync Client talk to an ASGI app in this process (httpx only ships an async one)."""

    def __init__(self, app: Any, portal: anyio.from_thread.BlockingPortal) -> None:
        self._inner = httpx.ASGITransport(app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A streamed body (an upload) is a sync iterator here: read it on this side.
        inner = httpx.Request(request.method, request.url, headers=request.headers, content=request.read())

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(inner)
            body = await response.aread()
            return response.status_code, response.headers.raw, body

        status, headers, body = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=body, request=request)


class MockServer:
    """One mock vCenter and how to reach it: `url` plus a transport (None over loopback)."""

    def __init__(self, app: Any, url: str, mode: str, portal: anyio.from_thread.BlockingPortal) -> None:
        self.app = app
        self.url = url
        self.mode = mode
        self._portal = portal

    @property
    def simulator(self) -> Simulator:
        simulator: Simulator = self.app.state.simulator
        return simulator

    def sync_transport(self) -> httpx.BaseTransport | None:
        return SyncASGITransport(self.app, self._portal) if self.mode == "in-process" else None

    def async_transport(self) -> httpx.AsyncBaseTransport | None:
        return httpx.ASGITransport(self.app) if self.mode == "in-process" else None

    def client(self, **options: Any) -> Client:
        options.setdefault("user", DEMO_API_USER)
        options.setdefault("password", DEMO_API_PASSWORD)
        options.setdefault("retry", FAST_RETRY)
        return Client(self.url, transport=self.sync_transport(), **options)

    def async_client(self, **options: Any) -> AsyncClient:
        options.setdefault("user", DEMO_API_USER)
        options.setdefault("password", DEMO_API_PASSWORD)
        options.setdefault("retry", FAST_RETRY)
        return AsyncClient(self.url, transport=self.async_transport(), **options)

    def session_count(self) -> int:
        return len(self.simulator._sessions)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test of the mock runs in process and over loopback; an async one twice over loopback:
    through the AsyncClient's default transport (aiohttp, with the aiohttp extra) and through
    httpx's own ("loopback-httpx", VCENTER_GUEST_AIOHTTP=0)."""
    if "mock_mode" in metafunc.fixturenames:
        modes = ["in-process", "loopback"]
        if inspect.iscoroutinefunction(metafunc.function):
            modes.append("loopback-httpx")
        metafunc.parametrize("mock_mode", modes, indirect=True)


@pytest.fixture
def mock_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    mode: str = request.param
    if mode == "loopback-httpx":
        monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", "0")
        return "loopback"
    return mode


@pytest.fixture
def make_server(
    mock_mode: str, portal: anyio.from_thread.BlockingPortal, loopback: Callable[[Any], str]
) -> Callable[..., MockServer]:
    """Builds a mock vCenter (demo inventory unless told) reachable the parametrized way."""

    def make(inventory: Any = None, *, clock: Callable[[], float] | None = None, **app_options: Any) -> MockServer:
        app = create_app(inventory, clock=clock, **app_options)
        url = loopback(app) if mock_mode == "loopback" else "http://mock.test"
        return MockServer(app, url, mock_mode, portal)

    return make


@pytest.fixture
def in_process_server(portal: anyio.from_thread.BlockingPortal) -> MockServer:
    """The demo mock in this process only (for tests that wrap its transport)."""
    return MockServer(create_app(), "http://mock.test", "in-process", portal)


@pytest.fixture
def server(make_server: Callable[..., MockServer]) -> MockServer:
    """The demo mock vCenter."""
    return make_server()


@pytest.fixture
def guest() -> Credentials:
    """The demo guest credentials (root)."""
    return Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)


@pytest.fixture
def demo_inventory() -> dict[str, Any]:
    """A deep copy of the demo inventory, for tests that change it."""
    import copy

    return copy.deepcopy(DEMO_INVENTORY)
