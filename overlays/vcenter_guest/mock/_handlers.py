"""Which coroutine answers which operation, and which part of the simulator each service brings.

A service of the mock is one module of `services`: its part of the simulator (a class marked with
`@part`) and its handlers (coroutines marked with `@handles(operation_id)`). The modules are found
(`services.load`), not listed, so adding a service touches no list. A handler is typed against `Api`,
the HTTP layer as handlers see it, never against the app itself (which sits above the services).

A VM's report or power change (`identity.get`, `power.start`) needs no handler of its own: `handles_read`
and `handles_change` register the one every such operation has (the call's API session, then the
simulator's method with the VM).

`create_app` refuses to start when the document has an operation no module handles, naming it, so a
new operation without a handler is a clear error at start-up, never a 500 at request time.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar, cast

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope

from vcenter_guest.operations import Operation

from ._state import Session, SimulatorState

__all__ = [
    "HANDLERS",
    "PARTS",
    "Api",
    "Handler",
    "UnhandledOperation",
    "check_handled",
    "dumps",
    "handles",
    "handles_change",
    "handles_read",
    "json_response",
    "part",
]

S_co = TypeVar("S_co", bound=SimulatorState, covariant=True)
S = TypeVar("S", bound=SimulatorState)
P = TypeVar("P", bound=type[SimulatorState])


class Api(Protocol[S_co]):
    """The HTTP layer as a handler sees it: the simulator (typed as the part the handler's service
    needs), the request's pieces, and the checks every call of the API makes, in vCenter's order."""

    @property
    def simulator(self) -> S_co:
        """The simulator the app serves."""

    @property
    def runs(self) -> anyio.CapacityLimiter:
        """The worker threads long work runs in (Budget.concurrent_runs at once)."""

    def header(self, scope: Scope, name: bytes) -> str | None:
        """The value of a request header, or None."""

    def inject_fault(self, operation: Operation) -> None:
        """Raises the error a fault rule of the inventory injects into this call, if any."""

    def session_call(self, operation: Operation, scope: Scope) -> Session:
        """The call's API session (or UNAUTHENTICATED), its privileges checked, then a fault injected."""

    async def optional_body(self, scope: Scope, receive: Receive) -> Any:
        """The JSON value of a body a GET may carry (None when there is none); INVALID_ARGUMENT if not JSON."""

    async def guest_call(
        self, operation: Operation, params: Mapping[str, str], scope: Scope, receive: Receive
    ) -> tuple[dict[str, Any], int]:
        """A guest operation's checks (session, body, privileges, fault): its valid body and its pid (0: none)."""


Handler = Callable[[Api[Any], Operation, dict[str, str], Scope, Receive], Awaitable[Response]]
"""A handler of any service (the registry holds them all; each is typed against its own part)."""

HANDLERS: dict[str, Handler] = {}
PARTS: list[type[SimulatorState]] = []


class UnhandledOperation(RuntimeError):
    """The document has an operation the mock does not simulate."""


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    """Registers the decorated coroutine as the mock's answer to `operation_id`."""

    def register(handler: Handler) -> Handler:
        if operation_id in HANDLERS:
            raise UnhandledOperation(f"two handlers for {operation_id}")
        HANDLERS[operation_id] = handler
        return handler

    return register


def handles_read(operation_id: str, read: Callable[[S, str], object]) -> None:
    """Registers the handler of an operation that reads something of a VM (its one path parameter):
    the call's API session checked (privileges, fault), then `read(simulator, vm)` answered as JSON
    with the operation's success status."""
    method = _simulator_method(read)

    async def handler(api: Api[S], op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
        api.session_call(op, scope)
        return json_response(getattr(api.simulator, method)(params["vm"]), op.success_status)

    handles(operation_id)(handler)


def handles_change(operation_id: str, change: Callable[[S, str, str], None]) -> None:
    """Registers the handler of an operation that changes a VM (its one path parameter) and answers
    no body: the call's API session checked, then `change(simulator, vm, action)`, `action` being the
    operation's name within its service (`start` of `power.start`)."""
    method = _simulator_method(change)
    action = operation_id.split(".", 1)[1]

    async def handler(api: Api[S], op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
        api.session_call(op, scope)
        getattr(api.simulator, method)(params["vm"], action)
        return Response(status_code=op.success_status)

    handles(operation_id)(handler)


def _simulator_method(function: Callable[..., object]) -> str:
    """The name a part's method is called by on the simulator, so that a simulator that overrides it
    (the tests' broken servers) is answered by its own (the function itself types the registration)."""
    owner, _, name = function.__qualname__.rpartition(".")
    if not name.isidentifier() or not owner or owner.endswith("<locals>"):
        raise TypeError(f"{function!r} is not a method of a part of the simulator")
    return name


def part(cls: P) -> P:
    """Marks a class as a part of the simulator: `Simulator` is made of every service's part."""
    if cls not in PARTS:
        PARTS.append(cast("type[SimulatorState]", cls))
    return cls


def check_handled(operation_ids: Iterable[str]) -> None:
    """UnhandledOperation naming every operation of the document that no module handles."""
    missing = [op for op in operation_ids if op not in HANDLERS]
    if missing:
        raise UnhandledOperation(
            f"the mock vCenter does not simulate {', '.join(missing)}, which the API document has: "
            "add a handler (@handles) in the mock module of its service (vcenter_guest/mock/services/)"
        )


def dumps(payload: Any) -> bytes:
    """Compact JSON."""
    return json.dumps(payload, separators=(",", ":")).encode()


def json_response(payload: Any, status: int) -> Response:
    """A JSON answer."""
    return Response(dumps(payload), status, media_type="application/json")
