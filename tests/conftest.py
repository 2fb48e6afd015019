"""The fixtures every folder of the tests shares: a home of each test's own, a fake clock, an event-loop
portal, a loopback server, and the mock vCenter reached every way a client reaches a server.

`make_server(inventory=None, *, clock=None, **create_app_options)` builds a mock vCenter (the demo
inventory unless given one) and a test that asks for it runs once per way to reach it: the ASGI
app in this process (through an httpx transport), the same app served by uvicorn on 127.0.0.1, and
for an async test also over loopback through httpx's own transport ("loopback-httpx") beside the
AsyncClient's default one (aiohttp, with the aiohttp extra). `server` is `make_server()`.

Folder conftests add only what their folder needs on top: Ctrl-C and cancellation stand-ins
(tests/overlay), the mock's request helper that checks each answer against the document
(tests/mock), the parsed document (tests/spec), example budgets (tests/property).
"""

from __future__ import annotations

import copy
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import httpx
import pytest
from vcenter_guest import AsyncClient, Client, Credentials, RetryPolicy
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

KEPT_SETTINGS = frozenset({"VCENTER_GUEST_FUZZ_SCALE"})
"""The one `VCENTER_*` variable a test sees: set by `nox -s fuzz` for the tests themselves (their budget)."""

_HOME_VARIABLES = {
    "HOME": "",  # Path.home(), and platformdirs on macOS (~/Library/...)
    "USERPROFILE": "",  # Path.home() on Windows
    "XDG_CONFIG_HOME": ".config",  # platformdirs on Linux and the BSDs (macOS too, when set)
    "XDG_CACHE_HOME": ".cache",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
    "APPDATA": "AppData/Roaming",  # a Windows program's own lookups
    "LOCALAPPDATA": "AppData/Local",
    "WIN_PD_OVERRIDE_APPDATA": "AppData/Roaming",  # platformdirs on Windows (it asks the shell otherwise)
    "WIN_PD_OVERRIDE_LOCAL_APPDATA": "AppData/Local",
}


@pytest.fixture(autouse=True)
def isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test (and every process it starts, which inherits the environment) runs as a user with
    no settings: a home, config and cache directories of its own, and no `VCENTER_*` variable. The
    README recommends a default profile and an exported VCENTER_USER; a test must see neither."""
    for name in [n for n in os.environ if n.startswith("VCENTER_") and n not in KEPT_SETTINGS]:
        monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    for name, below in _HOME_VARIABLES.items():
        monkeypatch.setenv(name, str(home / below) if below else str(home))
    return home


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


def _mock(
    mode: str, portal: anyio.from_thread.BlockingPortal, loopback: Callable[[Any], str] | None
) -> Callable[..., MockServer]:
    def make(inventory: Any = None, *, clock: Callable[[], float] | None = None, **app_options: Any) -> MockServer:
        app = create_app(inventory, clock=clock, **app_options)
        url = loopback(app) if loopback is not None and mode == "loopback" else "http://mock.test"
        return MockServer(app, url, mode, portal)

    return make


@pytest.fixture
def make_server(
    mock_mode: str, portal: anyio.from_thread.BlockingPortal, loopback: Callable[[Any], str]
) -> Callable[..., MockServer]:
    """make_server(inventory=None, *, clock=None, **create_app_options): a mock vCenter (demo inventory
    unless told) reachable the parametrized way (in process, over loopback, over loopback via httpx)."""
    return _mock(mock_mode, portal, loopback)


@pytest.fixture
def make_in_process_server(portal: anyio.from_thread.BlockingPortal) -> Callable[..., MockServer]:
    """make_server's mock in this process only: for tests that wrap its app or transport, or count
    its exchanges, where a real socket would add nothing they check."""
    return _mock("in-process", portal, None)


@pytest.fixture
def make_loopback_server(
    portal: anyio.from_thread.BlockingPortal, loopback: Callable[[Any], str]
) -> Callable[..., MockServer]:
    """make_server's mock over loopback only: for tests that need a real socket (a data plane of their
    own, a transport that must connect)."""
    return _mock("loopback", portal, loopback)


@pytest.fixture
def in_process_server(make_in_process_server: Callable[..., MockServer]) -> MockServer:
    """The demo mock in this process only (for tests that wrap its transport)."""
    return make_in_process_server()


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
    return copy.deepcopy(DEMO_INVENTORY)
