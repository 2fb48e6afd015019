"""vAPI JSON-RPC on `POST /api`: the protocol the official SDK's default client speaks.

`create_vsphere_client` and the SDK's samples send every call as one JSON-RPC 2.0 request to `/api`:
`{"jsonrpc": "2.0", "method": "invoke", "id": ..., "params": {"serviceId", "operationId", "input",
"ctx": {"appCtx", "securityCtx"}}}`, the input and the answer written in the vAPI runtime's data-value
encoding (`vmware/vapi/data/serializers/jsonrpc.py`): a structure is `{"STRUCTURE": {name: {fields}}}`,
an optional `{"OPTIONAL": value-or-null}`, a secret `{"SECRET": text}`, a map a list of `map-entry`
structures, a list a JSON array, an error `{"ERROR": {"com.vmware.vapi.std.errors.not_found": {...}}}`.
The answer is `{"result": {"output": value}}` or `{"result": {"error": error}}`, with HTTP 200 either
way: the SDK picks the exception class by the error's name.

Nothing here knows an operation. The document names each one's vAPI ids (`x-vcenter-guest-vapi`), so
a call is turned into the REST request it stands for (the input structure's fields are the path
parameters and the body's fields; the security context becomes the session header or HTTP basic
credentials) and answered by the same handler as over REST. The REST answer is then written back in
the data-value encoding the document's response schema calls for (optional fields wrapped, `format:
password` strings as secrets, maps as `map-entry` lists).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from vcenter_guest.operations import Operation, VapiId

from ._document import Document
from ._errors import MockError
from ._handlers import dumps
from ._sessions import SESSION_HEADER

__all__ = ["JSONRPC_PATH", "JsonRpc", "internal_error"]

JSONRPC_PATH = "/api"

Dispatch = Callable[[Operation, dict[str, str], Scope, Receive], Awaitable[Response]]
"""Answers one operation as over REST (the app's own handling: handler, errors, latency)."""

# JSON-RPC 2.0's error codes, as the vAPI runtime names them (JsonRpc20Error).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

_SESSION_SCHEME = "com.vmware.vapi.std.security.session_id"
_USER_PASSWORD_SCHEME = "com.vmware.vapi.std.security.user_pass"  # noqa: S105 - a scheme's name
_INPUT = "operation-input"
_MAP_ENTRY = "map-entry"
_ERRORS = "com.vmware.vapi.std.errors."


class _Unset:
    """An optional field sent unset (`{"OPTIONAL": null}`): left out of the REST body."""


UNSET = _Unset()


class _BadInput(Exception):
    """The input is not a data value of the shape the runtime sends."""


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def structure_name(component: str) -> str:
    """vAPI's name of the structure a component describes: `Vapi.Std.LocalizableMessage` ->
    `com.vmware.vapi.std.localizable_message` (the runtime carries it, the SDK reads only fields)."""
    *package, last = component.split(".")
    return ".".join(["com.vmware", *(p.lower() for p in package), _snake(last)])


class _Schemas:
    """The document's schemas, resolved one `$ref` (or single-member `allOf`) at a time."""

    def __init__(self, components: Mapping[str, Any]) -> None:
        self.components = components

    def resolve(self, schema: Any) -> tuple[Mapping[str, Any], str | None]:
        """(the schema itself, the component name it came from, if any)."""
        name = None
        for _ in range(16):
            if not isinstance(schema, Mapping):
                return {}, name
            ref = schema.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                schema = self.components.get(name, {})
                continue
            members = schema.get("allOf")
            if isinstance(members, list) and len(members) == 1:
                schema = members[0]
                continue
            return schema, name
        return {}, name

    @staticmethod
    def is_map(schema: Mapping[str, Any]) -> bool:
        return isinstance(schema.get("additionalProperties"), Mapping) and "properties" not in schema


class DataValues:
    """The data-value encoding, in both directions, guided by the document's schemas."""

    def __init__(self, components: Mapping[str, Any]) -> None:
        self.schemas = _Schemas(components)

    # -- the SDK's input -> the JSON a REST client sends ----------------------------------------------

    def plain(self, value: Any, schema: Any) -> Any:
        """A data value as plain JSON (UNSET for an unset optional); `_BadInput` if malformed."""
        resolved, _ = self.schemas.resolve(schema)
        if isinstance(value, dict):
            if len(value) != 1:
                raise _BadInput("a tagged data value has exactly one key")
            ((tag, inner),) = value.items()
            if tag == "OPTIONAL":
                return UNSET if inner is None else self.plain(inner, schema)
            if tag == "SECRET":
                if not isinstance(inner, str):
                    raise _BadInput("a secret is a string")
                return inner
            if tag in ("STRUCTURE", "ERROR"):
                return self._fields(inner, resolved)
            raise _BadInput("a data value's tag is OPTIONAL, SECRET, STRUCTURE or ERROR")  # never echoed: input
        if isinstance(value, list):
            if self.schemas.is_map(resolved):
                return self._map(value, resolved["additionalProperties"])
            items = resolved.get("items", {})
            return [self.plain(item, items) for item in value]
        return value  # string, integer, double, boolean, or null (void)

    def _fields(self, inner: Any, schema: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(inner, dict) or len(inner) != 1:
            raise _BadInput("a structure is {name: {fields}}")
        ((_, fields),) = inner.items()
        if not isinstance(fields, dict):
            raise _BadInput("a structure's fields are an object")
        properties = schema.get("properties", {})
        out = {}
        for name, field in fields.items():
            decoded = self.plain(field, properties.get(name, {}))
            if decoded is not UNSET:
                out[name] = decoded
        return out

    def _map(self, entries: list[Any], value_schema: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for entry in entries:
            fields = self.plain(entry, {})
            if not isinstance(fields, dict) or set(fields) != {"key", "value"} or not isinstance(fields["key"], str):
                raise _BadInput("a map is a list of map-entry structures {key, value}")
            # plain() of the entry decoded the value without its schema: decode it again with it.
            ((_, raw),) = entry["STRUCTURE"].items()
            out[fields["key"]] = self.plain(raw["value"], value_schema)
        return out

    # -- a REST answer -> the data value the SDK reads --------------------------------------------------

    def encode(self, value: Any, schema: Any) -> Any:
        """Plain JSON as the data value the document's schema makes it."""
        resolved, component = self.schemas.resolve(schema)
        if isinstance(value, dict):
            if self.schemas.is_map(resolved):
                return [
                    {"STRUCTURE": {_MAP_ENTRY: {"key": k, "value": self.encode(v, resolved["additionalProperties"])}}}
                    for k, v in value.items()
                ]
            properties: Mapping[str, Any] = resolved.get("properties", {})
            required = set(resolved.get("required", ()))
            fields: dict[str, Any] = {}
            for name, field_schema in properties.items():
                if name in value:
                    encoded = self.encode(value[name], field_schema)
                    fields[name] = encoded if name in required else {"OPTIONAL": encoded}
                elif name not in required:
                    fields[name] = {"OPTIONAL": None}
            for name in value.keys() - properties.keys():  # a dynamic structure's fields
                fields[name] = self.encode(value[name], {})
            name = structure_name(component) if component else "dynamic_structure"
            return {"STRUCTURE": {name: fields}}
        if isinstance(value, list):
            return [self.encode(item, resolved.get("items", {})) for item in value]
        if isinstance(value, str) and resolved.get("format") == "password":
            return {"SECRET": value}
        return value


def _rpc_error(request_id: Any, code: int, message: str) -> Response:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return Response(dumps(body), 200, media_type="application/json")


def internal_error() -> Response:
    """The JSON-RPC answer to a call the mock failed on (a bug of its own)."""
    return _rpc_error(None, INTERNAL_ERROR, "Internal error.")


def _rpc_result(request_id: Any, result: Mapping[str, Any]) -> Response:
    return Response(dumps({"jsonrpc": "2.0", "id": request_id, "result": result}), 200, media_type="application/json")


def _envelope(raw: bytes | None) -> tuple[Any, Mapping[str, Any]] | Response:  # noqa: PLR0911 - one per JSON-RPC error
    """(id, params) of a well-formed `invoke` call, else the JSON-RPC error answering it."""
    if raw is None:
        return _rpc_error(None, INVALID_REQUEST, "The request body is larger than the server takes.")
    try:
        request = json.loads(raw)
    except (ValueError, RecursionError):
        return _rpc_error(None, PARSE_ERROR, "Parse error: the request body is not valid JSON.")
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or "id" not in request:
        return _rpc_error(None, INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 call with an id.")
    request_id = request["id"]
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, str | int)):
        return _rpc_error(None, INVALID_REQUEST, "Invalid request: the id is a string, an integer or null.")
    if request.get("method") != "invoke":
        return _rpc_error(request_id, METHOD_NOT_FOUND, "Method not found: the only method is invoke.")
    params = request.get("params")
    if (
        not isinstance(params, dict)
        or not isinstance(params.get("serviceId"), str)
        or not isinstance(params.get("operationId"), str)
        or "input" not in params
        or not isinstance(params.get("ctx", {}), dict)
    ):
        return _rpc_error(request_id, INVALID_PARAMS, "Invalid params: invoke takes serviceId, operationId, input.")
    return request_id, params


class JsonRpc:
    """The `POST /api` endpoint: JSON-RPC calls answered by the REST handlers of the document's operations."""

    def __init__(self, doc: Document, dispatch: Dispatch) -> None:
        document = doc.table.document
        components = document.get("components", {}).get("schemas", {})
        self.values = DataValues(components)
        self.dispatch = dispatch
        self.operations: dict[VapiId, Operation] = dict(doc.table.by_vapi)
        self._success_schema: dict[str, Any] = {}
        self._body_schema: dict[str, Any] = {}
        self._takes_query: set[str] = set()
        """GET operations with query parameters: their other input fields come as a JSON body (VM.list's filter)."""
        for op in self.operations.values():
            declared = document["paths"][op.path_key][op.method.lower()]
            response = declared["responses"][str(op.success_status)]
            self._success_schema[op.id] = response.get("content", {}).get("application/json", {}).get("schema")
            body = declared.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            self._body_schema[op.id] = body or {}
            parameters = [*document["paths"][op.path_key].get("parameters", ()), *declared.get("parameters", ())]
            if op.method == "GET" and any(p.get("in") == "query" for p in parameters):
                self._takes_query.add(op.id)
        self._error_schema = {
            schema["x-vapi-error-type"]: {"$ref": f"#/components/schemas/{name}"}
            for name, schema in components.items()
            if "x-vapi-error-type" in schema
        }

    async def answer(self, scope: Scope, raw: bytes | None) -> Response:
        """The JSON-RPC answer to one request body (None: larger than the mock takes)."""
        call = _envelope(raw)
        if isinstance(call, Response):
            return call
        request_id, params = call
        try:
            result = await self._invoke(scope, params)
        except MockError as error:
            result = {"error": self._error(error.body())}
        return _rpc_result(request_id, result)

    async def _invoke(self, scope: Scope, params: Mapping[str, Any]) -> dict[str, Any]:
        vapi = VapiId(params["serviceId"], params["operationId"])
        op = self.operations.get(vapi)
        if op is None:
            raise MockError(
                "OPERATION_NOT_FOUND",
                "vapi.method.input.invalid.interface"
                if not self._has_service(vapi)
                else "vapi.method.input.invalid.method",
                "Operation {1} of service {0} is not found.",
                vapi.service,
                vapi.operation,
            )
        path_params, body = self._input(op, params["input"])
        headers = [(b"content-type", b"application/json"), *self._credentials(params.get("ctx") or {})]
        headers += [(k, v) for k, v in scope.get("headers", ()) if k == b"host"]
        sub_scope = dict(scope)
        sub_scope.update(
            method=op.method,
            path=op.path,
            raw_path=op.path.encode(),
            query_string=b"",
            headers=headers,
        )
        payload = dumps(body) if body is not None else b""

        async def receive() -> Message:
            return {"type": "http.request", "body": payload, "more_body": False}

        response = await self.dispatch(op, path_params, sub_scope, receive)
        content = bytes(response.body) if response.body else b""
        answer = json.loads(content) if content else None
        if response.status_code >= 400:
            return {"error": self._error(answer if isinstance(answer, dict) else {})}
        return {"output": self.values.encode(answer, self._success_schema[op.id]) if content else None}

    def _has_service(self, vapi: VapiId) -> bool:
        return any(known.service == vapi.service for known in self.operations)

    def _input(self, op: Operation, value: Any) -> tuple[dict[str, str], dict[str, Any] | None]:
        """The path parameters and the body the operation's input structure stands for."""
        body_schema = self._body_schema[op.id]
        try:
            if not (isinstance(value, dict) and set(value) == {"STRUCTURE"}):
                raise _BadInput("the input is a structure")
            fields = self.values.plain(value, body_schema)
        except (_BadInput, KeyError, TypeError, ValueError) as error:
            # _BadInput's texts are ours; the others' could quote the input, which may hold a secret.
            why = str(error) if isinstance(error, _BadInput) else "malformed"
            raise MockError(
                "INVALID_ARGUMENT",
                "vapi.data.serializers.invalid",
                "The input of {0} is not a valid data value: {1}.",
                op.id,
                why,
            ) from None
        params: dict[str, str] = {}
        for name in op.path_parameters:
            if name not in fields:
                raise MockError(
                    "INVALID_ARGUMENT",
                    "vapi.bindings.typeconverter.dict.missing.key",
                    "Structure {0} is missing a field: {1}.",
                    _INPUT,
                    name,
                )
            given = fields.pop(name)
            if isinstance(given, bool) or not isinstance(given, str | int):
                raise MockError(
                    "INVALID_ARGUMENT",
                    "vapi.bindings.typeconverter.unexpected.type",
                    "Field {0} must be of type {1}.",
                    name,
                    "string or integer",
                )
            params[name] = str(given)
        if op.body_schema is None and op.id not in self._takes_query and fields:
            raise MockError(
                "INVALID_ARGUMENT",
                "vapi.bindings.typeconverter.unexpected.field",
                "Structure {0} has an unexpected field: {1}.",
                _INPUT,
                sorted(fields)[0],
            )
        if op.body_schema is None and not fields:
            return params, None
        return params, fields

    @staticmethod
    def _credentials(ctx: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
        """The security context as the REST request's credentials (nothing when it has none of use)."""
        security = ctx.get("securityCtx")
        if not isinstance(security, dict):
            return []
        scheme = security.get("schemeId")
        if scheme == _SESSION_SCHEME and isinstance(security.get("sessionId"), str):
            return [(SESSION_HEADER, security["sessionId"].encode("utf-8", "replace"))]
        if scheme == _USER_PASSWORD_SCHEME:
            user, password = security.get("userName"), security.get("password")
            if isinstance(user, str) and isinstance(password, str):
                token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
                return [(b"authorization", f"Basic {token}".encode())]
        return []

    def _error(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A REST error body as the vAPI error value its `error_type` names."""
        error_type = body.get("error_type")
        if not isinstance(error_type, str) or error_type not in self._error_schema:
            error_type = "INTERNAL_SERVER_ERROR"
        encoded = self.values.encode(dict(body), self._error_schema[error_type])
        ((_, fields),) = encoded["STRUCTURE"].items()
        return {"ERROR": {_ERRORS + error_type.lower(): fields}}
