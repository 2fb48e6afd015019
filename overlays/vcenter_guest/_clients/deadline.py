"""Deadlines for whole HTTP exchanges, kept at the socket: the client's `timeout` bounds connect, send,
headers and body together, whatever the server trickles.

WHY: httpx's time-outs apply to each network operation: a server that sends one byte a second, or a
`102 Processing` every second, resets them with every byte and keeps a call alive for as long as it
likes (a create with timeout=2 took 12 s, a get 24 s). httpcore reads and writes through a
"network backend" object; wrapping it lets every read, write, connect and TLS handshake of an
exchange wait no longer than what is left of that exchange's deadline, and fail with httpcore's own
time-out errors (which httpx turns into `httpx.ReadTimeout` and so on) once it has passed.

The deadline of the exchange in progress is a context variable, set by the client around one
`send` and the reading of its body: a thread (sync client) or a task (async client) has its own,
and a connection serves one exchange at a time. With no deadline set, the wrappers do nothing.

A transfer (the GET or PUT of a file, of any size) cannot end within one `timeout`: its deadline
is a `Pace`, which moves as its bytes do (see there), read by the same wrappers.

httpx has no parameter for the network backend of its transports (httpcore's pools have one:
`network_backend=`); `bound` replaces the backend of an `httpx.HTTPTransport` or
`httpx.AsyncHTTPTransport` pool in place. WHEN IT CAN GO: when httpx lets a transport take a
network backend, or bounds a whole exchange itself. tests/property/test_hostile_server.py (trickles,
1xx floods) fails if the wrapping stops working.
"""

from __future__ import annotations

import contextvars
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["DEADLINE", "WINDOW", "Pace", "begin", "bound", "ends"]

WINDOW = 64 * 1024
"""The bytes a transfer must move within each `timeout` (see Pace)."""


class Pace:
    """The deadline of one transfer, kept as its bytes move.

    The rule: a transfer must move WINDOW (64 KiB) bytes within `timeout` seconds of its start, and
    each next WINDOW within `timeout` of the previous one (its end, the answer's last bytes, within
    `timeout` of the last WINDOW); with `limit`, it also ends within `limit` seconds of its start,
    however fast it moves (`run`'s own deadline). So no transfer waits longer than `timeout` for
    anything, a trickling server cannot extend it (a byte every second moves nothing in these
    terms: a 64 KiB window never fills), and a transfer of N bytes ends within `timeout` x (1 +
    N / 64 KiB) at worst: the rate it needs is 64 KiB per `timeout` (about 2 KiB/s for 30 s).
    Bytes are counted by the client as they pass: raw network bytes read, pieces of an upload sent.
    """

    __slots__ = ("_since", "_timeout", "_until", "_watchers", "ends")

    def __init__(self, timeout: float | None, limit: float | None) -> None:
        now = time.monotonic()
        self._timeout = timeout
        self._until = None if limit is None else now + limit
        self._since = 0
        self._watchers: list[Callable[[float], object]] = []
        self.ends = self._from(now)
        """`time.monotonic()` by which the transfer must have moved its next WINDOW (or ended)."""

    @classmethod
    def of(cls, timeout: float | None, limit: float | None) -> Pace | None:
        """The pace of a transfer, or None when there is neither a `timeout` nor a `limit`."""
        return None if timeout is None and limit is None else cls(timeout, limit)

    def _from(self, now: float) -> float:
        if self._timeout is None:
            assert self._until is not None
            return self._until
        ends = now + self._timeout
        return ends if self._until is None or ends < self._until else self._until

    def moved(self, count: int) -> None:
        """`count` more bytes moved: a WINDOW filled gives the transfer another `timeout` from now."""
        self._since += count
        if self._since >= WINDOW:
            self._since = 0
            self.ends = self._from(time.monotonic())
            for watcher in self._watchers:
                watcher(self.ends)

    def watch(self, watcher: Callable[[float], object]) -> Callable[[], None]:
        """Calls `watcher(ends)` whenever the deadline moves (aiohttp's scopes); returns the unwatch."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher)


DEADLINE: contextvars.ContextVar[float | Pace | None] = contextvars.ContextVar("vcenter_guest_deadline", default=None)
"""`time.monotonic()` by which the exchange in progress must end, the `Pace` of a transfer, or None."""


def ends(deadline: float | Pace) -> float:
    """The `time.monotonic()` by which the exchange or transfer in progress must end (or move on)."""
    return deadline if type(deadline) is float else deadline.ends  # type: ignore[union-attr]


TransportT = TypeVar("TransportT")

# Bytes written per call to a sync stream (see _Stream.write): Linux wakes a blocked sender once a
# third of the send buffer is free, far more than this, so each piece goes in one send.
_PIECE = 4096


def begin(limit: float | None) -> contextvars.Token[float | Pace | None]:
    """Starts the deadline of one exchange, `limit` seconds from now (None: no deadline); the caller
    ends it with `DEADLINE.reset(token)`."""
    return DEADLINE.set(None if limit is None else time.monotonic() + limit)


def _left(timeout: float | None, phase: str) -> float | None:
    """The time-out for one network operation: httpcore's own, cut to what is left of the deadline."""
    deadline = DEADLINE.get()
    if deadline is None:
        return timeout
    left = (deadline if type(deadline) is float else deadline.ends) - time.monotonic()  # type: ignore[union-attr]
    if left <= 0:
        import httpcore  # noqa: PLC0415 - loaded already: its pool is what calls us

        error = {"read": httpcore.ReadTimeout, "write": httpcore.WriteTimeout}.get(phase, httpcore.ConnectTimeout)
        raise error(f"the exchange did not end within the client's timeout ({phase} cut off)")
    return left if timeout is None or left < timeout else timeout


