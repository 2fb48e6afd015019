"""The API session's calls (`session.create`, `session.get`, `session.delete`), which the engine makes."""

from __future__ import annotations

import httpx
from vcenter_guest_client import api

from vcenter_guest import errors
from vcenter_guest._engine.calls import Call
from vcenter_guest.operations import operations

from .responses import failure, read, text

__all__ = ["session_create", "session_delete", "session_get"]


def _session_id(raw: object) -> str:
    # It goes into a header on every call: printable ASCII only (vCenter's are hex), else the next call
    # would fail with UnicodeEncodeError or an illegal header value instead of at login, clearly.
    session_id = text(raw)
    if not session_id or not session_id.isascii() or not session_id.isprintable():
        raise ValueError("not a header value")
    return session_id


def session_create() -> Call[str]:
    """Logs in (HTTP basic auth); returns the session id."""
    op = operations()["session.create"]

    return Call(op, api.session_create.request_kwargs, _parse_create)


def _parse_create(response: httpx.Response, call: Call[str]) -> str:
    return read(response, call, "a session id (a non-empty JSON string of printable ASCII)", _session_id)


def session_get() -> Call[bool]:
    """Whether the session is alive (200) or not (401); anything else is raised."""
    return Call(operations()["session.get"], api.session_get.request_kwargs, _parse_get, renews_session=False)


def _parse_get(response: httpx.Response, call: Call[bool]) -> bool:
    if response.status_code == call.operation.success_status:
        return True
    error = failure(response, call)
    if isinstance(error, errors.Unauthenticated):
        return False
    raise error


def session_delete() -> Call[None]:
    """Logs out."""
    return Call(operations()["session.delete"], api.session_delete.request_kwargs, _parse_delete)


def _parse_delete(response: httpx.Response, call: Call[None]) -> None:
    if response.status_code not in {200, call.operation.success_status}:
        raise failure(response, call)
