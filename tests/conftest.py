"""The fixtures every folder of the tests shares: a home of each test's own, a fake clock, an event-loop
portal, a loopback server.

Folder conftests add only what their folder needs on top: the overlay's mock servers reached in
process or over loopback (tests/overlay), the mock's request helper that checks each answer against
the document (tests/mock), the parsed document (tests/spec), example budgets (tests/property).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import pytest

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
