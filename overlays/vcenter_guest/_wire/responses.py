"""Reading what came back: the success an operation documents, or the error the server sent.

Anything that does not conform becomes `errors.UnexpectedResponse`, and a vAPI error body becomes the
`errors.VapiError` subclass its `error_type` names. Why not the generated `_parse_response`: it picks
the error class by status and then by trying each documented error model in turn, so a well-formed
standard error the document does not list for that status (vCenter's runtime adds some) would be
lost, and it does not check the types of what `from_dict` returns. The service modules read their
bodies with the generated models' `from_dict` and these helpers.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from vcenter_guest_client.models.error import Error as ErrorModel
from vcenter_guest_client.models.error_type import ErrorType
from vcenter_guest_client.models.file_error_details import FileErrorDetails
from vcenter_guest_client.models.process_error_details import ProcessErrorDetails
from vcenter_guest_client.types import Unset

from vcenter_guest import errors
from vcenter_guest._engine.calls import Call
from vcenter_guest.operations import DocumentError, load_document

__all__ = [
    "PARSE_FAILURES",
    "array",
    "aware",
    "boolean",
    "failure",
    "fallback_table",
    "integer",
    "json_body",
    "no_content",
    "optional",
    "read",
    "status_error_type",
    "text",
    "unexpected",
]

T = TypeVar("T")

BODY_EXCERPT = 500

_KNOWN_TYPES = frozenset(member.value for member in ErrorType)
# RecursionError: a JSON answer nested deeper than the interpreter's stack (json and from_dict recurse).
PARSE_FAILURES = (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError, RecursionError)
_UTC = datetime.timezone.utc


def fallback_table(document: Mapping[str, Any]) -> dict[int, str]:
    """Status -> the error type a body without `error_type` is read as: each error schema's
    `x-vcenter-guest-status-fallback` (the vAPI runtime's reverse status table; see the document)."""
    table: dict[int, str] = {}
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        statuses = schema.get("x-vcenter-guest-status-fallback")
        if statuses is None:
            continue
        error_type = schema.get("x-vapi-error-type")
        if not isinstance(error_type, str):
            raise DocumentError(f"{name}: x-vcenter-guest-status-fallback on a schema without x-vapi-error-type")
        for status in statuses:
            if status in table:
                raise DocumentError(f"status {status} falls back to both {table[status]} and {error_type}")
            table[status] = error_type
    return table


@functools.cache
def _fallback() -> dict[int, str]:
    return fallback_table(load_document())


def status_error_type(status_code: int) -> str:
    """The error type assumed for an error body without `error_type` (a status no schema lists: the base ERROR)."""
    return _fallback().get(status_code, "ERROR")


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


def unexpected(response: httpx.Response, call: Call[Any], reason: str) -> errors.UnexpectedResponse:
    """The error for an answer that does not conform to the API document (a success of an operation
    whose answer is a secret, such as a guest's environment, without its body)."""
    secret = call.operation.secret_answer and response.status_code == call.operation.success_status
    body = "" if secret else _excerpt(response)
    content_type = _content_type(response) or None
    shown = body if len(body) <= 200 else body[:200] + "..."
    excerpt = "(withheld: it carries secrets)" if secret else repr(shown)
    return errors.UnexpectedResponse(
        f"{call.where}: unexpected response (HTTP {response.status_code}, "
        f"{content_type or 'no content type'}): {reason}; body: {excerpt}",
        status_code=response.status_code,
        content_type=content_type,
        body=body,
        reason=reason,
        operation=call.operation.id,
    )


def _error_data(raw: object) -> FileErrorDetails | ProcessErrorDetails | dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    try:
        if isinstance(raw.get("reason"), str) and isinstance(raw.get("file_path"), str):
            return FileErrorDetails.from_dict(raw)
        if type(raw.get("pid")) is int:
            return ProcessErrorDetails.from_dict(raw)
    except PARSE_FAILURES:
        pass  # not one of the two detail structures after all: keep the raw object
    return dict(raw)


def _standard_error_body(response: httpx.Response) -> tuple[dict[str, Any] | None, str]:
    """(the JSON body, "") if it looks like a vAPI standard error, else (None, why not)."""
    if not _is_json(response):
        return None, "an error status without a JSON standard error body"
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None, "the body is not valid JSON (or nested too deeply)"
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None, "the body is not a vAPI standard error"
    return body, ""


def failure(response: httpx.Response, call: Call[Any]) -> errors.VcenterGuestError:
    """The exception for a response that is not the operation's success: the VapiError subclass
    its `error_type` names if the body is a standard error, else UnexpectedResponse."""
    status = response.status_code
    operation = call.operation.id
    if status < 400:
        return unexpected(response, call, f"status {status} is not a documented answer of {operation}")
    body, why_not = _standard_error_body(response)
    if body is None:
        return unexpected(response, call, why_not)
    raw_type = body.get("error_type")
    # Dispatch by error_type, never by status alone (400 carries ten types); the status is the fallback.
    error_type = raw_type if isinstance(raw_type, str) and raw_type in _KNOWN_TYPES else status_error_type(status)
    try:
        # The generic Error model reads messages (every specific error has the same fields).
        messages = ErrorModel.from_dict({"messages": body["messages"]}).messages
        for message in messages:
            if not isinstance(message.default_message, str) or not isinstance(message.args, list):
                raise TypeError("message")
    except PARSE_FAILURES:
        return unexpected(response, call, "the messages of the error body are not LocalizableMessages")
    message_text = ": ".join(errors.render_message(m) for m in messages) or error_type
    fields: dict[str, Any] = {
        "status_code": status,
        "messages": messages,
        "data": _error_data(body.get("data")),
        "operation": operation,
        "vm": call.vm,
        "pid": call.pid,
        "error_type": error_type,
    }
    cls = errors.error_class(error_type)
    if issubclass(cls, errors.Unauthenticated):
        challenge = body.get("challenge")
        return cls(message_text, challenge=challenge if isinstance(challenge, str) else None, **fields)
    return cls(message_text, **fields)


def json_body(response: httpx.Response, call: Call[Any], what: str) -> Any:
    """The JSON body of the operation's success (else the error it is), `what` naming it for messages."""
    if response.status_code != call.operation.success_status:
        raise failure(response, call)
    if not _is_json(response):
        raise unexpected(response, call, f"{what} is not sent as JSON")
    try:
        return response.json()
    except (ValueError, RecursionError):
        raise unexpected(response, call, "the body is not valid JSON (or nested too deeply)") from None


def read(response: httpx.Response, call: Call[Any], what: str, convert: Callable[[Any], T]) -> T:
    """`convert(json_body)`, where any failure to convert means the body is not `what`."""
    raw = json_body(response, call, what)
    try:
        return convert(raw)
    except PARSE_FAILURES:
        raise unexpected(response, call, f"the body is not {what}") from None


def no_content(response: httpx.Response, call: Call[Any]) -> None:
    """A call's `parse` for a success without a body (204): anything else is the error it is."""
    if response.status_code != call.operation.success_status:
        raise failure(response, call)


def array(value: object, convert: Callable[[Any], T]) -> list[T]:
    """A JSON array, each item converted by `convert` (`from_dict` checks no types)."""
    if not isinstance(value, list):
        raise TypeError("not an array")
    return [convert(item) for item in value]


def boolean(value: object) -> bool:
    """A boolean of a generated model, type-checked (`from_dict` checks no types)."""
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def text(value: object) -> str:
    """A string of a generated model, type-checked (`from_dict` checks no types)."""
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


_INT64 = range(-(2**63), 2**63)


def integer(value: object) -> int:
    """An int64 of a generated model, type-checked (a bool is not one)."""
    if type(value) is not int:
        raise TypeError("not an integer")
    if value not in _INT64:
        raise OverflowError("not an int64")
    return value


def aware(value: object) -> datetime.datetime:
    """A date-time of a generated model; one without an offset is read as UTC (vCenter sends UTC)."""
    if not isinstance(value, datetime.datetime):
        raise TypeError("not a date-time")
    return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)


def optional(value: object, convert: Callable[[object], T]) -> T | None:
    """None for a field the server left unset, else the field converted."""
    return None if isinstance(value, Unset) else convert(value)
