"""What a plan asks its driver to do: the typed seam between the logic and the I/O.

A plan is a generator. It yields effects and gets back their outcome:

    Send   -> one HTTP request, whose whole exchange must end within `limit` seconds (None: no limit);
              the driver sends back the `httpx.Response`, or throws into the plan the
              `httpx.HTTPError` that sending raised (an `httpx.TimeoutException` past the limit)
    Sleep  -> wait `seconds`; the driver sends back None
    Renew  -> "this session was refused; under the client's lock, log in again if it is really dead";
              the driver runs `Engine.renew` and sends back True (send again with the new session) or
              False (the session is alive), or throws the error that renewing raised
    Move   -> one request of the data plane (a transfer URL: GET streams the body into `sink`, PUT
              streams `source` out), within the client's timeout per 64 KiB moved and `limit`
              seconds in all (see _clients/deadline.Pace); the driver sends back `Moved`, or throws
              the `httpx.HTTPError` (an `httpx.TimeoutException` past either bound)

`Plan[T]` is a plan that returns a T. `Stepper` runs one plan for a driver: it holds the outcome of
the last effect and hands the next effect over, so that the sync and the async driver only perform
effects (see `_clients`).

An interruption while an effect is performed (Ctrl-C, a cancelled task) is thrown into the plan
(`Stepper.interrupt`): its `finally` blocks may still yield effects (remove a run directory,
terminate a program), which the driver performs, shielded from the cancellation and within
`CLEANUP_SECONDS`, before the interruption reaches the caller. A second interruption stops that.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, Generic, TypeVar

import attrs
import httpx

from vcenter_guest import errors

__all__ = ["CAUGHT", "CLEANUP_SECONDS", "Effect", "Move", "Moved", "Plan", "Renew", "Send", "Sleep", "Stepper"]

CLEANUP_SECONDS = 30.0
"""How long an async driver goes on performing a cancelled plan's clean-up effects."""

T = TypeVar("T")


@attrs.define(slots=True)
class Send:
    """Effect: send one request. `session` goes into the session header; `auth` is HTTP basic (login);
    `limit` is the seconds the whole exchange (connect, send, headers, body) may take."""

    method: str
    url: str
    json: Any = None
    session: str | None = attrs.field(default=None, repr=False)
    auth: tuple[str, str] | None = attrs.field(default=None, repr=False)
    limit: float | None = None
    params: Mapping[str, Any] | None = None
    """The query (VM.list's filter arrays), as the generated `request_kwargs` give it."""
    finish: bool = False
    """Finish the exchange even if an interruption comes meanwhile (within its `limit`): its answer names
    what it made in the guest (a pid, a directory), which the plan must know to undo it. The
    interruption then reaches the plan at its next effect; a second one stops at once."""

    @classmethod
    def of(
        cls,
        kwargs: Mapping[str, Any],
        *,
        session: str | None,
        auth: tuple[str, str] | None,
        limit: float | None = None,
        finish: bool = False,
    ) -> Send:
        """From a generated `request_kwargs()`: its method, URL and JSON body. Its headers are dropped: a
        per-request header merge costs httpx time on every call, and httpx sets Content-Type for `json=`."""
        return cls(
            kwargs["method"].upper(),
            kwargs["url"],
            kwargs.get("json"),
            session,
            auth,
            limit,
            kwargs.get("params"),
            finish,
        )


@attrs.define(slots=True)
class Sleep:
    """Effect: wait this many seconds."""

    seconds: float


@attrs.define(slots=True)
class Renew:
    """Effect: the session `stale` was refused (None: there is no session yet)."""

    stale: str | None = attrs.field(repr=False)


@attrs.define(slots=True)
class Move:
    """Effect: GET or PUT a transfer URL (absolute, with no session: its id and token are the credential,
    so it is never shown). GET: each piece of the body goes to `sink`, at most `most` bytes (None: all;
    past it the driver stops reading and says `truncated`), its content codings undone. PUT: `source`
    yields the `size` bytes. `limit`: the seconds the whole transfer may take (None: no more than
    the client's timeout per 64 KiB moved allows)."""

    method: str
    url: str = attrs.field(repr=False)
    sink: Callable[[bytes], object] | None = attrs.field(default=None, repr=False)
    most: int | None = None
    source: Iterable[bytes] | None = attrs.field(default=None, repr=False)
    size: int = 0
    host: str | None = None
    """The host (and port) the transfer URL named, when `url` reaches it at another address (the
    client's `esxi_hosts`): sent as the Host header, and the name TLS checks the certificate for."""
    limit: float | None = None


@attrs.frozen
class Moved:
    """What a `Move` did: the HTTP status, the bytes moved, whether GET stopped at `most`, and the start
    of the body when the status is not a success (the data plane answers errors in plain text)."""

    status: int
    size: int
    truncated: bool = False
    text: str = ""


Effect = Send | Sleep | Renew | Move
Plan = Generator[Effect, Any, T]

# What a driver throws back into a plan: the failure of sending (httpx) or of renewing (ours).
CAUGHT = (httpx.HTTPError, errors.VcenterGuestError)


class Stepper(Generic[T]):
    """Runs one plan for a driver: `for effect in stepper: stepper.reply(...) or stepper.fail(...)`.

    >>> def plan():
    ...     yield Sleep(1.0)
    ...     return "done"
    >>> stepper = Stepper(plan())
    >>> [effect for effect in stepper], stepper.result
    ([Sleep(seconds=1.0)], 'done')
    """

    __slots__ = ("_error", "_plan", "_reply", "interrupted", "result")

    def __init__(self, plan: Plan[T]) -> None:
        self._plan = plan
        self._reply: Any = None
        self._error: BaseException | None = None
        self.interrupted: BaseException | None = None
        """The interruption thrown into the plan, once there was one: what is left is its clean-up."""

    def __iter__(self) -> Generator[Effect, None, None]:
        plan = self._plan
        try:
            while True:
                error, self._error = self._error, None
                reply, self._reply = self._reply, None
                try:
                    effect = plan.send(reply) if error is None else plan.throw(error)
                except StopIteration as stop:
                    self.result: T = stop.value
                    return
                yield effect
        finally:
            plan.close()

    def reply(self, value: Any) -> None:
        """The outcome of the effect just handed over."""
        self._reply = value

    def fail(self, error: BaseException) -> None:
        """The effect just handed over failed with `error` (one of `CAUGHT`)."""
        self._error = error

    def interrupt(self, interruption: BaseException) -> None:
        """The effect just handed over was interrupted (KeyboardInterrupt, a cancellation): the plan gets
        it, to clean up and re-raise. Raises it again when the clean-up itself is interrupted."""
        if self.interrupted is not None:
            raise interruption
        self.interrupted = interruption
        self._error = interruption
