"""Reading a spec (Swagger 2.0 or OpenAPI 3.x, JSON or YAML) into one normalised model per operation.

The model keeps what the comparison needs and nothing else: parameters, request-body fields
(flattened: `spec.path`, `spec.environment_variables{}`, `files[].size`), success bodies, error
types per status and security, each with the JSON pointer of where it is written (which, for the
project's document, is where a difference is reported and a departure is recorded). Schema names
never enter the model, so a schema VMware renames is not a change of fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_PARAM = re.compile(r"\{[^}]*\}")


class SpecError(Exception):
    """The input cannot be read as a spec; the message says why in one line."""


@dataclass(frozen=True)
class Field:
    """One flattened field of a body: its type facts and where it is written."""

    type: str
    format: str = ""
    enum: tuple[str, ...] = ()
    required: bool = False
    pointer: str = ""  # where the field is declared (…/properties/name)
    type_pointer: str = ""  # where its type, format and enum are written (after $refs)


@dataclass
class Operation:
    """One operation of one spec, normalised."""

    method: str
    path: str  # as written, with its prefix (`/api/...`) and its `?action=`
    key: str  # METHOD + path without /api, path parameters as {}
    pointer: str
    name: str
    params: dict[str, Field] = field(default_factory=dict)
    param_pointers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Field] | None = None
    body_pointer: str = ""
    success: dict[str, dict[str, Field]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # status -> type -> pointer
    error_schemas: dict[str, dict[str, Field]] = field(default_factory=dict)  # type -> fields
    security: tuple[str, ...] = ()
    security_pointer: str = ""

    @property
    def family(self) -> str:
        return family_of(self.key)


@dataclass
class Spec:
    """The operations of one or more files, by key."""

    form: str  # "swagger-2.0" or "openapi-3"
    operations: dict[str, Operation]


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def family_of(key: str) -> str:
    """The service an operation belongs to: its path without action and trailing parameters."""
    path = key.split(" ", 1)[1].split("?", 1)[0]
    parts = path.split("/")
    while parts and parts[-1] == "{}":
        parts.pop()
    return "/".join(parts)


def op_key(method: str, path: str) -> str:
    bare = path[4:] if path.startswith("/api/") or path == "/api" else path
    return f"{method.upper()} {_PARAM.sub('{}', bare)}"
