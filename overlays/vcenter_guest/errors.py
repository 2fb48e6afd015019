"""Everything `vcenter_guest` raises, in one tree.

    VcenterGuestError                 root: `except VcenterGuestError` catches all of it
    ├── VapiError                     the server answered with a vAPI standard error
    │   └── Error                     VMware's base error (error_type ERROR), as in the official SDK
    │       ├── AlreadyExists         one subclass per value of the generated ErrorType enum,
    │       ├── ...                   named as VMware names them (24 of them)
    │       ├── NotFound
    │       ├── Unauthenticated       (adds `challenge`)
    │       └── UnverifiedPeer
    ├── UnexpectedResponse            the server answered, but not as the API document says
    ├── TransportError                no answer at all; `may_have_reached_server` says what is known
    │   ├── RequestNotSent            the request never left (connect failed): safe to send again
    │   └── ResponseNotReceived       sent, but the answer was lost: it may have been acted upon
    ├── ProcessError                  about one guest process (`vm`, `pid`)
    │   ├── ProcessTimeout            `run` gave up waiting (`terminated` says if it was ended)
    │   ├── ProcessVanished           the process was forgotten before its exit was seen
    │   └── ProcessFailed             `run(check=True)` and the exit code was not 0 (`result`)
    └── UsageError                    a bad argument, found before anything was sent (also a ValueError)

Why explicit classes for the standard errors: mypy and IDEs only see classes written in source,
and users write `except errors.NotFound`. The generated `ErrorType` enum stays the source of
truth: `error_class()` builds the dispatch table from the enum, so an error type added to the
API document is still raised as its own subclass of `Error` (made on the fly) even before it is
written here (reach it with `error_class`), and tests/overlay/test_errors.py fails until it is,
naming it. The enum is read
lazily, on the first error, so that `import vcenter_guest` does not load the generated models.

    >>> from vcenter_guest import errors
    >>> err = errors.error_class("NOT_FOUND")("The virtual machine vm-7 was not found.")
    >>> isinstance(err, errors.NotFound), isinstance(err, errors.VapiError), err.error_type
    (True, True, 'NOT_FOUND')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import datetime

    from vcenter_guest_client.models.file_error_details import FileErrorDetails
    from vcenter_guest_client.models.localizable_message import LocalizableMessage
    from vcenter_guest_client.models.process_error_details import ProcessErrorDetails

    from ._values.results import ProcessResult

__all__ = [
    "AlreadyExists",
    "AlreadyInDesiredState",
    "Canceled",
    "ConcurrentChange",
    "Error",
    "FeatureInUse",
    "InternalServerError",
    "InvalidArgument",
    "InvalidElementConfiguration",
    "InvalidElementType",
    "InvalidRequest",
    "NotAllowedInCurrentState",
    "NotFound",
    "OperationNotFound",
    "ProcessError",
    "ProcessFailed",
    "ProcessTimeout",
    "ProcessVanished",
    "RequestNotSent",
    "ResourceBusy",
    "ResourceInUse",
    "ResourceInaccessible",
    "ResponseNotReceived",
    "ServiceUnavailable",
    "TimedOut",
    "TransportError",
    "UnableToAllocateResource",
    "Unauthenticated",
    "Unauthorized",
    "UnexpectedInput",
    "UnexpectedResponse",
    "Unsupported",
    "UnverifiedPeer",
    "UsageError",
    "VapiError",
    "VcenterGuestError",
    "class_name",
    "error_class",
    "render_message",
]


def _rebuild(cls: type[VcenterGuestError], args: tuple[object, ...], state: dict[str, object]) -> VcenterGuestError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class VcenterGuestError(Exception):
    """The root of everything this package raises.

    >>> try:
    ...     raise UsageError("pid must be an int")
    ... except VcenterGuestError as exc:
    ...     print(exc)
    pid must be an int
    """

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors defeat Exception's default pickling; errors cross process
        # boundaries (multiprocessing, concurrent.futures) with all their attributes this way.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class UsageError(VcenterGuestError, ValueError):
    """An argument is invalid (or the client is closed); nothing was sent to the server.

    Also a `ValueError`, so code that validates input the usual Python way catches it.

        >>> UsageError("vm must be a non-empty string, got ''")
        UsageError("vm must be a non-empty string, got ''")
    """


# --- server-reported standard errors -------------------------------------------------------------


def render_message(message: LocalizableMessage) -> str:
    """The text of one vAPI message: `localized` if set, else `default_message`.

    `default_message` already holds the arguments (VMware substitutes them; `args` carries them apart
    for localization), so nothing is filled in: a VM named `{0}` stays `{0}`.

        >>> from vcenter_guest_client.models import LocalizableMessage
        >>> render_message(LocalizableMessage(id="x", default_message="VM vm-7 is off.", args=["vm-7"]))
        'VM vm-7 is off.'
    """
    localized = message.localized
    if isinstance(localized, str) and localized:
        return localized
    return message.default_message


class VapiError(VcenterGuestError):
    """The server answered with a vAPI standard error (`error_type` in its JSON body).

    Attributes: `error_type` (e.g. "NOT_FOUND"), `status_code`, `messages` (the
    LocalizableMessages, outermost first), `data` (a FileErrorDetails or ProcessErrorDetails when it
    is one, else the raw JSON object, or None), `operation` (the operationId: "processes.create",
    "processes.get", "session.create"...),
    `vm` and `pid` when the operation had them. `str(error)` is the rendered message.

        >>> err = NotFound("The process 7 was not found.", status_code=404, operation="processes.get", vm="vm-1", pid=7)
        >>> (err.error_type, err.status_code, err.operation, str(err))
        ('NOT_FOUND', 404, 'processes.get', 'The process 7 was not found.')
    """

    error_type: str
    """The vAPI error type, e.g. "NOT_FOUND"; each subclass has its own as a class attribute."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        messages: Sequence[LocalizableMessage] = (),
        data: FileErrorDetails | ProcessErrorDetails | dict[str, Any] | None = None,
        operation: str | None = None,
        vm: str | None = None,
        pid: int | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        if error_type is not None:
            self.error_type = error_type
        self.status_code = status_code
        self.messages: list[LocalizableMessage] = list(messages)
        self.data = data
        self.operation = operation
        self.vm = vm
        self.pid = pid


