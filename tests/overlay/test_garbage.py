"""Answers are freed when the client lets go of them, not left for the cyclic garbage collector.

httpx binds a streamed body to its Response in a reference cycle; left there, every answer with its
headers, request and transport objects waited for a collection, and in a fan-out those collections
took a fifth of the wall time (vcenter_guest/_clients/bounded.py, `unbind`). These tests count what
a collection finds after a burst of calls: before the fix, about 45 objects per call.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest
from vcenter_guest import AsyncClient, Client, Credentials
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_VM

from tests.conftest import MockServer

CALLS = 40
CREDS = Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)


@pytest.fixture
def url(make_loopback_server: Callable[..., MockServer]) -> str:
    """The root conftest's mock over loopback: what a collection finds comes from real answers."""
    return make_loopback_server().url


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("no_automatic_collection")
def test_the_sync_client_leaves_no_cycle_per_answer(url: str) -> None:
    with Client(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc:
        vc.processes.list(DEMO_VM, CREDS)  # the session and the connection, once
        gc.collect()
        for _ in range(CALLS):
            vc.processes.list(DEMO_VM, CREDS)
        found = gc.collect()
    assert found < CALLS, f"{found} objects in cycles after {CALLS} calls"


@pytest.mark.anyio
@pytest.mark.usefixtures("no_automatic_collection")
@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_the_async_client_leaves_no_cycle_per_answer(
    url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", "1" if backend == "aiohttp" else "0")
    async with AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc:
        await vc.processes.list(DEMO_VM, CREDS)
        gc.collect()
        for _ in range(CALLS):
            await vc.processes.list(DEMO_VM, CREDS)
        found = gc.collect()
    assert found < CALLS, f"{found} objects in cycles after {CALLS} calls"
