"""The AsyncClient's sharded connection pool: bounded, balanced, and released when bodies close."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import anyio
import httpx
import pytest
from vcenter_guest import AsyncClient
from vcenter_guest._clients.pool import SHARD_SIZE, ShardedTransport
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER

from tests.conftest import MockServer


@pytest.fixture
def url(make_loopback_server: Callable[..., MockServer]) -> str:
    """The root conftest's mock over loopback: the pools hold real connections."""
    return make_loopback_server().url


def test_the_pools_hold_max_connections_in_shards_of_at_most_shard_size() -> None:
    for total in (1, 7, 8, 9, 50, 100, 101):
        transport = ShardedTransport(verify=True, max_connections=total)
        assert (transport.capacity, transport.pools) == (total, []), "no pool before the first request"
        transport.open("httpx")
        sizes = [pool._pool._max_connections for pool in transport.pools]
        assert all(size <= SHARD_SIZE for size in sizes)
        assert total <= sum(sizes) < total + len(sizes), f"{total}: {sizes}"


@pytest.mark.anyio
async def test_concurrent_requests_are_spread_over_the_pools_and_released(url: str) -> None:
    transport = ShardedTransport(verify=True, max_connections=24)
    transport.open("httpx")
    peak = [0] * len(transport.pools)
    inner = transport.handle_async_request

    async def watching(request: httpx.Request) -> httpx.Response:
        response = await inner(request)
        peak[:] = [max(p, b) for p, b in zip(peak, transport.busy, strict=True)]
        return response

    transport.handle_async_request = watching  # type: ignore[method-assign]
    async with httpx.AsyncClient(transport=transport, base_url=url) as http:

        async def one() -> None:
            response = await http.get("/api/session")
            assert response.status_code == 401

        async with anyio.create_task_group() as group:
            for _ in range(60):
                group.start_soon(one)
    assert all(p > 0 for p in peak), f"every pool must take requests: {peak}"
    assert transport.busy == [0] * len(transport.pools), "every response body was closed, so nothing is busy"


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "pools"), [("httpx", 3), ("aiohttp", 1)])
async def test_an_async_client_without_a_transport_uses_the_sharded_pools(
    url: str, kind: str, pools: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx's pools in shards of at most SHARD_SIZE; aiohttp's (no per-connection bookkeeping) in one."""
    if kind == "aiohttp":
        pytest.importorskip("httpx_aiohttp", reason="the aiohttp extra is not installed")
    monkeypatch.setenv("VCENTER_GUEST_AIOHTTP", "1" if kind == "aiohttp" else "0")
    async with AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, max_connections=20) as vc:
        transport = vc._http._transport
        assert isinstance(transport, ShardedTransport)
        assert (transport.backend, len(transport.pools), transport.capacity) == (kind, pools, 20 if pools == 1 else 21)
    assert transport.busy == [0] * pools


def test_aiohttp_pools_grow_by_one_pool_of_what_is_missing() -> None:
    pytest.importorskip("httpx_aiohttp", reason="the aiohttp extra is not installed")
    transport = ShardedTransport(verify=True, max_connections=100)
    transport.grow(150)  # before the first request: the pools open at the larger size
    transport.open("aiohttp")
    assert transport.sizes == [150]
    transport.grow(100)
    transport.grow(203)
    assert transport.sizes == [150, 53]
    assert transport.busy == [0, 0]


def test_grown_pools_hold_the_connections_asked_for_in_shards_of_at_most_shard_size() -> None:
    transport = ShardedTransport(verify=True, max_connections=100)
    transport.open("httpx")
    transport.grow(50)  # never shrinks
    assert transport.capacity == sum(pool._pool._max_connections for pool in transport.pools) >= 100
    transport.grow(203)
    sizes = [pool._pool._max_connections for pool in transport.pools]
    assert sum(sizes) == transport.capacity >= 203
    assert all(size <= SHARD_SIZE for size in sizes)
    assert len(transport.busy) == len(transport.pools)


@pytest.mark.anyio
async def test_run_many_sizes_the_pools_to_its_concurrency_unless_max_connections_was_given(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from vcenter_guest import Credentials
    from vcenter_guest.mock import DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_VM

    creds = Credentials.password(DEMO_GUEST_USER, DEMO_GUEST_PASSWORD)
    async with AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD) as vc:
        await vc.processes.run_many([DEMO_VM], creds, "/bin/true", concurrency=200, capture=False)
        assert vc._http._transport.capacity >= 200
    async with AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, max_connections=20) as vc:
        await vc.processes.run_many([DEMO_VM], creds, "/bin/true", concurrency=50, capture=False)
        assert 20 <= vc._http._transport.capacity < 50  # the bound the caller set (3 pools of 7, or one of 20)
    assert "concurrency 50 is above max_connections 20" in caplog.text


@pytest.mark.parametrize("kind", ["httpx", "aiohttp"])
def test_all_pools_grown_or_not_load_the_ca_bundle_once(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CAs costs a new SSL context 20-30 ms of CPU: 13 of them delayed the first request."""
    if kind == "aiohttp":
        pytest.importorskip("httpx_aiohttp", reason="the aiohttp extra is not installed")
    loads: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(args or kwargs)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    transport = ShardedTransport(verify=True, max_connections=100)
    transport.open(kind)
    transport.grow(203)
    assert len(transport.pools) > 1
    assert len(loads) == 1, loads
