"""Requests and responses of each operation, on top of the generated client.

Requests come from the generated request builders (`api/.../*.py: _get_kwargs`) and bodies from
the generated models' `to_dict`, so URLs and field names follow the API document. Responses are
read with the generated models' `from_dict`, then checked and converted to the overlay's values;
anything that does not conform becomes `errors.UnexpectedResponse`, and a vAPI error body becomes
the `errors.VapiError` subclass its `error_type` names.

Why not the generated `_parse_response`: it picks the error class by status and then by trying
each documented error model in turn, so a well-formed standard error the document does not list
for that status (vCenter's runtime adds some) would be lost, and it does not check the types of
what `from_dict` returns. This module is imported on the first request: it loads the generated
models, which `import vcenter_guest` must not.

Why `get` and `list` bodies are read here rather than by the generated `ProcessInfo.from_dict` /
`ProcessSummary.from_dict`: those parse date-times with dateutil's `isoparse` (about 6 us each,
the largest cost of a `get` after HTTP itself), where `datetime.fromisoformat` takes 0.1 us; `get`
is the call `run` repeats. tests/overlay/test_wire.py checks that both read every body the schema
allows the same way. WHEN IT CAN GO: when the pinned generator parses date-times with
`fromisoformat` (it does on Python >= 3.11 targets in later versions); then call `from_dict`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import httpx
from dateutil.parser import isoparse
from vcenter_guest_client.api.session import session_create, session_delete, session_get
from vcenter_guest_client.api.vmguestprocesses import create, delete, get, list_
from vcenter_guest_client.models.error import Error as ErrorModel
from vcenter_guest_client.models.error_type import ErrorType
from vcenter_guest_client.models.file_error_details import FileErrorDetails
from vcenter_guest_client.models.process_error_details import ProcessErrorDetails
from vcenter_guest_client.models.processes_create_body import ProcessesCreateBody
from vcenter_guest_client.models.processes_credentials_body import ProcessesCredentialsBody

from . import errors
from ._models import CreateSpec, Credentials
from ._results import ProcessInfo, ProcessSummary

__all__ = ["OPERATIONS", "Operation", "status_error_type"]

BODY_EXCERPT = 500

# Used when an error body has no `error_type` (facts: the runtime's reverse status table).
_STATUS_FALLBACK = {
    400: "INVALID_REQUEST",
    401: "UNAUTHENTICATED",
    403: "UNAUTHORIZED",
    404: "NOT_FOUND",
    409: "CONCURRENT_CHANGE",
    429: "SERVICE_UNAVAILABLE",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
    504: "TIMED_OUT",
}
_KNOWN_TYPES = frozenset(member.value for member in ErrorType)
_PARSE_FAILURES = (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError)

# Credentials bodies are built from the generated model once per Credentials object.
_Body = ProcessesCredentialsBody


def status_error_type(status_code: int) -> str:
    """The error type assumed for an error body without `error_type`."""
    return _STATUS_FALLBACK.get(status_code, "ERROR")


class Operation:
    """One API operation: how to build its request and read its response.

    `kind` says how it may be retried: "read" (list, get, session calls: freely), "create" (only if
    no program can have started), "delete" (freely; NOT_FOUND after a retry means done).
    """

    __slots__ = ("build", "kind", "name", "parse", "uses_session")

    def __init__(
        self,
        name: str,
        kind: str,
        build: Callable[..., dict[str, Any]],
        parse: Callable[[httpx.Response, str | None, int | None], Any],
        *,
        uses_session: bool = True,
    ) -> None:
        self.name = name
        self.kind = kind
        self.build = build
        self.parse = parse
        self.uses_session = uses_session

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"


# --- checking what came back ---------------------------------------------------------------------


def _content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value


def _is_json(response: httpx.Response) -> bool:
    media = _content_type(response).split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _excerpt(response: httpx.Response) -> str:
    try:
        text = response.content[: BODY_EXCERPT * 4].decode("utf-8", errors="replace")
    except httpx.HTTPError:  # a streamed body that was not read; never the case here
        return ""
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + "..."


def unexpected(response: httpx.Response, operation: str, vm: str | None, reason: str) -> errors.UnexpectedResponse:
    """The error for an answer that does not conform to the API document."""
    body = _excerpt(response)
    content_type = _content_type(response) or None
    where = f"{operation} on {vm}" if vm else operation
    shown = body if len(body) <= 200 else body[:200] + "..."
    return errors.UnexpectedResponse(
        f"{where}: unexpected response (HTTP {response.status_code}, "
        f"{content_type or 'no content type'}): {reason}; body: {shown!r}",
        status_code=response.status_code,
        content_type=content_type,
        body=body,
        reason=reason,
        operation=operation,
    )


def _error_data(raw: object) -> FileErrorDetails | ProcessErrorDetails | dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    try:
        if isinstance(raw.get("reason"), str) and isinstance(raw.get("file_path"), str):
            return FileErrorDetails.from_dict(raw)
        if type(raw.get("pid")) is int:
            return ProcessErrorDetails.from_dict(raw)
    except _PARSE_FAILURES:
        pass  # not one of the two detail structures after all: keep the raw object
    return dict(raw)


def _standard_error_body(response: httpx.Response) -> tuple[dict[str, Any] | None, str]:
    """(the JSON body, "") if it looks like a vAPI standard error, else (None, why not)."""
    if not _is_json(response):
        return None, "an error status without a JSON standard error body"
    try:
        body = response.json()
    except ValueError:
        return None, "the body is not valid JSON"
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None, "the body is not a vAPI standard error"
    return body, ""


def failure(response: httpx.Response, operation: str, vm: str | None, pid: int | None) -> errors.VcenterGuestError:
    """The exception for a response that is not the operation's success: the VapiError subclass
    its `error_type` names if the body is a standard error, else UnexpectedResponse."""
    status = response.status_code
    if status < 400:
        return unexpected(response, operation, vm, f"status {status} is not a documented answer of {operation}")
    body, why_not = _standard_error_body(response)
    if body is None:
        return unexpected(response, operation, vm, why_not)
    raw_type = body.get("error_type")
    # Dispatch by error_type, never by status alone (400 carries ten types); the status is the fallback.
    error_type = raw_type if isinstance(raw_type, str) and raw_type in _KNOWN_TYPES else status_error_type(status)
    try:
        # The generic Error model reads messages (every specific error has the same fields).
        messages = ErrorModel.from_dict({"messages": body["messages"]}).messages
        for message in messages:
            if not isinstance(message.default_message, str) or not isinstance(message.args, list):
                raise TypeError("message")
    except _PARSE_FAILURES:
        return unexpected(response, operation, vm, "the messages of the error body are not LocalizableMessages")
    text = ": ".join(errors.render_message(m) for m in messages) or error_type
    fields: dict[str, Any] = {
        "status_code": status,
        "messages": messages,
        "data": _error_data(body.get("data")),
        "operation": operation,
        "vm": vm,
        "pid": pid,
        "error_type": error_type,
    }
    cls = errors.error_class(error_type)
    if issubclass(cls, errors.Unauthenticated):
        challenge = body.get("challenge")
        return cls(text, challenge=challenge if isinstance(challenge, str) else None, **fields)
    return cls(text, **fields)


_UTC = datetime.timezone.utc


def _datetime(value: object) -> datetime.datetime:
    if not isinstance(value, str):
        raise TypeError("not a date-time string")
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        parsed = isoparse(value)  # Python 3.10's fromisoformat rejects "Z" and some fraction lengths
    # RFC 3339 date-times carry an offset; vCenter sends UTC. Read a bare one as UTC, not local time.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_UTC)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _integer(value: object) -> int:
    if type(value) is not int:
        raise TypeError("not an integer")
    return value


# --- the operations ------------------------------------------------------------------------------


def _build_create(vm: str, credentials: Credentials, spec: CreateSpec) -> dict[str, Any]:
    body = ProcessesCreateBody(credentials=credentials._cached_generated(), spec=spec.to_generated())
    return create._get_kwargs(vm, body=body)


def _parse_create(response: httpx.Response, vm: str | None, pid: int | None) -> int:
    if response.status_code != 201:
        raise failure(response, "create", vm, pid)
    if not _is_json(response):
        raise unexpected(response, "create", vm, "the pid is not sent as JSON")
    try:
        new_pid = _integer(response.json())
    except _PARSE_FAILURES:
        raise unexpected(response, "create", vm, "the body is not a pid (a JSON integer)") from None
    if new_pid < 0:
        raise unexpected(response, "create", vm, "the pid is negative")
    return new_pid


def _build_list(vm: str, credentials: Credentials, _: object = None) -> dict[str, Any]:
    return list_._get_kwargs(vm, body=_Body(credentials=credentials._cached_generated()))


def _summary(raw: object) -> ProcessSummary:
    if not isinstance(raw, dict):
        raise TypeError("not an object")
    return ProcessSummary(
        pid=_integer(raw["pid"]),
        name=_text(raw["name"]),
        owner=_text(raw["owner"]),
        command=_text(raw["command"]),
        started=_datetime(raw["started"]),
    )


def _parse_list(response: httpx.Response, vm: str | None, pid: int | None) -> list[ProcessSummary]:
    if response.status_code != 200:
        raise failure(response, "list", vm, pid)
    if not _is_json(response):
        raise unexpected(response, "list", vm, "the process list is not sent as JSON")
    try:
        raw = response.json()
        if not isinstance(raw, list):
            raise TypeError("not an array")
        return [_summary(item) for item in raw]
    except _PARSE_FAILURES:
        raise unexpected(response, "list", vm, "the body is not an array of Processes.Summary") from None


def _build_get(vm: str, credentials: Credentials, pid: int) -> dict[str, Any]:
    return get._get_kwargs(vm, pid, body=_Body(credentials=credentials._cached_generated()))


def _parse_get(response: httpx.Response, vm: str | None, pid: int | None) -> ProcessInfo:
    if response.status_code != 200:
        raise failure(response, "get", vm, pid)
    if not _is_json(response):
        raise unexpected(response, "get", vm, "the process info is not sent as JSON")
    try:
        raw = response.json()
        if not isinstance(raw, dict):
            raise TypeError("not an object")
        finished, exit_code = raw.get("finished"), raw.get("exit_code")
        return ProcessInfo(
            pid=pid if pid is not None else -1,
            name=_text(raw["name"]),
            owner=_text(raw["owner"]),
            command=_text(raw["command"]),
            started=_datetime(raw["started"]),
            finished=None if finished is None else _datetime(finished),
            exit_code=None if exit_code is None else _integer(exit_code),
        )
    except _PARSE_FAILURES:
        raise unexpected(response, "get", vm, "the body is not a Processes.Info") from None


def _build_delete(vm: str, credentials: Credentials, pid: int) -> dict[str, Any]:
    return delete._get_kwargs(vm, pid, body=_Body(credentials=credentials._cached_generated()))


def _parse_delete(response: httpx.Response, vm: str | None, pid: int | None) -> None:
    if response.status_code != 204:
        raise failure(response, "delete", vm, pid)


def _build_session_create(*_: object) -> dict[str, Any]:
    return session_create._get_kwargs()


def _parse_session_create(response: httpx.Response, vm: str | None, pid: int | None) -> str:
    if response.status_code != 201:
        raise failure(response, "session_create", None, None)
    if not _is_json(response):
        raise unexpected(response, "session_create", None, "the session id is not sent as JSON")
    try:
        session_id = _text(response.json())
    except _PARSE_FAILURES:
        raise unexpected(response, "session_create", None, "the body is not a session id (a JSON string)") from None
    if not session_id:
        raise unexpected(response, "session_create", None, "the session id is empty")
    return session_id


def _build_session_get(*_: object) -> dict[str, Any]:
    return session_get._get_kwargs()


def _parse_session_get(response: httpx.Response, vm: str | None, pid: int | None) -> bool:
    """Whether the session is alive (200) or not (401); anything else is raised."""
    if response.status_code == 200:
        return True
    error = failure(response, "session_get", None, None)
    if isinstance(error, errors.Unauthenticated):
        return False
    raise error


def _build_session_delete(*_: object) -> dict[str, Any]:
    return session_delete._get_kwargs()


def _parse_session_delete(response: httpx.Response, vm: str | None, pid: int | None) -> None:
    if response.status_code not in {200, 204}:
        raise failure(response, "session_delete", None, None)


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("create", "create", _build_create, _parse_create),
        Operation("list", "read", _build_list, _parse_list),
        Operation("get", "read", _build_get, _parse_get),
        Operation("delete", "delete", _build_delete, _parse_delete),
        Operation("session_create", "read", _build_session_create, _parse_session_create, uses_session=False),
        Operation("session_get", "read", _build_session_get, _parse_session_get),
        Operation("session_delete", "read", _build_session_delete, _parse_session_delete),
    )
}