class Error(VapiError):
    """VMware's `Error`: the generic standard error, and the base of the 24 specific ones."""

    error_type = "ERROR"


class AlreadyExists(Error):
    """An attempt was made to create an entity that already exists."""

    error_type = "ALREADY_EXISTS"


class AlreadyInDesiredState(Error):
    """An attempt was made to change something to the state it is already in."""

    error_type = "ALREADY_IN_DESIRED_STATE"


class Canceled(Error):
    """The operation was canceled."""

    error_type = "CANCELED"


class ConcurrentChange(Error):
    """The data changed since it was read (optimistic concurrency check failed)."""

    error_type = "CONCURRENT_CHANGE"


class FeatureInUse(Error):
    """The operation cannot be done because a feature is in use."""

    error_type = "FEATURE_IN_USE"


class InternalServerError(Error):
    """The server hit an internal error."""

    error_type = "INTERNAL_SERVER_ERROR"


class InvalidArgument(Error):
    """An argument is invalid: e.g. a program path that is not a path (`data`: FileErrorDetails)."""

    error_type = "INVALID_ARGUMENT"


class InvalidElementConfiguration(Error):
    """The element's configuration is invalid."""

    error_type = "INVALID_ELEMENT_CONFIGURATION"


class InvalidElementType(Error):
    """An element of the wrong type was used."""

    error_type = "INVALID_ELEMENT_TYPE"


