"""Serving the mock with uvicorn: in a background thread for tests, in the foreground for the CLI."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from ._app import create_app
from ._inventory import Inventory
from ._simulator import Simulator

__all__ = ["LOG_LEVELS", "base_url", "bind", "serve", "uvicorn_config"]

# No "trace": uvicorn's trace level logs raw ASGI scopes, session header included.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


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


def uvicorn_config(app: ASGIApp, log_level: str, **options: Any) -> uvicorn.Config:
    """The uvicorn settings every way of serving the mock shares."""
    if log_level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    return uvicorn.Config(app, log_level=log_level, lifespan="off", server_header=False, **options)


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
) -> Iterator[str]:
    """Serves the mock on a loopback port in a background thread; yields its base URL.

    Logs go to the standard `logging` loggers (`uvicorn.*`, `vcenter_guest.mock`) without
    uvicorn's own handlers, so the caller's logging setup (and pytest's caplog) sees them.

        >>> with serve() as url:  # doctest: +SKIP
        ...     httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).status_code
        201
    """
    if app is None:
        app = create_app(inventory, simulator_cls=simulator_cls, clock=clock)
    config = uvicorn_config(app, log_level, log_config=None)
    server = uvicorn.Server(config)
    sock = bind(host, port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="vcenter-guest-mock", daemon=True)
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
        sock.close()
