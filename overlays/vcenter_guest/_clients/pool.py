"""The AsyncClient's connections, split into small pools.

WHY: on every request and every release, httpcore's connection pool re-examines each of its
connections and, for each one, counts the idle ones again
(`AsyncConnectionPool._assign_requests_to_connections`, encode/httpcore#1035): work quadratic in
the pool size. With the 50 connections `run_many(concurrency=50)` keeps open, that bookkeeping was
about half of the client's CPU (about 5 ms per request, against about 1 ms with a few
connections). Several small pools holding the same connections in total, each request going to the
least busy one, do the same job with a fraction of the bookkeeping.
WHEN IT CAN GO: when httpcore's pool does constant (or linear) work per request; then give
`httpx.AsyncClient` its `limits` directly again (tests/overlay/test_pool.py says what must hold).
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator

import httpx

from .deadline import bound

__all__ = ["SHARD_SIZE", "ShardedTransport"]

SHARD_SIZE = 8
"""Connections per pool: small enough that a pool's bookkeeping stays cheap."""


class _Released(httpx.AsyncByteStream):
    """A response body that tells its pool's counter when it is closed (the connection is free again)."""

    def __init__(self, stream: httpx.AsyncByteStream, release: ShardedTransport, index: int) -> None:
        self._stream = stream
        self._release = release
        self._index = index
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._open:
                self._open = False
                self._release.busy[self._index] -= 1


class ShardedTransport(httpx.AsyncBaseTransport):
    """`max_connections` connections in pools of at most SHARD_SIZE; each request goes to the least busy pool.

    >>> transport = ShardedTransport(verify=True, max_connections=50)
    >>> len(transport.pools)
    7
    """

    def __init__(self, *, verify: bool | ssl.SSLContext, max_connections: int) -> None:
        count = max(1, math.ceil(max_connections / SHARD_SIZE))
        size = math.ceil(max_connections / count)
        self._verify = verify
        self.pools = [self._pool(size) for _ in range(count)]
        self.sizes = [size] * count
        self.busy = [0] * count

    def _pool(self, size: int) -> httpx.AsyncHTTPTransport:
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        return bound(httpx.AsyncHTTPTransport(verify=self._verify, limits=limits))

    @property
    def capacity(self) -> int:
        """The connections the pools may hold in all."""
        return sum(self.sizes)

    def grow(self, connections: int) -> None:
        """Adds pools until they may hold `connections` in all (never shrinks)."""
        while self.capacity < connections:
            size = min(SHARD_SIZE, connections - self.capacity)
            self.pools.append(self._pool(size))
            self.sizes.append(size)
            self.busy.append(0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        busy = self.busy
        index = busy.index(min(busy))
        busy[index] += 1
        try:
            response = await self.pools[index].handle_async_request(request)
        except BaseException:
            busy[index] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Released(response.stream, self, index),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()