class _Stream:
    """An httpcore NetworkStream whose operations end by the deadline."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._inner.read(max_bytes, _left(timeout, "read"))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # httpcore's sync write loops over partial sends with the same time-out each: a server that
        # drains slowly restarts it with every one. Written in pieces small enough to go in one send
        # once the socket can take more, each piece gets only what is left of the deadline (a
        # transfer's too: its Pace bounds each 64 KiB slice only if no send restarts the time-out;
        # that halved a PUT to the mock on loopback at worst, far above what an ESXi host takes).
        # With no deadline, one write.
        if len(buffer) <= _PIECE or DEADLINE.get() is None:
            self._inner.write(buffer, _left(timeout, "write"))
            return
        view = memoryview(buffer)
        for start in range(0, len(view), _PIECE):
            self._inner.write(view[start : start + _PIECE], _left(timeout, "write"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> _Stream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout, "connect")))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncStream:
    """An httpcore AsyncNetworkStream whose operations end by the deadline."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = await self._inner.read(max_bytes, _left(timeout, "read"))
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _left(timeout, "write"))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _AsyncStream:
        return _AsyncStream(await self._inner.start_tls(ssl_context, server_hostname, _left(timeout, "connect")))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend:
    """An httpcore NetworkBackend whose streams end by the deadline."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    # httpcore passes the rest (local_address, socket_options) by keyword; they go through as they are.
    def connect_tcp(self, host: str, port: int, timeout: float | None = None, **rest: Any) -> _Stream:
        return _Stream(self.inner.connect_tcp(host, port, _left(timeout, "connect"), **rest))

    def connect_unix_socket(self, path: str, timeout: float | None = None, **rest: Any) -> _Stream:
        return _Stream(self.inner.connect_unix_socket(path, _left(timeout, "connect"), **rest))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class _AsyncBackend:
    """An httpcore AsyncNetworkBackend whose streams end by the deadline."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, **rest: Any) -> _AsyncStream:
        return _AsyncStream(await self.inner.connect_tcp(host, port, _left(timeout, "connect"), **rest))

    async def connect_unix_socket(self, path: str, timeout: float | None = None, **rest: Any) -> _AsyncStream:
        return _AsyncStream(await self.inner.connect_unix_socket(path, _left(timeout, "connect"), **rest))

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def bound(transport: TransportT) -> TransportT:
    """`transport` with its connection pool's network backend wrapped (in place), if it has one.

    An `httpx.HTTPTransport` or `httpx.AsyncHTTPTransport` (direct or through a proxy) has one;
    other transports (`httpx.MockTransport`, `httpx.ASGITransport`, a user's own) are returned as
    they are and keep their own time-outs.
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None or isinstance(backend, _Backend | _AsyncBackend):
        return transport
    wrapper = _AsyncBackend if inspect.iscoroutinefunction(backend.connect_tcp) else _Backend
    pool._network_backend = wrapper(backend)  # type: ignore[union-attr] # see the module's WHY
    return transport
