"""The AsyncClient's sharded connection pool: bounded, balanced, and released when bodies close."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest
from vcenter_guest import AsyncClient
from vcenter_guest._clients.pool import SHARD_SIZE, ShardedTransport
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, serve


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve() as base:
        yield base


def test_the_pools_hold_max_connections_in_shards_of_at_most_shard_size() -> None:
    for total in (1, 7, 8, 9, 50, 100, 101):
        transport = ShardedTransport(verify=True, max_connections=total)
        sizes = [pool._pool._max_connections for pool in transport.pools]
        assert all(size <= SHARD_SIZE for size in sizes)
        assert total <= sum(sizes) < total + len(sizes), f"{total}: {sizes}"


@pytest.mark.anyio
async def test_concurrent_requests_are_spread_over_the_pools_and_released(url: str) -> None:
    transport = ShardedTransport(verify=True, max_connections=24)
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
async def test_an_async_client_without_a_transport_uses_the_sharded_pools(url: str) -> None:
    async with AsyncClient(url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, max_connections=20) as vc:
        transport = vc._http._transport
        assert isinstance(transport, ShardedTransport)
        assert len(transport.pools) == 3
    assert transport.busy == [0, 0, 0]


def test_grown_pools_hold_the_connections_asked_for_in_shards_of_at_most_shard_size() -> None:
    transport = ShardedTransport(verify=True, max_connections=100)
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
        assert vc._http._transport.capacity == 21  # 3 pools of 7: the bound the caller set
    assert "concurrency 50 is above max_connections 20" in caplog.text