class InvalidRequest(Error):
    """The request was malformed."""

    error_type = "INVALID_REQUEST"


class NotAllowedInCurrentState(Error):
    """The operation is not allowed now, e.g. the VM is not running."""

    error_type = "NOT_ALLOWED_IN_CURRENT_STATE"


class NotFound(Error):
    """A VM, program (`data`: FileErrorDetails) or process (`data`: ProcessErrorDetails) does not exist."""

    error_type = "NOT_FOUND"


class OperationNotFound(Error):
    """The server does not know the operation (e.g. vCenter older than 7.0.2)."""

    error_type = "OPERATION_NOT_FOUND"


class ResourceBusy(Error):
    """The VM is busy; retried automatically."""

    error_type = "RESOURCE_BUSY"


class ResourceInaccessible(Error):
    """A resource cannot be accessed."""

    error_type = "RESOURCE_INACCESSIBLE"


class ResourceInUse(Error):
    """A resource is in use."""

    error_type = "RESOURCE_IN_USE"


class ServiceUnavailable(Error):
    """VMware Tools are not running in the guest (or vCenter is unavailable); retried automatically."""

    error_type = "SERVICE_UNAVAILABLE"


class TimedOut(Error):
    """The server timed out; retried automatically."""

    error_type = "TIMED_OUT"


class UnableToAllocateResource(Error):
    """The program failed to start in the guest."""

    error_type = "UNABLE_TO_ALLOCATE_RESOURCE"


