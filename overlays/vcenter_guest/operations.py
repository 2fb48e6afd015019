"""The operations of the API, read from the document the client was generated from.

One table serves the client (which request to send, what success looks like, whether a call may be
sent again), the mock vCenter (routes, statuses, privileges, which handler serves what) and the fuzz
command (which safety rule applies): no other list of operations exists in the package.

    >>> from vcenter_guest.operations import operations
    >>> op = operations()["processes.create"]
    >>> op.method, op.path, op.action, op.success_status, op.resend
    ('POST', '/api/vcenter/vm/{vm}/guest/processes', 'create', 201, <Resend.NEVER: 'never'>)
    >>> op.service, op.name, op.path_parameters
    ('processes', 'create', ('vm',))

The document is read from `vcenter_guest_client/openapi.json` (the shipped `openapi.yaml`, as JSON)
with the standard library, on first use: `import vcenter_guest` does not pay for it.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "Effect",
    "Operation",
    "OperationTable",
    "Resend",
    "VapiId",
    "document_path",
    "load_document",
    "operations",
]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Patterns, compiled by `re` on first use (its cache keeps them): `import vcenter_guest` does not pay for them.
_ACTION = r"^(?P<path>[^?]+)\?action=(?P<action>\w+)$"
_ID = r"^(?P<service>[a-z][a-z0-9_]*)\.(?P<name>[a-z][a-z0-9_]*)$"


class Resend(enum.Enum):
    """`x-vcenter-guest-resend`: may a request be sent again when the first may have reached the server?"""

    SAFE = "safe"
    """It changes nothing: send it again freely."""
    IDEMPOTENT = "idempotent"
    """Twice has the effect of once; NOT_FOUND after a resend means an earlier attempt did the job."""
    HARMLESS_DUPLICATE = "harmless-duplicate"
    """A second effect nobody minds (a spare API session, which expires by itself)."""
    NEVER = "never"
    """A second effect would do harm (start the program twice): never once it may have reached the server."""


class Effect(enum.Enum):
    """`x-vcenter-guest-effect`: what an operation does, for the fuzz command's safety rules."""

    NONE = "none"
    CREATES_SESSION = "creates-session"
    ENDS_SESSION = "ends-session"
    STARTS_PROGRAM = "starts-program"
    TERMINATES_PROCESS = "terminates-process"
    READS_GUEST_FILES = "reads-guest-files"
    CREATES_GUEST_FILES = "creates-guest-files"
    OPENS_TRANSFER = "opens-transfer"
    WRITES_GUEST_FILES = "writes-guest-files"
    DELETES_GUEST_FILES = "deletes-guest-files"
    CHANGES_POWER = "changes-power"
    """Powers a VM or its guest on, off, down, into standby or through a reset: every program in the
    guest may stop. The fuzz command has no rule for it, so it is sent to sandboxes only."""

    @property
    def names_what_it_made(self) -> bool:
        """Whether a success leaves something in the guest that only its answer names (a program's pid,
        a temporary directory's path): an interrupted client finishes such an exchange, to undo it."""
        return self in _NAMES_WHAT_IT_MADE


_NAMES_WHAT_IT_MADE = frozenset({Effect.STARTS_PROGRAM, Effect.CREATES_GUEST_FILES})


@attrs.frozen
class VapiId:
    """An operation's vAPI identity (`x-vcenter-guest-vapi`), as the vAPI runtime names it.

    >>> operations()["processes.create"].vapi
    VapiId(service='com.vmware.vcenter.vm.guest.processes', operation='create')
    """

    service: str
    """The vAPI service id, e.g. `com.vmware.vcenter.vm.guest.processes`."""
    operation: str
    """The vAPI operation id within the service, e.g. `create`."""


class DocumentError(ValueError):
    """The document breaks a convention the table relies on; the message names the operation."""


