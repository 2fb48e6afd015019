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

With the aiohttp extra, under asyncio, the pools are aiohttp's instead (see aio): one pool, grown
by another when `run_many` needs more connections.
"""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import AsyncIterator

import httpx

from .deadline import bound

__all__ = ["SHARD_SIZE", "ShardedTransport", "backend"]

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


def backend() -> str:
    """The transport the client's own pools use here: "aiohttp" under asyncio with the aiohttp
    extra installed (see aio), unless VCENTER_GUEST_AIOHTTP=0; otherwise "httpx"."""
    if os.environ.get("VCENTER_GUEST_AIOHTTP", "").strip().lower() in {"0", "false", "no", "off"}:
        return "httpx"
    import sniffio  # noqa: PLC0415 - a dependency; loaded already by httpcore

    if sniffio.current_async_library() != "asyncio":
        return "httpx"  # aiohttp runs on asyncio only
    try:
        from . import aio  # noqa: F401, PLC0415 - aiohttp is imported only by a client that uses it
    except ImportError:
        return "httpx"
    return "aiohttp"


class ShardedTransport(httpx.AsyncBaseTransport):
    """`max_connections` connections in pools; each request goes to the least busy pool.

    The pools open at the first request, with the transport `backend()` says: httpx's own in pools
    of at most SHARD_SIZE, or aiohttp's (whose bookkeeping does not grow with the pool) in one.

    >>> transport = ShardedTransport(verify=True, max_connections=50)
    >>> transport.capacity, transport.pools
    (50, [])
    """

    def __init__(self, *, verify: bool | ssl.SSLContext, max_connections: int) -> None:
        self._verify = verify
        self._context: ssl.SSLContext | None = None
        self._wanted = max_connections
        self.backend: str | None = None
        """The transport of the pools ("httpx" or "aiohttp"); None until the first request."""
        self.pools: list[httpx.AsyncBaseTransport] = []
        self.sizes: list[int] = []
        self.busy: list[int] = []

    def open(self, kind: str) -> None:
        """Opens the pools with the transport `kind` ("httpx" or "aiohttp"), if they are not open."""
        if self.backend is None:
            self.backend = kind
            self._add(self._wanted)

    def _add(self, connections: int) -> None:
        if self._context is None:
            # One context for every pool: loading the CA bundle costs each new one 20-30 ms of CPU,
            # which 13 pools of httpx's transport (100 connections) paid on the first request.
            self._context = httpx.create_ssl_context(verify=self._verify)
        verify = self._context
        if self.backend == "aiohttp":
            from .aio import SafeAiohttpTransport  # noqa: PLC0415 - see backend()

            sizes = [connections]
        else:
            count = max(1, math.ceil(connections / SHARD_SIZE))
            sizes = [math.ceil(connections / count)] * count
        for size in sizes:
            if self.backend == "aiohttp":
                pool: httpx.AsyncBaseTransport = SafeAiohttpTransport(verify=verify, max_connections=size)
            else:
                limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
                pool = bound(httpx.AsyncHTTPTransport(verify=verify, limits=limits))
            self.pools.append(pool)
            self.sizes.append(size)
            self.busy.append(0)

    @property
    def capacity(self) -> int:
        """The connections the pools may hold in all."""
        return sum(self.sizes) if self.backend is not None else self._wanted

    def grow(self, connections: int) -> None:
        """Adds pools until they may hold `connections` in all (never shrinks)."""
        if self.backend is None:
            self._wanted = max(self._wanted, connections)
        elif connections > self.capacity:
            self._add(connections - self.capacity)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.backend is None:
            self.open(backend())
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
