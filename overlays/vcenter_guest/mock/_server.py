"""Serving the mock with uvicorn: in a background thread for tests, in the foreground for the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from vcenter_guest.redaction import hide_tokens

from ._app import create_app
from ._inventory import Inventory
from ._simulator import Simulator

__all__ = ["LOG_LEVELS", "ConnectionTimeouts", "base_url", "bind", "listen_as_esxi_host", "serve", "uvicorn_config"]

log = logging.getLogger("vcenter_guest.mock")

# No "trace": uvicorn's trace level logs raw ASGI scopes, session header included.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf")):
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


@attrs.frozen
class ConnectionTimeouts:
    """How long the mock waits for a slow or idle client before closing its connection.

    WHY: uvicorn closes a keep-alive connection that stays idle after a response, and nothing else:
    a client that connects and sends nothing, or sends its headers a byte at a time (slowloris),
    or promises a body it never sends, holds its socket for as long as it likes.
    """

    headers: float = attrs.field(default=10.0, validator=_positive)
    """Seconds from the connection, or from the first byte of a later request, to the end of its headers."""
    body: float = attrs.field(default=30.0, validator=_positive)
    """Seconds from the end of the headers to the end of the body."""
    idle: float = attrs.field(default=5.0, validator=_positive)
    """Seconds a keep-alive connection may stay idle after a response (uvicorn's timeout_keep_alive)."""


def _bounded_protocol(timeouts: ConnectionTimeouts) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing connections whose request does not arrive in time."""

    class Bounded(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _waiting_for = ""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._track()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._track()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.conn.their_state is h11.IDLE:
                self._expect("", None)  # idle between requests: uvicorn's keep-alive timer is in charge
            else:
                self._track()  # a pipelined request is already under way

        def connection_lost(self, exc: Exception | None) -> None:
            self._expect("", None)
            super().connection_lost(exc)

        def _track(self) -> None:
            # h11's view of the client: IDLE until the headers are in (a new connection, or the first bytes
            # of the next request on a kept-alive one), SEND_BODY until the body is; nothing to wait for else.
            state = self.conn.their_state
            what = "" if self.transport.is_closing() else {h11.IDLE: "headers", h11.SEND_BODY: "body"}.get(state, "")
            if not what or what != self._waiting_for:
                self._expect(what, {"headers": timeouts.headers, "body": timeouts.body}.get(what))

        def _expect(self, what: str, seconds: float | None) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._waiting_for = what
            if seconds is not None:
                self._timer = self.loop.call_later(seconds, self._too_slow, what, seconds)

        def _too_slow(self, what: str, seconds: float) -> None:
            self._timer = None
            cycle = self.cycle
            if what == "body" and (self.flow.read_paused or (cycle is not None and cycle.response_started)):
                # Not the client's doing: the mock stopped reading (its buffer is full) or is answering.
                self._expect("body", seconds)
                return
            if not self.transport.is_closing():
                log.info("closed a connection whose request %s did not arrive within %g s", what, seconds)
                self.transport.close()

    return Bounded


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one). OSError if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and accepted
    # sockets inherit it from this one. Without it, Nagle plus delayed ACKs add ~40 ms to every
    # keep-alive response uvicorn writes in two parts.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    """`http://host:port` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listen_as_esxi_host(app: ASGIApp, sock: socket.socket) -> str:
    """Makes `sock` (bound, and served by the same uvicorn as the vCenter listener) the mock's stand-in
    for the ESXi host: transfer URLs name it (unless the inventory sets `transfer_base_url`), it serves
    only `/guestFile`, and the vCenter listener no longer does. Returns its base URL."""
    url = base_url(sock)
    state: Any = getattr(app, "state", None)
    if not hasattr(state, "api") or not hasattr(state, "simulator"):
        raise TypeError("an ESXi host listener needs the app create_app() builds")
    state.api.host_listener = tuple(sock.getsockname()[:2])
    state.simulator.host_url = url
    return url


def uvicorn_config(
    app: ASGIApp, log_level: str, *, timeouts: ConnectionTimeouts | None = None, **options: Any
) -> uvicorn.Config:
    """The uvicorn settings every way of serving the mock shares.

    Always uvicorn's h11 implementation (never httptools, even when installed) and no WebSocket
    support, so that what the mock answers at the protocol level (README: "Protocol level") does not
    depend on what else is installed; with the connection time-outs of `timeouts`.
    """
    if log_level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    timeouts = timeouts or ConnectionTimeouts()
    hide_tokens("uvicorn.access")  # the access log prints each path, a transfer URL's token with it
    return uvicorn.Config(
        app,
        log_level=log_level,
        lifespan="off",
        server_header=False,
        http=_bounded_protocol(timeouts),
        ws="none",  # an Upgrade: websocket request is served as plain HTTP, whatever is installed
        timeout_keep_alive=timeouts.idle,  # type: ignore[arg-type] # a float works: it goes to call_later
        **options,
    )


@contextlib.contextmanager
def serve(
    inventory: str | os.PathLike[str] | Mapping[str, Any] | Inventory | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    app: ASGIApp | None = None,
    simulator_cls: type[Simulator] = Simulator,
    clock: Callable[[], float] | None = None,
    timeouts: ConnectionTimeouts | None = None,
    esxi_host: bool = False,
) -> Iterator[str]:
    """Serves the mock on a loopback port in a background thread; yields its base URL.

    `timeouts` says when slow or idle clients are cut off (`ConnectionTimeouts`). `esxi_host=True`
    adds a second loopback listener standing for the ESXi host: transfer URLs name it, as a real
    vCenter's name the host that runs the VM (see `listen_as_esxi_host`).
    Logs go to the standard `logging` loggers (`uvicorn.*`, `vcenter_guest.mock`) without
    uvicorn's own handlers, so the caller's logging setup (and pytest's caplog) sees them.

        >>> with serve() as url:  # doctest: +SKIP
        ...     httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).status_code
        201
    """
    if app is None:
        app = create_app(inventory, simulator_cls=simulator_cls, clock=clock)
    config = uvicorn_config(app, log_level, timeouts=timeouts, log_config=None)
    server = uvicorn.Server(config)
    sock = bind(host, port)
    sockets = [sock]
    if esxi_host:
        sockets.append(bind(host, 0))
        listen_as_esxi_host(app, sockets[1])
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, name="vcenter-guest-mock", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the mock vCenter did not start")
            time.sleep(0.005)
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(30)
        for each in sockets:
            each.close()
