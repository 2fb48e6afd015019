"""A small document in the project's form, and VMware's two published forms of it.

`document()` is a document like openapi/vcenter-guest.yaml (paths under /api, errors as an anyOf of
schemas with x-vapi-error-type); `as_swagger()` writes it as VMware's 7.0.3 Swagger 2.0 does
(definitions named without dots, one error $ref per status), `as_openapi3()` as VMware's 9.1
OpenAPI 3 does (server URL .../api, paths without /api, several errors at one status as
Vapi.Std.Errors.Error listed in the description, enum properties inlined with their enum named in
prose). Tests change the VMware copy and check what the diff reports.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
JSON = "application/json"


def _error(name: str, kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "x-vapi-error-type": kind,
        "required": ["messages"],
        "properties": {"messages": {"type": "array", "items": {"type": "string"}}, "error_type": {"type": "string"}},
    }


ERRORS = {
    "Unsupported": "UNSUPPORTED",
    "InvalidArgument": "INVALID_ARGUMENT",
    "NotFound": "NOT_FOUND",
    "Unauthenticated": "UNAUTHENTICATED",
    "ServiceUnavailable": "SERVICE_UNAVAILABLE",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*names: str) -> dict[str, Any]:
    return {
        "description": "errors",
        "content": {JSON: {"schema": {"anyOf": [_ref(f"Vapi.Std.Errors.{n}") for n in names]}}},
    }


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {f"Vapi.Std.Errors.{n}": _error(n, t) for n, t in ERRORS.items()}
    schemas["Vcenter.Vm.Guest.Credentials.Type"] = {
        "type": "string",
        "enum": ["USERNAME_PASSWORD", "SAML_BEARER_TOKEN"],
    }
    schemas["Vcenter.Vm.Guest.Credentials"] = {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"allOf": [_ref("Vcenter.Vm.Guest.Credentials.Type")], "description": "how"},
            "password": {"type": "string", "format": "password"},
        },
    }
    schemas["Vcenter.Vm.Guest.Processes.CreateSpec"] = {
        "type": "object",
        "required": ["path"],
        "properties": {
            "path": {"type": "string"},
            "arguments": {"type": "string"},
            "environment_variables": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    schemas["Vcenter.Vm.Guest.Processes.CreateRequestBody"] = {
        "type": "object",
        "required": ["credentials", "spec"],
        "properties": {
            "credentials": {"allOf": [_ref("Vcenter.Vm.Guest.Credentials")]},
            "spec": {"allOf": [_ref("Vcenter.Vm.Guest.Processes.CreateSpec")]},
        },
    }
    return schemas


def document() -> dict[str, Any]:
    vm = {"name": "vm", "in": "path", "required": True, "schema": {"type": "string"}}
    body = {"required": True, "content": {JSON: {"schema": _ref("Vcenter.Vm.Guest.Processes.CreateRequestBody")}}}
    create = {
        "operationId": "processes.create",
        "parameters": [vm],
        "requestBody": body,
        "responses": {
            "201": {"description": "pid", "content": {JSON: {"schema": {"type": "integer", "format": "int64"}}}},
            "400": _errors("InvalidArgument"),
            "404": _errors("NotFound"),
        },
    }
    credentials_only = {
        "type": "object",
        "required": ["credentials"],
        "properties": {"credentials": _ref("Vcenter.Vm.Guest.Credentials")},
    }
    listing = {
        "operationId": "processes.list",
        "parameters": [vm],
        "requestBody": {"required": True, "content": {JSON: {"schema": credentials_only}}},
        "responses": {
            "200": {"description": "ok", "content": {JSON: {"schema": {"type": "array", "items": {"type": "string"}}}}}
        },
    }
    session = {
        "operationId": "session.create",
        "security": [{"basic_auth": []}],
        "responses": {
            "201": {"description": "id", "content": {JSON: {"schema": {"type": "string", "format": "password"}}}},
            "401": _errors("Unauthenticated"),
        },
    }
    schemas = _schemas()
    return {
        "openapi": "3.0.3",
        "info": {"title": "small", "version": "1"},
        "servers": [{"url": "https://{vcenter}", "variables": {"vcenter": {"default": "vc"}}}],
        "security": [{"session_id": []}],
        "paths": {
            "/api/session": {"post": session},
            "/api/vcenter/vm/{vm}/guest/processes?action=create": {"post": create},
            "/api/vcenter/vm/{vm}/guest/processes?action=list": {"post": listing},
        },
        "components": {
            "securitySchemes": {
                "session_id": {"type": "apiKey", "in": "header", "name": "vmware-api-session-id"},
                "basic_auth": {"type": "http", "scheme": "basic"},
            },
            "schemas": schemas,
        },
    }


def _rename_refs(node: Any, rename: dict[str, str], prefix: str) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return {**{k: v for k, v in node.items() if k != "$ref"}, "$ref": prefix + rename.get(name, name)}
        return {k: _rename_refs(v, rename, prefix) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_refs(v, rename, prefix) for v in node]
    return node


def _first_error(response: dict[str, Any]) -> str:
    return response["content"][JSON]["schema"]["anyOf"][0]["$ref"].rsplit("/", 1)[-1]


def as_swagger(doc: dict[str, Any]) -> dict[str, Any]:
    """As VMware's 7.0.3 export: definitions without dots, one error schema per status, `in: body`."""
    names = {n: n.replace(".", "") for n in doc["components"]["schemas"]}
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = [{k: v for k, v in p.items() if k != "schema"} | p["schema"] for p in op.get("parameters", [])]
            if "requestBody" in op:
                schema = op["requestBody"]["content"][JSON]["schema"]
                params.append({"in": "body", "name": "request_body", "required": True, "schema": schema})
            responses = {}
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    responses[status] = {"description": "", "schema": _ref(_first_error(response))}
                else:
                    responses[status] = {"description": "", "schema": response["content"][JSON]["schema"]}
            converted = {"operationId": op["operationId"].split(".")[-1], "parameters": params, "responses": responses}
            converted["security"] = op.get("security", doc["security"])
            paths.setdefault(path, {})[method] = _rename_refs(converted, names, "#/definitions/")
    schemes = {"session_id": doc["components"]["securitySchemes"]["session_id"], "basic_auth": {"type": "basic"}}
    definitions = {names[n]: _rename_refs(s, names, "#/definitions/") for n, s in doc["components"]["schemas"].items()}
    return {"swagger": "2.0", "info": {"title": "vcenter", "version": "2.0.0"}, "basePath": "", "paths": paths,
            "definitions": definitions, "securityDefinitions": schemes}  # fmt: skip


