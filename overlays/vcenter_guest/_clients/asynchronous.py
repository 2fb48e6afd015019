"""`AsyncClient`: the asynchronous client (asyncio or trio, through anyio). It performs the engine's
effects with httpx.AsyncClient and anyio.sleep."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from vcenter_guest import errors
from vcenter_guest._engine import CAUGHT, Effect, Move, Moved, Plan, Send, Sleep
from vcenter_guest._engine.effects import CLEANUP_SECONDS

from .base import BaseClient, Setup, answered, paced
from .bounded import Body, unbind
from .cookies import AsyncHttp
from .deadline import DEADLINE, Pace, begin, bound
from .pool import ShardedTransport

if TYPE_CHECKING:
    import anyio

__all__ = ["AsyncClient"]

log = logging.getLogger("vcenter_guest")

T = TypeVar("T")


async def _pieces(source: Iterable[bytes], checkpoint: Callable[[], Awaitable[None]]) -> AsyncIterator[bytes]:
    # httpx.AsyncClient takes only an async body. The pieces come from bytes or a local file: a read
    # of one piece does not wait on the network (hence the checkpoint, see AsyncClient._move).
    for piece in source:
        await checkpoint()
        yield piece


async def _shielded(exchange: Awaitable[T]) -> T:
    """An exchange whose answer names what it made (`Send.finish`): finished even if the task is cancelled
    meanwhile (within the exchange's own limit), so that the plan learns what to undo."""
    import anyio  # noqa: PLC0415 - loaded already by httpx's async machinery

    with anyio.CancelScope(shield=True):
        outcome = await exchange
    return outcome


async def _delivered() -> None:
    """A cancellation that came while an exchange was shielded, delivered now."""
    from anyio.lowlevel import checkpoint_if_cancelled  # noqa: PLC0415 - loaded already

    await checkpoint_if_cancelled()


class AsyncClient(BaseClient[httpx.AsyncBaseTransport, Callable[[float], Awaitable[None]]]):
    """The asynchronous `Client`: same parameters, same methods, awaited; plus `processes.run_many`.

    Example::

        async with AsyncClient("https://vc.example.com", user=user, password=pw) as vc:
            creds = Credentials.password("root", guest_pw)
            results = await vc.processes.run_many(["vm-1", "vm-2"], creds, "/bin/true", concurrency=50)

    `max_connections` bounds the connections to vCenter (unset: 100, grown to a larger `run_many`
    concurrency; if you set it, keep it at least the `run_many`
    concurrency); `transport` is any `httpx.AsyncBaseTransport`, e.g. `httpx.ASGITransport(app)`
    for an in-process mock server; `sleep` is an async sleep (default `anyio.sleep`). Works under
    asyncio and trio.
    """

    def _open(self, setup: Setup[httpx.AsyncBaseTransport, Callable[[float], Awaitable[None]]]) -> None:
        transport = setup.transport
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise errors.UsageError("transport must be an httpx.AsyncBaseTransport (for Client: BaseTransport)")

        def shards() -> ShardedTransport:
            # Small pools (see pool), each keeping its idle connections for the next caller.
            return ShardedTransport(verify=setup.options["verify"], max_connections=setup.max_connections)

        def connections(transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
            # Every exchange ends within `timeout`, whatever the server trickles (see deadline).
            return AsyncHttp(transport=bound(transport), **setup.options)

        self._pools: ShardedTransport | None = None
        if transport is None:
            transport = self._pools = shards()
        self._max_connections = setup.max_connections
        self._http: httpx.AsyncClient = connections(transport)
        # Transfers to an `esxi_hosts` name: connections of their own, one pool per name (see _hosts).
        self._new_pool = (lambda: connections(shards())) if self._pools is not None else None
        self._host_pools: dict[str, httpx.AsyncClient] = {}
        self._lock: anyio.Lock | None = None
        self._sleep = setup.sleep  # None: anyio.sleep, imported on the first sleep

    def _session_lock(self) -> anyio.Lock:
        if self._lock is None:
            import anyio  # noqa: PLC0415 - not needed by `import vcenter_guest`

            self._lock = anyio.Lock()
        return self._lock

    async def login(self) -> None:
        """Creates an API session now, if there is none (otherwise the first call does)."""
        async with self._session_lock():
            if self._engine.session_id is None:
                await self._drive(self._engine.renew(None))

    async def check_session(self) -> bool:
        """Whether the server still accepts this client's API session (GET /api/session); False when it
        has none yet or the session expired. Never logs in: a caller holding a saved `session_id` asks
        this before relying on it."""
        async with self._session_lock():
            return await self._drive(self._engine.session_alive())

    async def keep_session(self) -> str:
        """Logs in if needed and hands the session to the caller: `close()` then leaves it alive (for
        reuse as `session_id=` by a later client; it is a secret, store it as one). Returns its id."""
        await self.login()
        session = self._engine.session_id
        assert session is not None
        self._engine.owns_session = False
        return session

    async def logout(self) -> None:
        """Ends the API session now, also one passed in as `session_id` (`close()` ends only those this
        client created); a later call logs in again if the client has a user and password."""
        async with self._session_lock():
            await self._drive(self._engine.logout(given_too=True))

    async def close(self) -> None:
        """Deletes the session this client created (not one passed in as `session_id`) and closes connections."""
        if not self._http.is_closed:
            try:
                await self._drive(self._engine.logout())
            finally:
                await self._http.aclose()
                for pool in self._host_pools.values():
                    await pool.aclose()

    aclose = close
    """Same as `close` (the name httpx.AsyncClient uses)."""

    async def __aenter__(self) -> AsyncClient:
        try:
            await self.login()
        except BaseException:
            await self._http.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _fit_pool(self, concurrency: int) -> None:
        """Room for `concurrency` connections: the client's own pools grow to it unless
        `max_connections` was given (then a warning says that the runs will wait for connections)."""
        if self._pools is not None and self._pool_grows:
            self._pools.grow(concurrency)
        elif concurrency > self._max_connections:
            log.warning(
                "run_many: concurrency %d is above max_connections %d: runs will wait for a connection "
                "(pass max_connections=%d, or leave it unset to let the client size its pools)",
                concurrency,
                self._max_connections,
                concurrency,
            )

    async def _drive(self, plan: Plan[T]) -> T:
        """Runs a plan, performing its effects (see _engine.effects)."""
        stepper = self._stepper(plan)
        cleanup_ends: float | None = None
        finished = False  # an exchange was finished shielded: a cancellation may be waiting
        for effect in stepper:
            try:
                if stepper.interrupted is None:
                    if finished:
                        finished = False
                        await _delivered()  # the plan now knows what that exchange made
                    if isinstance(effect, Send) and effect.finish:
                        finished = True
                        stepper.reply(await _shielded(self._perform(effect)))
                        continue
                    stepper.reply(await self._perform(effect))
                    continue
                import anyio  # noqa: PLC0415 - a cancellation came through anyio's machinery

                # A cancelled plan's clean-up: shielded from the cancellation, within CLEANUP_SECONDS of it.
                if cleanup_ends is None:
                    cleanup_ends = anyio.current_time() + CLEANUP_SECONDS
                with anyio.CancelScope(shield=True, deadline=cleanup_ends) as scope:
                    stepper.reply(await self._perform(effect))
                if scope.cancelled_caught:
                    raise stepper.interrupted
            except CAUGHT as exc:
                stepper.fail(exc)
            except BaseException as exc:  # a cancellation: the plan cleans up, then re-raises (see _engine.effects)
                stepper.interrupt(exc)
        if finished:
            await _delivered()
        return stepper.result

    drive = _drive
    fit_pool = _fit_pool

    async def _read(self, response: httpx.Response) -> httpx.Response:
        async with contextlib.aclosing(response):
            body = Body(response, self._max_bytes)
            if body.plain:
                await response.aread()
                answer = response
            else:
                answer = await body.aconsume(response.aiter_raw())
        unbind(response)
        return answer

    def _hosts(self, move: Move) -> httpx.AsyncClient:
        """The connections of a transfer: the client's own, or that `esxi_hosts` name's pool (see
        `Client._hosts`; aiohttp's pool would keep the names apart, httpx's does not)."""
        if move.host is None or self._new_pool is None:
            return self._http
        pool = self._host_pools.get(move.host)
        if pool is None:
            pool = self._host_pools[move.host] = self._new_pool()
        return pool

    async def _move(self, move: Move) -> Moved:
        # A transfer streams as fast as the connection goes: its reads and writes may find their data
        # ready and never wait, and anyio delivers a cancellation (Ctrl-C in the CLI) only to a task
        # that waits (seen through aiohttp: a 300 MB download ran to its end). Each piece looks for one.
        # An upload's pieces are read by aiohttp in a task of its own, which a cancellation of ours never
        # reaches: each piece yields to the event loop (`checkpoint`), so that the cancelled task runs
        # and ends the request, instead of every piece going out first while the guest reads fast.
        from anyio.lowlevel import checkpoint, checkpoint_if_cancelled  # noqa: PLC0415 - loaded already by httpx

        # Within its Pace (see deadline): the client's timeout per 64 KiB moved, and the Move's limit.
        pace = Pace.of(self._engine.exchange_timeout, move.limit)
        token = DEADLINE.set(pace)
        try:
            content = None if move.source is None else _pieces(paced(move.source, pace), checkpoint)
            response = await self._hosts(move).send(self._move_request(move, content), stream=True)
            async with contextlib.aclosing(response):
                received = answered(move, response, pace)
                if isinstance(received, Moved):
                    return received
                if received.decoded:
                    received.feed(response.content)
                else:
                    async for raw in response.aiter_raw():
                        await checkpoint_if_cancelled()
                        if not received.feed(raw):
                            break
                return received.outcome(response.status_code)
        finally:
            DEADLINE.reset(token)

    async def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Send):
            token = begin(effect.limit)
            try:
                return await self._read(await self._http.send(self._request(effect), auth=effect.auth, stream=True))
            finally:
                DEADLINE.reset(token)
        if isinstance(effect, Sleep):
            if self._sleep is None:
                import anyio  # noqa: PLC0415 - already loaded by httpx's async machinery

                self._sleep = anyio.sleep
            return await self._sleep(effect.seconds)
        if isinstance(effect, Move):
            return await self._move(effect)
        async with self._session_lock():
            return await self._drive(self._engine.renew(effect.stale))
