"""Which coroutine answers which operation: each module of the mock registers its own with `@handles`.

`create_app` refuses to start when the document has an operation no module handles, naming it, so a
new operation without a handler is a clear error at start-up, never a 500 at request time.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from vcenter_guest.operations import Operation

    from ._app import MockApi

__all__ = ["HANDLERS", "Handler", "UnhandledOperation", "check_handled", "dumps", "handles", "json_response"]

Handler = Callable[["MockApi", "Operation", dict[str, str], "Scope", "Receive"], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {}


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


def check_handled(operation_ids: Iterable[str]) -> None:
    """UnhandledOperation naming every operation of the document that no module handles."""
    missing = [op for op in operation_ids if op not in HANDLERS]
    if missing:
        raise UnhandledOperation(
            f"the mock vCenter does not simulate {', '.join(missing)}, which the API document has: "
            "add a handler (@handles) in the mock module of its service"
        )


def dumps(payload: Any) -> bytes:
    """Compact JSON."""
    return json.dumps(payload, separators=(",", ":")).encode()


def json_response(payload: Any, status: int) -> Response:
    """A JSON answer."""
    return Response(dumps(payload), status, media_type="application/json")
