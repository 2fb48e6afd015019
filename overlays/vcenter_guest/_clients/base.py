"""What `Client` and `AsyncClient` share: their parameters, the engine, and their state.

`BaseClient` is generic in the two things that differ in type between them, the httpx transport and
the sleep function; each subclass only opens its httpx client (`_open`) and performs effects (`_perform`).
"""

from __future__ import annotations

import os
import random
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs
import httpx

from vcenter_guest import errors
from vcenter_guest._engine import (
    SESSION_HEADER,
    Engine,
    Move,
    Moved,
    Plan,
    RetryPolicy,
    Send,
    SessionCalls,
    Stepper,
)
from vcenter_guest._services import Services
from vcenter_guest.redaction import Redactor, hide_tokens

from .bounded import DEFAULT_MAX_RESPONSE_BYTES, Codings
from .deadline import WINDOW, Pace
from .options import (
    DEFAULT_TIMEOUT,
    ExchangeTimeout,
    api_login,
    esxi_addresses,
    retry_policy,
    server_url,
    tls_verify,
)

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "HEADERS",
    "BaseClient",
    "Received",
    "Setup",
    "answered",
    "paced",
]

DEFAULT_MAX_CONNECTIONS = 100

ERROR_TEXT_BYTES = 1024
"""Bytes of a data-plane error's body kept for its message."""


class Received:
    """A data-plane answer's body, fed raw network chunks (`feed`, then `end`): its content codings
    undone piece by piece (`bounded.Codings`), a successful GET's bytes go to the `Move`'s sink,
    stopping at its `most` decoded bytes; an error's start (ERROR_TEXT_BYTES) is kept for its
    message. Each raw chunk counts towards the transfer's `Pace`."""

    __slots__ = ("codings", "decoded", "error", "left", "moved", "pace", "sink", "truncated")

    def __init__(self, move: Move, response: httpx.Response, pace: Pace | None, *, decoded: bool = False) -> None:
        self.error: bytearray | None = None
        self.pace = pace
        # `decoded`: an in-memory transport (a test double) handed the body over read and decoded.
        self.decoded = decoded
        headers = httpx.Headers() if decoded else response.headers
        if response.is_success:
            assert move.sink is not None
            self.sink, self.left = move.sink, move.most
            self.codings: Codings | None = Codings(headers)  # an unknown coding: httpx.DecodingError
        else:
            self.error = bytearray()
            self.sink, self.left = self.error.extend, ERROR_TEXT_BYTES
            try:
                self.codings = Codings(headers)
            except httpx.DecodingError:
                self.codings = None  # the status says what failed; a body no one can read says nothing
        self.moved = 0
        self.truncated = False

    def feed(self, raw: bytes) -> bool:
        """Takes the next raw chunk; False once no more is wanted."""
        if self.pace is not None:
            self.pace.moved(len(raw))
        if self.codings is None:
            return False
        try:
            for piece in self.codings.decode(raw):
                if not self.take(piece):
                    return False
        except httpx.DecodingError:
            if self.error is None:
                raise
            return False  # an error's text: what could be read of it
        return True

    def end(self) -> None:
        """The body is all in: its codings must have ended (unless it was cut at `most`)."""
        if self.codings is not None and self.error is None and not self.truncated:
            self.codings.end()

    def take(self, chunk: bytes) -> bool:
        """Writes decoded `chunk` (cut at the limit); False once no more is wanted."""
        if self.left is not None and self.moved + len(chunk) > self.left:
            chunk = chunk[: self.left - self.moved]
            self.truncated = True
        if chunk:
            self.sink(chunk)
            self.moved += len(chunk)
        return not self.truncated

    def outcome(self, status: int) -> Moved:
        """What moved, once the body is in (its codings ended: a no-op when the feed stopped early)."""
        self.end()
        if self.error is not None:
            return Moved(status, 0, text=self.error.decode("utf-8", "replace").strip())
        return Moved(status, self.moved, self.truncated)


def answered(move: Move, response: httpx.Response, pace: Pace | None) -> Moved | Received:
    """What a data-plane answer comes to: an upload's success is all there is (Moved); any other
    answer's body is still to be read, raw, into the Received returned (decoded by it piece by piece:
    httpx would expand each chunk whole)."""
    if response.is_success and move.method != "GET":
        return Moved(response.status_code, move.size)
    # An in-memory transport's body (a test double's) is read and decoded already.
    return Received(move, response, pace, decoded=response.is_stream_consumed)


def paced(source: Iterable[bytes], pace: Pace | None) -> Iterator[bytes]:
    """An upload's pieces, cut to WINDOW bytes at most, each counted towards `pace` once the transport
    asks for the next (it has sent the previous one then)."""
    for piece in source:
        for start in range(0, len(piece), WINDOW):
            part = piece[start : start + WINDOW]
            yield part
            if pace is not None:
                pace.moved(len(part))


T = TypeVar("T")
TransportT = TypeVar("TransportT")
SleepT = TypeVar("SleepT")

# Accept-Encoding: the encodings `bounded` decodes with a cap (httpx would add br or zstd when installed).
HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate", "User-Agent": "vcenter-guest"}


def session_calls() -> SessionCalls:
    """The session calls the engine makes: the wire's, loaded on the first login or session check
    (with the generated client they use), never by `import vcenter_guest`."""
    from vcenter_guest._wire import session  # noqa: PLC0415

    return session