class Unauthenticated(Error):
    """Wrong guest credentials, wrong API user or password, or no valid API session.

    `challenge` is the server's WWW-Authenticate style challenge (e.g. `Basic realm="vCenter"`), or None.
    An expired API session never surfaces as this error when the client can log in again.
    """

    error_type = "UNAUTHENTICATED"

    def __init__(self, message: str, *, challenge: str | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.challenge = challenge


class Unauthorized(Error):
    """Permission denied: the guest user may not run or end it, or the API user lacks a privilege."""

    error_type = "UNAUTHORIZED"


class UnexpectedInput(Error):
    """The request contained unexpected input."""

    error_type = "UNEXPECTED_INPUT"


class Unsupported(Error):
    """Guest operations are unsupported or disabled by the VMware Tools in the guest."""

    error_type = "UNSUPPORTED"


class UnverifiedPeer(Error):
    """The server could not verify a peer."""

    error_type = "UNVERIFIED_PEER"


_EXPLICIT: dict[str, type[Error]] = {
    cls.error_type: cls
    for cls in (
        Error,
        AlreadyExists,
        AlreadyInDesiredState,
        Canceled,
        ConcurrentChange,
        FeatureInUse,
        InternalServerError,
        InvalidArgument,
        InvalidElementConfiguration,
        InvalidElementType,
        InvalidRequest,
        NotAllowedInCurrentState,
        NotFound,
        OperationNotFound,
        ResourceBusy,
        ResourceInaccessible,
        ResourceInUse,
        ServiceUnavailable,
        TimedOut,
        UnableToAllocateResource,
        Unauthenticated,
        Unauthorized,
        UnexpectedInput,
        Unsupported,
        UnverifiedPeer,
    )
}
_BY_TYPE: dict[str, type[Error]] | None = None


def class_name(error_type: str) -> str:
    """VMware's class name for an error type: "NOT_ALLOWED_IN_CURRENT_STATE" -> "NotAllowedInCurrentState".

    >>> class_name("RESOURCE_IN_USE")
    'ResourceInUse'
    """
    return "".join(word.capitalize() for word in error_type.split("_"))


def _dispatch_table() -> dict[str, type[Error]]:
    global _BY_TYPE  # noqa: PLW0603 - built once, on the first error, from the generated enum
    if _BY_TYPE is None:
        from vcenter_guest_client.models.error_type import ErrorType  # noqa: PLC0415 - keeps import light

        table: dict[str, type[Error]] = {}
        for member in ErrorType:
            cls = _EXPLICIT.get(member.value)
            if cls is None:
                # In the document but not yet written above: still its own class (the test says add it).
                cls = type(class_name(member.value), (Error,), {"error_type": member.value, "__module__": __name__})
            table[member.value] = cls
        _BY_TYPE = table
    return _BY_TYPE


def error_class(error_type: str) -> type[Error]:
    """The exception class for a vAPI error type; `Error` for a type the API document does not know.

    >>> error_class("RESOURCE_BUSY").__name__, error_class("SOMETHING_NEW").__name__
    ('ResourceBusy', 'Error')
    """
    return _dispatch_table().get(error_type, Error)


# --- answers that do not conform, and no answer at all --------------------------------------------


class UnexpectedResponse(VcenterGuestError):
    """The server answered, but not as the API document says: undocumented status, invalid JSON,
    wrong schema or wrong content type. `status_code`, `content_type`, `body` (truncated, secrets
    removed), `reason` and `operation` say what came back.

        >>> err = UnexpectedResponse("processes.create: HTTP 502", status_code=502, operation="processes.create")
        >>> err.status_code
        502
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        content_type: str | None = None,
        body: str = "",
        reason: str = "",
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.content_type = content_type
        self.body = body
        self.reason = reason
        self.operation = operation


class TransportError(VcenterGuestError):
    """No answer from the server. `may_have_reached_server` tells whether the request may have been
    acted upon: a `create` that may have reached the server is never sent again.

        >>> RequestNotSent("connection refused").may_have_reached_server
        False
    """

    may_have_reached_server: ClassVar[bool] = True

    def __init__(self, message: str, *, operation: str | None = None, vm: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.vm = vm


class RequestNotSent(TransportError):
    """The request never reached the server (connection refused, DNS, TLS handshake, pool timeout)."""

    may_have_reached_server = False


class ResponseNotReceived(TransportError):
    """The request was (perhaps partly) sent, but no response came: read timeout, dropped connection."""

    may_have_reached_server = True


# --- about one guest process ----------------------------------------------------------------------


class ProcessError(VcenterGuestError):
    """Something about one guest process: `vm` and `pid` say which."""

    def __init__(self, message: str, *, vm: str, pid: int) -> None:
        super().__init__(message)
        self.vm = vm
        self.pid = pid


class ProcessTimeout(ProcessError):
    """`run` waited `timeout` seconds and the process had not exited.

    `terminated` is True when `terminate_on_timeout=True` and the server accepted the delete
    (terminate) request; on POSIX guests that sends SIGTERM, then SIGKILL, yet a process stuck in
    the kernel may still run.

        >>> err = ProcessTimeout("vm-1: pid 7 still running after 5 s", vm="vm-1", pid=7, timeout=5.0)
        >>> err.pid, err.terminated
        (7, False)
    """

    def __init__(self, message: str, *, vm: str, pid: int, timeout: float, terminated: bool = False) -> None:
        super().__init__(message, vm=vm, pid=pid)
        self.timeout = timeout
        self.terminated = terminated


class ProcessVanished(ProcessError):
    """The process disappeared before its exit was observed.

    vCenter keeps a finished process's exit code for about 5 minutes; when nobody asks within that
    time (the client was suspended, the guest rebooted, another tool purged it), it is gone. `started`
    is when `run` started it, if known.
    """

    def __init__(self, message: str, *, vm: str, pid: int, started: datetime.datetime | None = None) -> None:
        super().__init__(message, vm=vm, pid=pid)
        self.started = started


class ProcessFailed(ProcessError):
    """`run(..., check=True)` and the program exited with a non-zero code; `result` has the details."""

    def __init__(self, message: str, *, result: ProcessResult) -> None:
        super().__init__(message, vm=result.vm, pid=result.pid)
        self.result = result
        self.exit_code = result.exit_code
