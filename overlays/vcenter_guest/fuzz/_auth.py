"""Session authentication for schemathesis: log in once, send the session id on every guest call.

Every operation but `POST /api/session` declares the `session_id` scheme (the
`vmware-api-session-id` header). The provider logs in with HTTP basic auth once and reuses that
session, so schemathesis's `ignored_auth` check can remove or spoil the header and expect the real
401. `POST /api/session` itself declares `basic_auth`: the provider sends it the API user's basic
credentials (schemathesis applies no configured scheme auth once a provider is registered), so
`ignored_auth` exercises the login's 401 path too. Two operations would end or leak sessions:

* `DELETE /api/session` logs out whichever session it is sent: each of its cases gets a fresh,
  throwaway session, so the run's own session survives;
* sessions created that way, and those `POST /api/session` cases obtain, are logged out at the end.
"""

from __future__ import annotations

import contextlib
import json
import ssl
from typing import Any, Protocol

import httpx

from vcenter_guest.operations import Effect
from vcenter_guest.redaction import basic_auth_token

from ._state import RunState, operation_of

__all__ = ["LoginError", "Transport", "http_transport", "make_provider"]

SESSION_HEADER = "vmware-api-session-id"


class Transport(Protocol):
    """How the harness itself talks to the server: (method, path, headers, body) -> (status, body)."""

    def __call__(
        self, method: str, path: str, headers: dict[str, str], content: bytes | None = None
    ) -> tuple[int, bytes]: ...


class LoginError(Exception):
    """The server did not give the run a session (wrong password, unreachable, not this API)."""


def http_transport(base_url: str, *, verify: bool | ssl.SSLContext, timeout: float) -> Transport:
    """A Transport over HTTP(S)."""

    def send(method: str, path: str, headers: dict[str, str], content: bytes | None = None) -> tuple[int, bytes]:
        response = httpx.request(
            method, base_url + path, headers=headers, content=content, verify=verify, timeout=timeout
        )
        return response.status_code, response.content

    return send


def basic_authorization(user: str, password: str) -> str:
    """The value of an HTTP basic Authorization header."""
    return f"Basic {basic_auth_token(user, password)}"


def login(transport: Transport, user: str, password: str) -> str:
    """A new session id, or LoginError saying why there is none (never echoing the password)."""
    try:
        status, body = transport("POST", "/api/session", {"Authorization": basic_authorization(user, password)})
    except httpx.HTTPError as exc:
        raise LoginError(f"cannot reach the server: {type(exc).__name__}: {exc}") from None
    if status != 201:
        detail = ""
        try:
            error = json.loads(body)
            detail = f" {error.get('error_type', '')}" if isinstance(error, dict) else ""
        except ValueError:
            pass
        hint = " (check the user and VCENTER_PASSWORD)" if status == 401 else ""
        raise LoginError(f"POST /api/session answered {status}{detail}{hint}")
    try:
        session_id = json.loads(body)
    except ValueError:
        session_id = None
    if not isinstance(session_id, str) or not session_id:
        raise LoginError("POST /api/session answered 201 without a session id (a JSON string)")
    return session_id


def logout(transport: Transport, session_id: str) -> None:
    """Ends a session; a session that is already gone is fine."""
    with contextlib.suppress(httpx.HTTPError):
        transport("DELETE", "/api/session", {SESSION_HEADER: session_id})


def make_provider(state: RunState, transport: Transport) -> type[Any]:
    """A schemathesis AuthProvider class for this run (schemathesis instantiates it without arguments)."""
    target = state.target

    class SessionAuth:
        """Adds the run's session id; a throwaway session for the logout operation; basic auth for the login."""

        def get(self, case: Any, context: Any) -> str:
            op = operation_of(state, case)
            effect = op.effect if op is not None else None
            if effect is Effect.CREATES_SESSION:
                return basic_authorization(target.user, target.password)
            if effect is Effect.ENDS_SESSION:
                throwaway = login(transport, target.user, target.password)
                state.add_stray_session(throwaway)
                return throwaway
            with state.lock:
                if not state.own_sessions:
                    session_id = login(transport, target.user, target.password)
                    state.secrets.add(session_id)
                    state.own_sessions.append(session_id)
                return state.own_sessions[-1]

        def set(self, case: Any, data: str, context: Any) -> None:
            op = operation_of(state, case)
            header = "Authorization" if op is not None and op.effect is Effect.CREATES_SESSION else SESSION_HEADER
            case.headers = {**(case.headers or {}), header: data}

    return SessionAuth