@attrs.define
class Setup(Generic[TransportT, SleepT]):
    """What a subclass's `_open` gets: the httpx client's keyword arguments and the subclass's own parameters."""

    options: dict[str, Any]
    transport: TransportT | None
    max_connections: int
    sleep: SleepT | None


class BaseClient(Services, Generic[TransportT, SleepT]):
    """A vCenter connection; the parameters are documented on `Client`; its services are `Services`'."""

    _http: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        server: str,
        *,
        user: str | None = None,
        password: str | None = None,
        session_id: str | None = None,
        verify: bool | ssl.SSLContext = True,
        ca_bundle: str | os.PathLike[str] | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: TransportT | None = None,
        max_connections: int | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        esxi_hosts: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: SleepT | None = None,
        rng: random.Random | None = None,
    ) -> None:
        url = server_url(server)
        api_user, api_password, session = api_login(user, password, session_id)
        # None: 100, and an AsyncClient grows its pools to the concurrency run_many is given.
        self._pool_grows = max_connections is None
        if max_connections is None:
            max_connections = DEFAULT_MAX_CONNECTIONS
        if type(max_connections) is not int or max_connections < 1:
            raise errors.UsageError("max_connections must be a positive int")
        if type(max_response_bytes) is not int or max_response_bytes < 1:
            raise errors.UsageError("max_response_bytes must be a positive int (bytes of one answer's body)")
        self._max_bytes = max_response_bytes
        self.esxi_hosts = esxi_addresses(esxi_hosts)
        # One value carries the exchange bound from here to the engine, each request and the deadlines.
        self._timeout = ExchangeTimeout.of(timeout)
        self._base_url = url
        hide_tokens("httpx")  # its INFO lines print each URL, a transfer's token with it
        self._engine = Engine(
            url,
            user=api_user,
            password=api_password,
            session_id=session,
            sessions=session_calls,
            retry=retry_policy(retry),
            exchange_timeout=self._timeout.bound,
            clock=clock,
            rng=rng,
        )
        options: dict[str, Any] = {
            "base_url": url,
            "verify": tls_verify(verify, ca_bundle, url),
            "timeout": self._timeout.httpx(),
            "headers": HEADERS,
        }
        self._open(Setup(options, transport, max_connections, sleep))

    def _open(self, setup: Setup[TransportT, SleepT]) -> None:
        """Opens the httpx client and the services."""
        raise NotImplementedError

    def __repr__(self) -> str:
        state = "closed" if self._http.is_closed else ("logged in" if self._engine.session_id else "not logged in")
        return f"{type(self).__name__}({self._engine.server!r}, user={self._engine.user!r}, {state})"

    @property
    def server(self) -> str:
        """The base URL of the vCenter."""
        return self._engine.server

    @property
    def session_id(self) -> str | None:
        """The current API session id (a secret: never log it), None before login and after close."""
        return self._engine.session_id

    @property
    def engine(self) -> Engine:
        """The engine this client's services build their plans with (sessions, retries, waiting)."""
        return self._engine

    @property
    def redactor(self) -> Redactor:
        """Removes the secrets this client knows (passwords, session ids) from a text: `redactor.scrub(text)`."""
        return self._engine.redactor

    def _request(self, send: Send) -> httpx.Request:
        """The request `httpx.Client.build_request` would build, without merging per call what never changes.

        WHY: build_request re-parses and merges the base URL, the default headers, cookies and query
        on every call: about 25 us of the ~50 it takes, 6% of a whole call's client CPU. The base URL,
        headers and timeout of a client never change, so they are joined here directly; a client whose
        server set cookies goes through build_request, which sends them back.
        tests/overlay/test_requests.py checks both give the same request for any VM id and body.
        """
        http = self._http
        if http.cookies:
            request = http.build_request(send.method, send.url, json=send.json, params=send.params)
        else:
            request = httpx.Request(
                send.method,
                self._base_url + send.url,
                json=send.json,
                params=send.params,
                headers=httpx.Headers(http.headers),
                extensions={"timeout": self._timeout.phases},
            )
        if send.limit is not None and send.limit != self._timeout.bound:
            request.extensions["timeout"] = self._timeout.within(send.limit)
        if send.session is not None:
            request.headers[SESSION_HEADER] = send.session
        return request

    def _move_request(self, move: Move, content: Any = None) -> httpx.Request:
        """The request of a data-plane effect: the transfer URL as it is, no session, no JSON."""
        headers = {"User-Agent": HEADERS["User-Agent"], "Accept": "*/*", "Accept-Encoding": "identity"}
        if move.method == "PUT":
            # With a Content-Length, httpx streams `content` as it is instead of chunked (the data
            # plane checks the length against the size the transfer declared).
            headers |= {"Content-Type": "application/octet-stream", "Content-Length": str(move.size)}
        extensions: dict[str, Any] = {"timeout": self._timeout.phases}
        if move.host is not None:
            headers["Host"] = move.host
            extensions["sni_hostname"] = httpx.URL(f"//{move.host}").host
        return httpx.Request(move.method, move.url, headers=headers, content=content, extensions=extensions)

    def _stepper(self, plan: Plan[T]) -> Stepper[T]:
        """A stepper for `plan`, or UsageError (and the plan closed) when the client is closed."""
        if self._http.is_closed:
            plan.close()
            raise errors.UsageError("the client is closed")
        return Stepper(plan)