def _errors_91(response: dict[str, Any]) -> dict[str, Any]:
    names = [m["$ref"].rsplit("/", 1)[-1] for m in response["content"][JSON]["schema"]["anyOf"]]
    if len(names) == 1:
        return {"description": "if", "content": {JSON: {"schema": _ref(names[0])}}}
    prose = "\n\n".join(f"***{n}*** if something." for n in names)
    return {"description": prose, "content": {JSON: {"schema": _ref("Vapi.Std.Errors.Error")}}}


def as_openapi3(doc: dict[str, Any]) -> dict[str, Any]:
    """As VMware's 9.1 file: server .../api, several errors as Error + prose, enums inlined."""
    out = copy.deepcopy(doc)
    out["servers"] = [{"url": "https://{host}/api", "variables": {"host": {"default": "localhost"}}}]
    out["paths"] = {}
    for path, item in doc["paths"].items():
        for method, op in copy.deepcopy(item).items():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    op["responses"][status] = _errors_91(response)
            out["paths"].setdefault(re.sub(r"^/api", "", path), {})[method] = op
    schemas = out["components"]["schemas"]
    schemas["Vapi.Std.Errors.Error"] = _error("Error", "ERROR")
    for schema in schemas.values():
        schema.pop("x-vapi-error-type", None)
    creds = schemas["Vcenter.Vm.Guest.Credentials"]["properties"]
    creds["type"] = {"type": "string", "description": "For more information see: *Vcenter.Vm.Guest.Credentials.Type*."}
    return out


@pytest.fixture(autouse=True)
def _checkout_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # tools/ is a folder of the checkout, not part of the installed package.
    monkeypatch.syspath_prepend(str(ROOT))


@pytest.fixture
def write(tmp_path: Path) -> Any:
    """write(name, data, as_yaml=False) -> the path of a file holding `data`."""

    def _write(name: str, data: Any, as_yaml: bool = False) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data) if as_yaml else json.dumps(data), encoding="utf-8")
        return path

    return _write