@attrs.frozen
class Operation:
    """One operation of the document."""

    id: str
    """The operationId, `<service>.<operation>`: unique across services (e.g. "processes.create")."""
    method: str
    """The HTTP method, upper case."""
    path: str
    """The path template without VMware's `?action=...` suffix, e.g. `/api/vcenter/vm/{vm}/guest/processes`."""
    action: str | None
    """The `action` query value VMware writes into the path key, or None."""
    path_parameters: tuple[str, ...]
    """Names of the path parameters, in the order the path has them."""
    success_status: int
    """The one 2xx status the document gives."""
    error_statuses: Mapping[str, int] = attrs.field(repr=False)
    """Error type -> HTTP status, for every error the operation documents."""
    privileges: tuple[str, ...] = attrs.field(repr=False)
    """The vCenter privileges the API user needs (`x-vapi-privileges`)."""
    resend: Resend | None = attrs.field(repr=False)
    """`x-vcenter-guest-resend`, or None when the document does not say (then it is never re-sent)."""
    effect: Effect | None = attrs.field(repr=False)
    """`x-vcenter-guest-effect`, or None when the document does not say (then the fuzz command never sends
    it to a server that is not a sandbox)."""
    uses_session: bool = attrs.field(repr=False)
    """Whether it authenticates with the session header (every operation but the login)."""
    body_schema: str | None = attrs.field(repr=False)
    """The component name of its JSON request body, if it has one."""
    body_fields: tuple[str, ...] = attrs.field(repr=False)
    """Top-level properties of that body (e.g. `credentials`, `spec`)."""
    raw_path_parameters: tuple[str, ...] = attrs.field(default=(), repr=False)
    """Path parameters marked `x-vcenter-guest-raw-path`: a whole guest path, sent with its slashes."""
    served_by_host: bool = attrs.field(default=False, repr=False)
    """Its path has its own `servers`: the ESXi host's data plane (`/guestFile`), at the URL a transfer
    names rather than at vCenter."""
    vapi: VapiId | None = attrs.field(default=None, repr=False)
    """`x-vcenter-guest-vapi`: the vAPI service and operation ids VMware's runtime calls it by (the
    official SDK's JSON-RPC names it so), or None when it is no vAPI operation (the data plane)."""
    secret_answer: bool = attrs.field(default=False, repr=False)
    """Its success body is a secret (`format: password` or `x-vcenter-guest-sensitive` on its schema:
    a session id, a guest's environment): an answer of the wrong shape is reported without its body."""
    error_data: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    """Error type -> the component schema of the `data` that error carries when it is about what the
    request named (`x-vcenter-guest-error-data`: a pid's ProcessErrorDetails, a path's FileErrorDetails)."""

    @property
    def service(self) -> str:
        """The service part of the id: "processes" for "processes.create"."""
        return self.id.partition(".")[0]

    @property
    def name(self) -> str:
        """The operation part of the id, the method users call: "create" for "processes.create"."""
        return self.id.partition(".")[2]

    @property
    def path_key(self) -> str:
        """The path key of the document (with `?action=...`)."""
        return f"{self.path}?action={self.action}" if self.action else self.path

    @property
    def label(self) -> str:
        """`METHOD path-key`, as reports show an operation."""
        return f"{self.method} {self.path_key}"

    @property
    def takes_guest_credentials(self) -> bool:
        """Whether its request body carries guest `credentials`."""
        return "credentials" in self.body_fields


def _component_of(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _enum(kind: type[enum.Enum], value: object, where: str, extension: str) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise DocumentError(f"{where}: {extension} {value!r} is not one of {allowed}") from None


def _operation(key: str, method: str, item: Mapping[str, Any], schemas: Mapping[str, Any], secured: bool) -> Operation:
    op: Mapping[str, Any] = item[method]
    op_id = op.get("operationId")
    where = f"{method.upper()} {key}"
    if not isinstance(op_id, str) or not re.match(_ID, op_id):
        raise DocumentError(f"{where}: operationId {op_id!r} must be <service>.<operation>, e.g. processes.create")
    match = re.match(_ACTION, key)
    path, action = (match["path"], match["action"]) if match else (key, None)
    successes = sorted(int(s) for s in op.get("responses", {}) if s.isdigit() and 200 <= int(s) < 300)
    if len(successes) != 1:
        raise DocumentError(f"{op_id}: the document must give exactly one success status, not {successes}")
    errors: dict[str, int] = {}
    error_data: dict[str, str] = {}
    for status, response in op.get("responses", {}).items():
        error_data.update(_error_data(op_id, status, response, schemas))
        for media in response.get("content", {}).values():
            schema_of_status = media.get("schema", {})
            for alternative in schema_of_status.get("anyOf", []) + schema_of_status.get("oneOf", []):
                schema = schemas[_component_of(alternative["$ref"])]
                errors[schema["x-vapi-error-type"]] = int(status)
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    body_schema = _component_of(body["$ref"]) if body else None
    security = op.get("security")
    parameters = [*item.get("parameters", ()), *op.get("parameters", ())]
    raw = tuple(p["name"] for p in parameters if p.get("in") == "path" and p.get("x-vcenter-guest-raw-path"))
    return Operation(
        id=op_id,
        method=method.upper(),
        path=path,
        action=action,
        path_parameters=tuple(re.findall(r"{(\w+)}", path)),
        success_status=successes[0],
        error_statuses=errors,
        error_data=error_data,
        privileges=tuple(op.get("x-vapi-privileges", ())),
        resend=_enum(Resend, op.get("x-vcenter-guest-resend"), op_id, "x-vcenter-guest-resend"),
        effect=_enum(Effect, op.get("x-vcenter-guest-effect"), op_id, "x-vcenter-guest-effect"),
        uses_session=any("session_id" in s for s in security) if security is not None else secured,
        body_schema=body_schema,
        body_fields=tuple(schemas[body_schema].get("properties", {})) if body_schema else (),
        raw_path_parameters=raw,
        served_by_host="servers" in item,
        vapi=_vapi_id(op_id, op.get("x-vcenter-guest-vapi")),
        secret_answer=_secret_answer(op["responses"][str(successes[0])]),
    )


def _error_data(op_id: str, status: str, response: Mapping[str, Any], schemas: Mapping[str, Any]) -> dict[str, str]:
    """`x-vcenter-guest-error-data` of one error response: each type one of the status's, each schema a component."""
    declared = response.get("x-vcenter-guest-error-data", {})
    types = {
        schemas[_component_of(alternative["$ref"])]["x-vapi-error-type"]
        for media in response.get("content", {}).values()
        for alternative in media.get("schema", {}).get("anyOf", []) + media.get("schema", {}).get("oneOf", [])
    }
    for error_type, schema in declared.items():
        if error_type not in types or schema not in schemas:
            raise DocumentError(
                f"{op_id}: x-vcenter-guest-error-data at {status} names {error_type} -> {schema!r}: "
                "the type must be one of the status's errors and the schema a component"
            )
    return dict(declared)


def _vapi_id(op_id: str, value: object) -> VapiId | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"service", "operation"}:
        raise DocumentError(f"{op_id}: x-vcenter-guest-vapi must be {{service, operation}}, not {value!r}")
    service, operation = value["service"], value["operation"]
    if not isinstance(service, str) or not isinstance(operation, str) or not service or not operation:
        raise DocumentError(f"{op_id}: x-vcenter-guest-vapi's service and operation must be names")
    return VapiId(service, operation)


