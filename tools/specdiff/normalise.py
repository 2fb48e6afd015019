"""One document's operations as `Operation`s: parameters, body, successes, errors, security."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .model import METHODS, Field, Operation, escape, op_key
from .schemas import Resolver, flatten

# 9.1 answers a status with several errors as Vapi.Std.Errors.Error and lists them in prose.
_LISTED_ERROR = re.compile(r"\*\*\*Vapi\.Std\.Errors\.([A-Za-z]+)\*\*\*")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_JSON = "application~1json"


def error_type_of(ref: str) -> str:
    """`#/definitions/VapiStdErrorsNotAllowedInCurrentState` or `…/Vapi.Std.Errors.NotAllowedInCurrentState`."""
    name = ref.rsplit("/", 1)[-1]
    for prefix in ("Vapi.Std.Errors.", "VapiStdErrors"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return _CAMEL.sub("_", name).upper()


def _prefix(servers: Any) -> str:
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        return urlsplit(str(servers[0].get("url", "")).replace("{", "").replace("}", "")).path.rstrip("/")
    return ""


def _schemes(doc: dict[str, Any]) -> dict[str, Any]:
    found = doc.get("securityDefinitions") or doc.get("components", {}).get("securitySchemes") or {}
    return found if isinstance(found, dict) else {}


def _scheme_text(scheme: Any) -> str:
    if not isinstance(scheme, dict):
        return "(undefined)"
    kind = str(scheme.get("type"))
    if kind == "apiKey":
        return f"apiKey {scheme.get('in')} {scheme.get('name')}"
    if kind == "basic":
        return "http basic"
    if kind == "http":
        return f"http {str(scheme.get('scheme', '')).lower()}"
    return kind


def operations_of(
    doc: dict[str, Any], form: str, detailed: Callable[[str], bool] | None = None
) -> dict[str, Operation]:
    """Every operation of `doc` by key; those `detailed(key)` refuses keep only their name."""
    resolver = Resolver(doc)
    base = str(doc.get("basePath") or "").rstrip("/") if form == "swagger-2.0" else _prefix(doc.get("servers"))
    out: dict[str, Operation] = {}
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        full = (_prefix(item["servers"]) if "servers" in item else base) + str(path)
        for method in METHODS:
            if not isinstance(item.get(method), dict):
                continue
            key = op_key(method, full)
            pointer = f"/paths/{escape(str(path))}/{method}"
            op = Operation(method, full, key, pointer, str(item[method].get("operationId", key)))
            if detailed is None or detailed(key):
                _describe(op, resolver, item, item[method], form)
            out[key] = op
    return out


def _describe(op: Operation, resolver: Resolver, item: dict[str, Any], raw: dict[str, Any], form: str) -> None:
    path_pointer = op.pointer.rsplit("/", 1)[0]
    for holder, where in ((item, path_pointer), (raw, op.pointer)):
        for index, param in enumerate(holder.get("parameters") or []):
            _parameter(op, resolver, param, f"{where}/parameters/{index}")
    if form == "openapi-3" and raw.get("requestBody"):
        body = resolver.resolve(raw["requestBody"], f"{op.pointer}/requestBody")[0]
        media, schema = _content(body)
        pointer = f"{op.pointer}/requestBody/content/{escape(media)}/schema"
        op.body, op.body_pointer = flatten(resolver, schema, pointer, bool(body.get("required"))), pointer
    for status, response in (raw.get("responses") or {}).items():
        _response(op, resolver, str(status), response, form)
    schemes = _schemes(resolver.doc)
    requirements = raw.get("security", resolver.doc.get("security")) or []
    op.security = tuple(sorted(" + ".join(_scheme_text(schemes.get(n)) for n in sorted(r)) for r in requirements))
    op.security_pointer = f"{op.pointer}/security"


def _content(holder: dict[str, Any]) -> tuple[str, Any]:
    content = holder.get("content") or {}
    if not content:
        return "", None
    media = "application/json" if "application/json" in content else next(iter(content))
    return str(media), (content[media] or {}).get("schema")


def _parameter(op: Operation, resolver: Resolver, param: Any, where: str) -> None:
    param, _, _ = resolver.resolve(param, where)
    if param.get("in") == "body":
        op.body_pointer = f"{where}/schema"
        op.body = flatten(resolver, param.get("schema"), op.body_pointer, bool(param.get("required")))
        return
    schema = param.get("schema") or param  # Swagger 2.0 writes the type on the parameter itself
    fields = flatten(resolver, schema, where)
    top = fields.get("", Field(""))
    items = fields.get("[]")
    kind = f"{param.get('in')} {top.type}" + (f" of {items.type}" if items else "")
    enum = (items.enum if items else top.enum) or resolver.enum_in_prose(param)
    op.params[str(param["name"])] = Field(kind, (items or top).format, enum, bool(param.get("required")), where)
    op.param_pointers[str(param["name"])] = where


def _response(op: Operation, resolver: Resolver, status: str, response: Any, form: str) -> None:
    response, _, _ = resolver.resolve(response, "")
    where = f"{op.pointer}/responses/{escape(status)}"
    if form == "swagger-2.0":
        media, schema = ("application/json", response.get("schema")) if response.get("schema") else ("", None)
    else:
        media, schema = _content(response)
    schema_pointer = f"{where}/content/{escape(media)}/schema"
    if not status.isdigit() or int(status) < 400:
        fields = flatten(resolver, schema, schema_pointer) if schema is not None else {"": Field("(no body)")}
        op.success[status] = fields
        return
    op.errors[status] = {}
    for error, pointer, target in _error_types(resolver, response, schema, schema_pointer, media):
        op.errors[status][error] = pointer
        if target is not None and error not in op.error_schemas:
            op.error_schemas[error] = flatten(resolver, target, "")


def _error_types(
    resolver: Resolver, response: dict[str, Any], schema: Any, pointer: str, media: str
) -> list[tuple[str, str, Any]]:
    """(error type, pointer, schema) for each error a response declares."""
    if not isinstance(schema, dict):
        return [(f"({media or 'no body'})", pointer, None)]
    members = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(members, list):
        found = []
        for index, member in enumerate(members):
            target, _, _ = resolver.resolve(member, "")
            named = target.get("x-vapi-error-type") if isinstance(target, dict) else None
            found.append((str(named or error_type_of(str(member.get("$ref", "")))), f"{pointer}/anyOf/{index}", member))
        return found
    if "$ref" not in schema:
        return [(f"({media}, not a vAPI error)", pointer, None)]
    error = error_type_of(str(schema["$ref"]))
    listed = _LISTED_ERROR.findall(str(response.get("description", "")))
    if error == "ERROR" and listed:
        return [(error_type_of(name), pointer, {"$ref": _sibling(schema["$ref"], name)}) for name in listed]
    return [(error, pointer, schema)]


def _sibling(ref: str, name: str) -> str:
    return f"{ref.rsplit('/', 1)[0]}/Vapi.Std.Errors.{name}"
