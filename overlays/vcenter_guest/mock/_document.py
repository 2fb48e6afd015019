"""What the mock takes from the OpenAPI document: the operation table, and request validators.

Everything the HTTP layer needs to know about the API comes from the document shipped in
`vcenter_guest_client` (the one the client is generated from), through the overlay's operation
table, so a spec change reaches the mock without a hand-copied table.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jsonschema_rs
from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from vcenter_guest.operations import Operation, OperationTable, load_document, operations

__all__ = ["Document", "default_privileges", "document", "power_states", "query_filters", "reason_statuses"]


def _component_of(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _vapi_name(component: str) -> str:
    # Vcenter.Vm.Guest.Credentials -> com.vmware.vcenter.vm.guest.credentials, the way vAPI names
    # structures in its messages; request-body wrappers are vAPI's "operation-input".
    if component.endswith("RequestBody"):
        return "operation-input"
    return "com.vmware." + component.lower()


class Document:
    """The operation table of a document with precompiled request validators (build once per process)."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        components = spec["components"]["schemas"]
        table = OperationTable(spec)
        self.table = table
        self.status_by_error_type = table.status_by_error_type
        self.operations: Mapping[str, Operation] = table
        # id(inlined copy of a component) -> vAPI structure name, for the wording of errors.
        self._names: dict[int, str] = {}
        self._validators = {
            op.id: OAS30Validator(
                self._inline({"$ref": f"#/components/schemas/{op.body_schema}"}, components, ()),
                format_checker=oas30_format_checker,
            )
            for op in table.values()
            if op.body_schema is not None
        }
        # The same schemas compiled by jsonschema-rs, for the verdict on the common, valid body:
        # it takes a few microseconds where the pure-Python validator took about 60 (the largest
        # cost of a create). Request bodies hold objects, strings, booleans, int64 integers (their
        # bounds written out by _inline) and date-times, whose meaning JSON Schema draft 4 and
        # OpenAPI 3.0 share; tests/mock/test_validation_shortcuts.py checks the two validators agree.
        # Only a failing body goes to the OpenAPI validator, which explains the failure.
        self._fast = {
            operation_id: jsonschema_rs.Draft4Validator(validator.schema)
            for operation_id, validator in self._validators.items()
        }

    def _inline(self, schema: Any, components: Mapping[str, Any], seen: tuple[str, ...]) -> Any:
        """The schema with its `$ref`s replaced by the components they name.

        The same JSON Schema, only without references: resolving a `$ref` was three quarters of
        the cost of validating a request body. A single-member `allOf` next to annotations only
        (VMware's way of giving a `$ref` a description) is replaced by its member, which means the
        same. Request bodies have no recursive references; a cycle would raise here at startup.
        """
        if isinstance(schema, list):
            return [self._inline(item, components, seen) for item in schema]
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = _component_of(ref)
            if name in seen:
                raise ValueError(f"recursive schema {name} in a request body")
            inlined = self._inline(components[name], components, (*seen, name))
            self._names[id(inlined)] = _vapi_name(name)
            return inlined
        members = schema.get("allOf")
        if isinstance(members, list) and len(members) == 1 and set(schema) <= {"allOf", "description"}:
            return self._inline(members[0], components, seen)
        inlined = {key: self._inline(value, components, seen) for key, value in schema.items()}
        if schema.get("type") == "integer" and schema.get("format") == "int64":
            # OpenAPI's int64 format bounds the value; jsonschema-rs knows no such format, so the bounds
            # are written out for both validators (the same verdict either way).
            inlined.setdefault("minimum", -(2**63))
            inlined.setdefault("maximum", 2**63 - 1)
        return inlined

    def operation(self, operation_id: str) -> Operation:
        """The operation with this id (KeyError if the document has none)."""
        return self.table[operation_id]

    def allowed_methods(self, path: str) -> tuple[str, ...]:
        """The methods the document declares for a path template, sorted (for `Allow`)."""
        return tuple(sorted({op.method for op in self.operations.values() if op.path == path}))

    def body_error(self, operation_id: str, body: object) -> ValidationError | None:
        """The most relevant schema violation of a request body, or None if it is valid."""
        if self._fast[operation_id].is_valid(body):
            return None
        validator = self._validators[operation_id]
        error: ValidationError | None = best_match(validator.iter_errors(body))
        return error

    def structure_name(self, schema: object) -> str:
        """vAPI's name for the structure a (sub)schema of the document describes."""
        return self._names.get(id(schema), "operation-input")


@functools.cache
def document() -> Document:
    """The shipped document, indexed (cached: every app in the process shares it)."""
    return Document(load_document())


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved: Mapping[str, Any] = load_document()["components"]["schemas"][_component_of(ref)]
        return resolved
    return schema


def _declared(operation_id: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The path item and the operation object of an operation in the shipped document."""
    operation = operations()[operation_id]
    key = operation.path + (f"?action={operation.action}" if operation.action else "")
    item: Mapping[str, Any] = load_document()["paths"][key]
    return item, item[operation.method.lower()]


def _parameters(operation_id: str) -> list[Mapping[str, Any]]:
    """The parameters the shipped document declares for an operation (path item's and operation's)."""
    item, declared = _declared(operation_id)
    return [*item.get("parameters", ()), *declared.get("parameters", ())]


@functools.cache
def query_filters(operation_id: str) -> tuple[str, ...]:
    """The query parameters of an operation in the shipped document (VM.list's filters), in its order."""
    return tuple(p["name"] for p in _parameters(operation_id) if p.get("in") == "query")


@functools.cache
def power_states() -> tuple[str, ...]:
    """The power states a VM may be in: VM.list's `power_states` filter's items (`Vcenter.Vm.Power.State`)."""
    for parameter in _parameters("vm.list"):
        if parameter["name"] == "power_states":
            return tuple(_resolve(parameter["schema"]["items"])["enum"])
    raise LookupError("the document's vm.list has no power_states filter")


@functools.cache
def default_privileges() -> frozenset[str]:
    """What an API user of an inventory that names none may do: every privilege an operation of the
    shipped document asks for, but the `System.*` ones, which vCenter grants every user."""
    return frozenset(p for op in operations().values() for p in op.privileges if not p.startswith("System."))


@functools.cache
def reason_statuses(operation_id: str) -> Mapping[str, int]:
    """Why -> the status the data plane answers (`/guestFile`'s `x-vcenter-guest-reasons`), in the shipped
    document: its statuses are plain HTTP ones that VMware does not publish, so the document says them."""
    _, declared = _declared(operation_id)
    return {
        reason: int(status)
        for status, response in declared["responses"].items()
        for reason in response.get("x-vcenter-guest-reasons", ())
    }