def _secret_answer(response: Mapping[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("x-vcenter-guest-sensitive")) or schema.get("format") == "password"


class OperationTable(Mapping[str, Operation]):
    """The operations of one document, by id, in document order.

    `OperationTable(document)` reads any document (tests use a copy with one operation more);
    `operations()` is the table of the shipped one.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        schemas = document.get("components", {}).get("schemas", {})
        secured = any("session_id" in s for s in document.get("security", ()))
        table: dict[str, Operation] = {}
        for key, item in document.get("paths", {}).items():
            for method in _METHODS:
                if method in item:
                    op = _operation(key, method, item, schemas, secured)
                    if op.id in table:
                        raise DocumentError(f"operationId {op.id} is used twice")
                    table[op.id] = op
        self._table = table
        self.document = document
        self.by_vapi: dict[VapiId, Operation] = {}
        """The operations that have a vAPI identity, by it (the mock's JSON-RPC dispatches with it)."""
        for op in table.values():
            if op.vapi is not None:
                if op.vapi in self.by_vapi:
                    raise DocumentError(f"{op.id}: x-vcenter-guest-vapi {op.vapi} is also {self.by_vapi[op.vapi].id}'s")
                self.by_vapi[op.vapi] = op
        self.status_by_error_type: dict[str, int] = {
            schema["x-vapi-error-type"]: int(schema["x-vapi-http-status"])
            for schema in schemas.values()
            if "x-vapi-error-type" in schema and "x-vapi-http-status" in schema
        }
        """Error type -> the HTTP status its specific error schema gives (`x-vapi-http-status`)."""

    def __getitem__(self, operation_id: str) -> Operation:
        return self._table[operation_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f"OperationTable({', '.join(self._table)})"

    def of_service(self, service: str) -> list[Operation]:
        """The operations of one service ("processes"), in document order."""
        return [op for op in self._table.values() if op.service == service]


def document_path() -> Path:
    """Path of the shipped document as written (`vcenter_guest_client/openapi.yaml`)."""
    from importlib import resources  # noqa: PLC0415 - on first use: `import vcenter_guest` does not pay for it

    return Path(str(resources.files("vcenter_guest_client") / "openapi.yaml"))


@functools.cache
def load_document() -> dict[str, Any]:
    """The shipped document, parsed (from its JSON copy). Cached: treat the result as read-only."""
    from importlib import resources  # noqa: PLC0415 - on first use: `import vcenter_guest` does not pay for it

    text = (resources.files("vcenter_guest_client") / "openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@functools.cache
def operations() -> OperationTable:
    """The table of the shipped document (cached)."""
    return OperationTable(load_document())
