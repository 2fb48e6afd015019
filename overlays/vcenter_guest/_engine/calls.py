"""`Call`: one operation with its arguments, ready for the engine to send, retry and read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

if TYPE_CHECKING:
    import httpx

    from vcenter_guest._values.credentials import Credentials
    from vcenter_guest.operations import Operation

__all__ = ["Call", "SessionCalls"]

T = TypeVar("T")


@attrs.define(slots=True)
class Call(Generic[T]):
    """One call of `operation`: how to build its request and how to read its response.

    `build()` returns the keyword arguments of the generated `request_kwargs` of the operation;
    `parse(response, call)` returns the call's result or raises the package's error for it (`read`
    calls it). `vm`, `pid`
    and `credentials` are what errors report and redact. `renews_session`: whether an
    UNAUTHENTICATED answer may mean that the API session expired (not for the call that checks it).
    """

    operation: Operation
    build: Callable[[], Mapping[str, Any]] = attrs.field(repr=False)
    parse: Callable[[httpx.Response, Call[T]], T] = attrs.field(repr=False)
    vm: str | None = None
    pid: int | None = None
    credentials: Credentials | None = attrs.field(default=None, repr=False)
    renews_session: bool = True

    def read(self, response: httpx.Response) -> T:
        """The result of this call from its response (or the error the response is)."""
        return self.parse(response, self)

    @property
    def where(self) -> str:
        """`processes.create on vm-42`, as messages name a call."""
        return f"{self.operation.id} on {self.vm}" if self.vm else self.operation.id


class SessionCalls(Protocol):
    """The API session's calls, which the engine makes and the client hands in (the wire's `session`
    module is one): the engine stays below the wire, and loads no generated code itself."""

    def session_create(self) -> Call[str]:
        """Logs in (HTTP basic auth); its result is the session id."""
        ...

    def session_get(self) -> Call[bool]:
        """Whether the session is alive."""
        ...

    def session_delete(self) -> Call[None]:
        """Logs out."""
        ...
