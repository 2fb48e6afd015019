"""The AsyncClient's connections through aiohttp (the `aiohttp` extra), under asyncio.

WHY: httpx's own transport parses HTTP in pure Python (httpcore, h11); aiohttp parses it in C. With
httpx-aiohttp's transport under `httpx.AsyncClient`, the same public API, models and errors cost
about 0.7x the client CPU per call, and `run_many` fans out 1.6-2.0x faster on this machine (the
figures and the command: README, "Results"). The client is the bottleneck of a fan-out, so that is
throughput.

Two things httpx-aiohttp (0.2.0) does not do that the client relies on, done here:

- **Whether the request was sent.** It maps `aiohttp.ClientConnectionError`, the base of
  `ServerDisconnectedError`, to `httpx.ConnectTimeout`, which says "not sent" (also noted in
  openai/openai-python#3594): a create whose connection dropped after it went out would be sent
  again and start its program twice. Here the class comes from the aiohttp exception itself, and
  only the ones aiohttp raises before writing the request (it could not connect, or the wait for a
  connection timed out) say "not sent"; any other, known or not, says "may have been sent".
- **The whole-exchange deadline** (see deadline): aiohttp's time-outs are per read, so a trickling
  server resets them with every byte. Here every phase gets at most what is left of the exchange's
  deadline, and the answer's body is read within it too; a transfer's deadline (a `Pace`) moves
  as its bytes do, and the scope that keeps it follows.

aiohttp runs only on asyncio: under trio, the client keeps httpx's own transport (see pool).
WHEN IT CAN GO: when httpx's own transport costs about what this one does (compare them with
`nox -s bench -- --only percall`), or when httpx-aiohttp maps its errors by phase and bounds an
exchange; tests/overlay/test_aiohttp.py says what must hold.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import anyio
import httpx
from httpx_aiohttp import AiohttpTransport

from .deadline import DEADLINE, Pace, ends

__all__ = ["SafeAiohttpTransport", "translated"]


def translated(error: BaseException) -> httpx.TransportError:
    """httpx's exception for an aiohttp failure, chosen by what aiohttp knew when it failed; the
    aiohttp exception is its `__cause__`. Only a failure before the request was written (aiohttp
    could not connect, or gave up waiting for a connection) says "not sent"; anything else fails
    closed, as "the server may have acted on it"."""
    cls: type[httpx.TransportError]
    if isinstance(error, aiohttp.ClientProxyConnectionError):
        cls = httpx.ProxyError
    elif isinstance(error, aiohttp.ClientConnectorError):  # DNS, refused, TLS handshake, certificate
        cls = httpx.ConnectError
    elif isinstance(error, aiohttp.ConnectionTimeoutError):  # the wait for a connection, or connecting
        cls = httpx.ConnectTimeout
    elif isinstance(error, aiohttp.InvalidURL):
        cls = httpx.UnsupportedProtocol
    elif isinstance(error, TimeoutError):  # a read (aiohttp.SocketTimeoutError), or anything else timed
        cls = httpx.ReadTimeout
    elif isinstance(error, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        cls = httpx.ReadError
    else:  # ServerDisconnectedError, an answer aiohttp cannot parse, anything unforeseen
        cls = httpx.RemoteProtocolError
    try:
        text = str(error)
    except Exception:
        text = ""
    mapped = cls(text or type(error).__name__)
    mapped.__cause__ = error
    return mapped


_AIOHTTP_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)


@contextlib.contextmanager
def _aiohttp_errors() -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError as exc:
        # httpx-aiohttp's own mapping, replaced by one made from the aiohttp exception behind it.
        cause = exc.__cause__
        if isinstance(cause, _AIOHTTP_ERRORS):
            # `from cause`, not `from None`: that would blank the __cause__ translated() sets, and
            # tracebacks would lose the aiohttp exception (httpx-aiohttp's mapping stays hidden).
            raise translated(cause) from cause
        raise
    except _AIOHTTP_ERRORS as exc:  # what httpx-aiohttp lets through unmapped
        raise translated(exc) from exc


def _left() -> float | None:
    """Seconds left of the exchange's deadline, or of a transfer's current window (None: no deadline)."""
    deadline = DEADLINE.get()
    return None if deadline is None else ends(deadline) - time.monotonic()


class _Body(httpx.AsyncByteStream):
    """An answer's body read through aiohttp: errors translated, each read within the deadline."""

    def __init__(self, inner: httpx.AsyncByteStream, deadline: float | Pace | None) -> None:
        self._inner = inner
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            with _aiohttp_errors():
                if self._deadline is None:
                    chunk = await anext(chunks, None)
                else:
                    with anyio.move_on_after(ends(self._deadline) - time.monotonic()) as scope:
                        chunk = await anext(chunks, None)
                    if scope.cancelled_caught:
                        raise httpx.ReadTimeout("the exchange did not end within the client's timeout (body cut off)")
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        with _aiohttp_errors():
            await self._inner.aclose()


class SafeAiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport with errors that say whether the request was sent, and the
    exchange's deadline kept (see the module's WHY).

    >>> SafeAiohttpTransport(verify=True, max_connections=8).limits.max_connections
    8
    """

    def __init__(self, *, verify: bool | ssl.SSLContext, max_connections: int) -> None:
        # trust_env=False: no proxy from the environment (the CA bundle is in `verify`, the pool's
        # one context: see pool), as with httpx's transport here.
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        super().__init__(verify=verify, trust_env=False, limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        left = _left()
        if left is None:
            with _aiohttp_errors():
                response = await super().handle_async_request(request)
            return self._answer(response, None)
        if left <= 0:
            raise httpx.PoolTimeout("the exchange's time was up before the request was sent")
        # No phase may outlast the deadline: aiohttp's connect time-out then fires first while
        # connecting (and says "not sent"); the scope below ends whatever phase comes after.
        timeouts: dict[str, Any] = dict(request.extensions.get("timeout", {}))
        request.extensions["timeout"] = {k: left if v is None else min(v, left) for k, v in timeouts.items()}
        deadline = DEADLINE.get()
        assert deadline is not None
        unwatch = None
        with anyio.move_on_after(left) as scope, _aiohttp_errors():
            if isinstance(deadline, Pace):
                # An upload's pieces move its deadline on (aiohttp sends them from a task of its own).
                def follow(ends: float) -> None:
                    scope.deadline = anyio.current_time() + ends - time.monotonic()

                unwatch = deadline.watch(follow)
            try:
                response = await super().handle_async_request(request)
            finally:
                if unwatch is not None:
                    unwatch()
        if scope.cancelled_caught:
            raise httpx.ReadTimeout("the exchange did not end within the client's timeout (answer cut off)")
        return self._answer(response, deadline)

    @staticmethod
    def _answer(response: httpx.Response, deadline: float | Pace | None) -> httpx.Response:
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream, deadline)
        return response
