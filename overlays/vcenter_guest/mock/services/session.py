"""The session service (`com.vmware.cis.session`): logging in with HTTP basic credentials, the session's
info, logging out. Its rules (credentials, expiry, privileges) are the core part `_sessions.Sessions`,
which every call of the API meets first."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive, Scope

from vcenter_guest.mock._handlers import Api, handles, json_response
from vcenter_guest.mock._sessions import Sessions, basic_credentials
from vcenter_guest.operations import Operation

__all__: list[str] = []


@handles("session.create")
async def create(api: Api[Sessions], op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """POST /api/session: HTTP basic credentials -> a new session id."""
    api.inject_fault(op)
    user, password = basic_credentials(api.header(scope, b"authorization"))
    if user is None or password is None:
        raise api.simulator.unauthenticated()
    return json_response(api.simulator.create_session(user, password), op.success_status)


@handles("session.get")
async def get(api: Api[Sessions], op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """GET /api/session: the session's user and times."""
    return json_response(api.simulator.session_info(api.session_call(op, scope)), op.success_status)


@handles("session.delete")
async def delete(api: Api[Sessions], op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """DELETE /api/session: logs out."""
    api.simulator.delete_session(api.session_call(op, scope))
    return Response(status_code=op.success_status)
