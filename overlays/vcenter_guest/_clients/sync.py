"""`Client`: the synchronous client. It performs the engine's effects with httpx.Client and time.sleep."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import httpx

from vcenter_guest import errors
from vcenter_guest._engine import CAUGHT, Effect, Move, Moved, Plan, Send, Sleep

from .base import BaseClient, Setup, answered, paced
from .bounded import Body, unbind
from .cookies import Http
from .deadline import DEADLINE, Pace, begin, bound
from .held import hold_interrupts

__all__ = ["Client"]

T = TypeVar("T")


class Client(BaseClient[httpx.BaseTransport, Callable[[float], None]]):
    """A vCenter connection: logs in on entry, logs out on exit, re-logs in when the session expires.

    Example::

        from vcenter_guest import Client, Credentials

        with Client("https://vc.example.com", user="administrator@vsphere.local", password=pw) as vc:
            creds = Credentials.password("root", guest_pw)
            result = vc.processes.run("vm-42", creds, "/bin/ls", "-l", timeout=60)
            print(result.pid, result.exit_code, result.duration)

    Parameters: `server` (URL or host name; https:// is assumed), `user` and `password` of the
    API (vCenter SSO) user, or an existing `session_id` (with user and password too, the client
    can log in again when it expires). `verify` (default True) checks the server's TLS
    certificate; `ca_bundle` is a PEM file of the CA that signed it; `verify=False` turns checking
    off and logs a warning. `timeout` is the seconds one HTTP exchange may take in all (connect,
    send, headers, body, however slowly the server sends them), or an httpx.Timeout (then the
    largest of its connect, write and read values). `retry` is the RetryPolicy for transient
    faults; no retry runs past its `timeout`. `transport` is any `httpx.BaseTransport` (tests, a
    mock server, `httpx.HTTPTransport(proxy=...)` for a proxy: the environment's proxy settings
    are not read). `max_connections` bounds the connections to vCenter (threads share them).
    `max_response_bytes` caps the decoded body of one answer. A file transfer (upload, download,
    run's output) must move 64 KiB within every `timeout` seconds, however slowly the host trickles
    (a transfer of N bytes ends within `timeout` x (1 + N / 64 KiB)); its content codings (gzip,
    deflate, stacked) are undone piece by piece, under download's `max_bytes` and run's
    `max_output_bytes`; from an https:// vCenter, an http:// transfer URL is refused (a downgrade).
    File transfers go to the ESXi host
    that runs the VM, as the transfer URL names it; `esxi_hosts={"esxi-1.lab": "10.0.0.5:443"}`
    reaches a host at another address (TLS still checks the certificate for the name), and an
    `ssl.SSLContext` as `verify` that trusts both CAs serves a vCenter and hosts signed by different
    ones. `clock`, `sleep` and `rng` are the
    monotonic clock, the sleep and the random source of waiting and retries (tests pass virtual ones).

    Thread-safe: threads may share one client; a session renewal happens once for all of them.
    """

    def _open(self, setup: Setup[httpx.BaseTransport, Callable[[float], None]]) -> None:
        transport = setup.transport
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise errors.UsageError("transport must be an httpx.BaseTransport (for AsyncClient: AsyncBaseTransport)")

        def connections(transport: httpx.BaseTransport) -> httpx.Client:
            # Every exchange ends within `timeout`, whatever the server trickles (see deadline).
            return Http(transport=bound(transport), **setup.options)

        def own() -> httpx.Client:
            limits = httpx.Limits(
                max_connections=setup.max_connections, max_keepalive_connections=setup.max_connections
            )
            return connections(httpx.HTTPTransport(verify=setup.options["verify"], limits=limits))

        self._http: httpx.Client = own() if transport is None else connections(transport)
        # Transfers to an `esxi_hosts` name: connections of their own, one pool per name (see _hosts).
        self._new_pool = own if transport is None else None
        self._host_pools: dict[str, httpx.Client] = {}
        self._host_lock = threading.Lock()
        self._lock = threading.RLock()
        self._sleep = setup.sleep or time.sleep

    def login(self) -> None:
        """Creates an API session now, if there is none (otherwise the first call does)."""
        with self._lock:
            if self._engine.session_id is None:
                self._drive(self._engine.renew(None))

    def check_session(self) -> bool:
        """Whether the server still accepts this client's API session (GET /api/session); False when it
        has none yet or the session expired. Never logs in: a caller holding a saved `session_id` asks
        this before relying on it."""
        with self._lock:
            return self._drive(self._engine.session_alive())

    def keep_session(self) -> str:
        """Logs in if needed and hands the session to the caller: `close()` then leaves it alive (for
        reuse as `session_id=` by a later client; it is a secret, store it as one). Returns its id."""
        self.login()
        session = self._engine.session_id
        assert session is not None
        self._engine.owns_session = False
        return session

    def logout(self) -> None:
        """Ends the API session now, also one passed in as `session_id` (`close()` ends only those this
        client created); a later call logs in again if the client has a user and password."""
        with self._lock:
            self._drive(self._engine.logout(given_too=True))

    def close(self) -> None:
        """Deletes the session this client created (not one passed in as `session_id`) and closes connections."""
        if not self._http.is_closed:
            try:
                self._drive(self._engine.logout())
            finally:
                self._http.close()
                for pool in self._host_pools.values():
                    pool.close()

    def __enter__(self) -> Client:
        try:
            self.login()
        except BaseException:
            self._http.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _drive(self, plan: Plan[T]) -> T:
        """Runs a plan, performing its effects (see _engine.effects)."""
        stepper = self._stepper(plan)
        held: list[Callable[[], object]] = []  # a Ctrl-C held back while an exchange was finished (see held)
        for effect in stepper:
            try:
                if held:
                    held.pop()()  # the plan now knows what the exchange made: deliver the Ctrl-C
                if isinstance(effect, Send) and effect.finish and stepper.interrupted is None:
                    with hold_interrupts(held):
                        outcome = self._perform(effect)
                    stepper.reply(outcome)
                else:
                    stepper.reply(self._perform(effect))
            except CAUGHT as exc:
                stepper.fail(exc)
            except BaseException as exc:  # Ctrl-C: the plan cleans up, then re-raises (see _engine.effects)
                stepper.interrupt(exc)
        if held:
            held.pop()()
        return stepper.result

    drive = _drive

    def _read(self, response: httpx.Response) -> httpx.Response:
        # The body within max_response_bytes, or BodyTooLarge (see bounded).
        with contextlib.closing(response):
            body = Body(response, self._max_bytes)
            if body.plain:
                response.read()
                answer = response
            else:
                answer = body.consume(response.iter_raw())
        unbind(response)
        return answer

    def _hosts(self, move: Move) -> httpx.Client:
        """The connections of a transfer: the client's own, or, for a host `esxi_hosts` maps, that
        name's pool (opened on first use, closed by `close`).

        WHY: httpx's pool keys connections by the URL's scheme, host and port only. A host mapped to
        an address the client is already connected to (vCenter's, or another name's) would get that
        connection, its certificate checked for another name, or not at all; a pool of its own opens
        its own, checked for the name (the request's `sni_hostname`). With a `transport=` of the
        user's, transfers go through it as everything else does.
        """
        if move.host is None or self._new_pool is None:
            return self._http
        with self._host_lock:
            pool = self._host_pools.get(move.host)
            if pool is None:
                pool = self._host_pools[move.host] = self._new_pool()
            return pool

    def _move(self, move: Move) -> Moved:
        # Within its Pace (see deadline): the client's timeout per 64 KiB moved, and the Move's limit.
        pace = Pace.of(self._engine.exchange_timeout, move.limit)
        token = DEADLINE.set(pace)
        try:
            source = None if move.source is None else paced(move.source, pace)
            response = self._hosts(move).send(self._move_request(move, source), stream=True)
            with contextlib.closing(response):
                received = answered(move, response, pace)
                if isinstance(received, Moved):
                    return received
                for raw in [response.content] if received.decoded else response.iter_raw():
                    if not received.feed(raw):
                        break
                return received.outcome(response.status_code)
        finally:
            DEADLINE.reset(token)

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Send):
            token = begin(effect.limit)
            try:
                return self._read(self._http.send(self._request(effect), auth=effect.auth, stream=True))
            finally:
                DEADLINE.reset(token)
        if isinstance(effect, Sleep):
            return self._sleep(effect.seconds)
        if isinstance(effect, Move):
            return self._move(effect)
        with self._lock:
            return self._drive(self._engine.renew(effect.stale))
