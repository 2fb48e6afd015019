"""How the services read answers: a call's `parse` for a JSON success (`reader`) or for one without a
body (`no_content`), and the call of an operation whose one argument is the VM (`vm_call`).

Each loads the wire (and with it the generated models) on the first response, never at import, so
that `import vcenter_guest` stays cheap; the converters a `reader` runs do their own type checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from vcenter_guest._engine import Call
from vcenter_guest.operations import operations

if TYPE_CHECKING:
    import httpx

__all__ = ["Parse", "no_content", "reader", "vm_call"]

T = TypeVar("T")

Parse = Callable[["httpx.Response", Call[T]], T]
"""A call's `parse`: its result from the response, or the package's error for it."""


def reader(what: str, convert: Callable[[Any], T]) -> Parse[T]:
    """The `parse` of a call whose success is a JSON body that is `what`, read by `convert`: any
    failure to convert is errors.UnexpectedResponse saying the body is not `what`."""

    def parse(response: httpx.Response, call: Call[T]) -> T:
        from vcenter_guest._wire import responses as wire  # noqa: PLC0415 - loaded on the first response

        return wire.read(response, call, what, convert)

    return parse


def no_content(response: httpx.Response, call: Call[None]) -> None:
    """The `parse` of a call whose success has no body (204)."""
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415 - loaded on the first response

    wire.no_content(response, call)


def vm_call(operation_id: str, request_kwargs: Callable[[str], Mapping[str, Any]], vm: str, parse: Parse[T]) -> Call[T]:
    """The call of an operation whose one argument is the VM (a report of the VM or of its guest, a
    power change), built by the operation's generated `request_kwargs`."""
    return Call(operations()[operation_id], functools.partial(request_kwargs, vm), parse, vm=vm)
