"""The HTTP layer of the mock vCenter: routing, request parsing and validation, error rendering.

Routes, methods, actions, privileges and error statuses all come from the OpenAPI document (via
`_document`); behaviour comes from the `Simulator`. Routing matches the raw (still percent-encoded)
path so that a VM id containing `/` or `?` is one path segment, as it is on the wire.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_to_bytes

import anyio
from jsonschema.exceptions import ValidationError
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from vcenter_guest.operations import Operation

from ._budget import Budget
from ._demo import DEMO_INVENTORY
from ._document import Document, document
from ._errors import MockError
from ._handlers import HANDLERS, check_handled, dumps
from ._inventory import Inventory
from ._jsonrpc import JSONRPC_PATH, JsonRpc, internal_error
from ._sessions import SESSION_HEADER
from ._simulator import Simulator
from ._state import Session

__all__ = ["create_app"]

log = logging.getLogger("vcenter_guest.mock")

# The canonical decimal form only: no sign but a minus, no leading zero, no whitespace or newline
# (`1%0A`, `+1` and `001` are not pid 1). fullmatch: `$` would accept a trailing newline.
_PID = re.compile(r"0|-?[1-9][0-9]{0,18}")
_INT64 = range(-(2**63), 2**63)
_JSON_TYPES = ("application/json",)
_CACHED_BODY_SIZE = 4096


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def _is_text(value: Any) -> bool:
    """Whether every string in a JSON value (keys included) is valid Unicode (no lone surrogate)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_is_text(k) and _is_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_text(item) for item in value)
    return True


def _segment(raw: str) -> str:
    # A path parameter as the client meant it; undecodable bytes become U+FFFD, never a crash.
    return unquote_to_bytes(raw).decode("utf-8", "replace")


def _action(query_string: bytes) -> str | None:
    query = query_string.decode("latin-1")
    key, _, value = query.partition("=")
    if key == "action" and value.isalnum():
        return value  # the only query this API has: skip the general parser
    return next((v for k, v in parse_qsl(query) if k == "action"), None)


def _invalid(message_id: str, text: str, *args: object) -> MockError:
    return MockError("INVALID_ARGUMENT", message_id, text, *args)


def _operation_not_found(method: str, path: str) -> MockError:
    return MockError(
        "OPERATION_NOT_FOUND",
        "com.vmware.vapi.rest.operation_not_found",
        "No operation is found for {0} {1}.",
        method,
        path,
    )


def invalid_body(doc: Document, error: ValidationError) -> MockError:
    """INVALID_ARGUMENT for a schema violation, worded from the schema only (the value may be a secret)."""
    where = ".".join(str(p) for p in error.absolute_path) or "(request body)"
    kind = error.validator
    expected: Any = error.validator_value
    if kind == "required":
        instance: Any = error.instance if isinstance(error.instance, dict) else {}
        missing = next((name for name in expected if name not in instance), expected[0])
        return _invalid(
            "vapi.bindings.typeconverter.dict.missing.key",
            "Structure {0} is missing a field: {1}.",
            doc.structure_name(error.schema),
            missing,
        )
    if kind == "type":
        return _invalid(
            "vapi.bindings.typeconverter.unexpected.type", "Field {0} must be of type {1}.", where, expected
        )
    if kind == "enum":
        return _invalid(
            "vapi.bindings.typeconverter.enum.invalid",
            "Field {0} must be one of {1}.",
            where,
            ", ".join(str(v) for v in expected),
        )
    if kind == "format":
        return _invalid("vapi.bindings.typeconverter.invalid.format", "Field {0} is not a valid {1}.", where, expected)
    return _invalid("vapi.bindings.typeconverter.invalid", "Field {0} is not valid ({1}).", where, kind)


class _Route:
    """A path template of the document, matched against the raw path."""

    def __init__(self, template: str, operations: list[Operation]) -> None:
        self.template = template
        names = re.findall(r"{(\w+)}", template)
        # A whole guest path (`x-vcenter-guest-raw-path`) comes with its slashes: `files//tmp/a.txt`.
        raw = {name for op in operations for name in op.raw_path_parameters}
        pattern = re.escape(template)
        for name in names:
            group = f"(?P<{name}>.+)" if name in raw else f"(?P<{name}>[^/]*)"
            pattern = pattern.replace(re.escape("{" + name + "}"), group)
        self.regex = re.compile(f"^{pattern}$", re.DOTALL)
        self.allow = ", ".join(sorted({op.method for op in operations}))
        # method -> action (None when the path key has no ?action=) -> operation
        self.operations: dict[str, dict[str | None, Operation]] = {}
        for op in operations:
            self.operations.setdefault(op.method, {})[op.action] = op

    def allowed(self, action: str | None) -> str:
        """`Allow` for a request with this action: the methods of the path key it names (`.../power` GET,
        `.../power?action=start` POST), as the document lists them per key; else every method of the path."""
        methods = sorted(method for method, actions in self.operations.items() if action in actions)
        return ", ".join(methods) if methods else self.allow


class MockApi:
    """The ASGI endpoint that serves every path of the document."""

    def __init__(self, simulator: Simulator, doc: Document) -> None:
        self.simulator = simulator
        self.doc = doc
        by_path: dict[str, list[Operation]] = {}
        for op in doc.operations.values():
            by_path.setdefault(op.path, []).append(op)
        # Longer templates first, so that /processes/{pid} is not taken for /processes.
        self.routes = [_Route(t, ops) for t, ops in sorted(by_path.items(), key=lambda kv: -len(kv[0]))]
        self.max_body = simulator.inventory.max_body_bytes
        self.runs = anyio.CapacityLimiter(simulator.budget.concurrent_runs)
        """The worker threads process starts are simulated in (Budget.concurrent_runs at once)."""
        # Validity is a function of the bytes, and a client polling get sends the same bytes every
        # time: remember the last valid bodies (never the invalid ones: lru_cache skips exceptions).
        # Handlers must treat bodies as read-only, since a cached one is shared between requests.
        self._valid_body = functools.lru_cache(maxsize=1024)(self._parse_and_validate)
        check_handled(doc.operations)
        self._handlers = {op_id: HANDLERS[op_id] for op_id in doc.operations}
        self.jsonrpc = JsonRpc(doc, self._handle)
        """vAPI JSON-RPC on `POST /api` (the official SDK's default protocol), answered by the same handlers."""
        self.host_listener: tuple[str, int] | None = None
        """(address, port) of the listener standing for the ESXi host, if there is one: it serves only
        the operations whose path has its own `servers` (the data plane), and the vCenter listener
        only the others, as a client that substitutes the wrong host finds out."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        operation_id = "-"
        if scope["method"] == "POST" and scope["path"] == JSONRPC_PATH and not self._on_host(scope):
            try:
                raw: bytes | None = await self._read_body(receive)
            except _TooLarge:
                raw = None
            except _Disconnected:
                return
            try:
                answer = await self.jsonrpc.answer(scope, raw)
            except Exception:  # as over REST: the documented format even when the mock has a bug
                log.exception("internal error in a JSON-RPC call")
                answer = internal_error()
            await answer(scope, receive, send)
            return
        try:
            operation, params = self._route(scope)
            operation_id = operation.id
            response = await self._handle(operation, params, scope, receive)
        except _MethodNotAllowed as error:
            response = self._error(error, {"Allow": error.allow}, status=405)
        except MockError as error:
            response = self._error(error)
        except _Disconnected:
            return
        except Exception:  # the mock must answer in its documented format even when it has a bug
            log.exception("internal error in %s", operation_id)
            response = self._error(
                MockError("INTERNAL_SERVER_ERROR", "vcenter_guest.mock.internal_error", "Internal server error.")
            )
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %d", scope["method"], operation_id, response.status_code)
        await response(scope, receive, send)

    def _error(self, error: MockError, headers: Mapping[str, str] | None = None, status: int = 0) -> Response:
        status = status or self.doc.status_by_error_type.get(error.error_type, 500)
        all_headers = dict(headers or {})
        if error.challenge is not None and status == 401:
            all_headers["WWW-Authenticate"] = error.challenge
        return Response(dumps(error.body()), status, all_headers, media_type="application/json")

    def _on_host(self, scope: Scope) -> bool:
        server = scope.get("server")
        return self.host_listener is not None and server is not None and tuple(server[:2]) == self.host_listener

    def _route(self, scope: Scope) -> tuple[Operation, dict[str, str]]:
        operation, params = self._match(scope)
        if self.host_listener is not None and self._on_host(scope) != operation.served_by_host:
            raise _operation_not_found(scope["method"], operation.path)
        return operation, params

    def _match(self, scope: Scope) -> tuple[Operation, dict[str, str]]:
        raw: bytes | None = scope.get("raw_path")
        path = raw.split(b"?", 1)[0].decode("latin-1") if raw else quote(scope["path"])
        method: str = scope["method"]
        for route in self.routes:
            match = route.regex.match(path)
            if match is None:
                continue
            actions = route.operations.get(method)
            action = _action(scope.get("query_string", b""))
            if actions is None:
                raise _MethodNotAllowed(method, route.template, route.allowed(action))
            params = {k: _segment(v) for k, v in match.groupdict().items()}
            if None in actions:
                if action is not None and action not in actions and route.allowed(action) != route.allow:
                    # GET .../power?action=start: the path key of another method (POST), not Power.get's.
                    raise _MethodNotAllowed(method, route.template, route.allowed(action))
                return actions[None], params
            operation = actions.get(action)
            if operation is None:
                shown = f"{route.template}?action={action}" if action is not None else route.template
                raise _operation_not_found(method, shown)
            return operation, params
        raise _operation_not_found(method, path)

    async def _handle(self, operation: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
        handler = self._handlers[operation.id]
        try:
            response: Response = await handler(self, operation, params, scope, receive)
        except MockError as error:
            response = self._error(error)
        delay = self.simulator.latency(operation.id)
        if delay > 0:
            await anyio.sleep(delay)
        return response

    # -- request pieces -----------------------------------------------------------------------

    @staticmethod
    def header(scope: Scope, name: bytes) -> str | None:
        for key, value in scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return None

    async def _read_body(self, receive: Receive) -> bytes:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False) and len(body) <= self.max_body:
            return body
        chunks, size = [body], len(body)
        while message.get("more_body", False):
            if size > self.max_body:
                raise _TooLarge
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
        if size > self.max_body:
            raise _TooLarge
        return b"".join(chunks)

    async def _json_body(self, operation: Operation, scope: Scope, receive: Receive) -> dict[str, Any]:
        content_type = self.header(scope, b"content-type")
        try:
            raw = await self._read_body(receive)
        except _TooLarge:
            raise _invalid(
                "vcenter_guest.mock.body_too_large",
                "The request body is larger than {0} bytes.",
                self.max_body,
            ) from None
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media not in _JSON_TYPES:
            raise _invalid(
                "vapi.protocol.server.rest.unsupported_content_type",
                "The content type {0} is not supported; send application/json.",
                content_type or "(none)",
            )
        if len(raw) <= _CACHED_BODY_SIZE:
            return self._valid_body(operation.id, raw)
        return self._parse_and_validate(operation.id, raw)

    def _parse_and_validate(self, operation_id: str, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise _invalid("vapi.protocol.server.rest.invalid_json", "The request body is not valid JSON.") from None
        # A \uD800-style escape can put a lone surrogate into a string: valid JSON, but not text.
        if b"\\u" in raw and not _is_text(body):
            raise _invalid(
                "vapi.protocol.server.rest.invalid_unicode", "The request body holds text that is not valid Unicode."
            )
        error = self.doc.body_error(operation_id, body)
        if error is not None:
            raise invalid_body(self.doc, error)
        result: dict[str, Any] = body
        return result

    async def optional_body(self, scope: Scope, receive: Receive) -> Any:
        """The JSON value of a body a GET may carry (the official SDK sends VM.list's filter so), or None."""
        try:
            raw = await self._read_body(receive)
        except _TooLarge:
            raise _invalid(
                "vcenter_guest.mock.body_too_large", "The request body is larger than {0} bytes.", self.max_body
            ) from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise _invalid("vapi.protocol.server.rest.invalid_json", "The request body is not valid JSON.") from None

    @staticmethod
    def _pid(params: Mapping[str, str]) -> int:
        text = params["pid"]
        pid = int(text) if _PID.fullmatch(text) else None
        if pid is None or pid not in _INT64:
            raise _invalid(
                "vapi.bindings.typeconverter.invalid.path_parameter",
                "The path parameter {0} must be an integer (int64).",
                "pid",
            )
        return pid

    def inject_fault(self, operation: Operation) -> None:
        """Raises the error a fault rule of the inventory injects into this call, if any."""
        fault = self.simulator.fault(operation.id)
        if fault is not None:
            raise fault

    def session_call(self, operation: Operation, scope: Scope) -> Session:
        """vCenter's order for a call without a body: the session, its privileges, then a fault injected."""
        session = self.simulator.session(self.header(scope, SESSION_HEADER))
        for privilege in operation.privileges:
            self.simulator.authorize(session, privilege)
        self.inject_fault(operation)
        return session

    async def guest_call(
        self, operation: Operation, params: Mapping[str, str], scope: Scope, receive: Receive
    ) -> tuple[dict[str, Any], int]:
        """vCenter's order for a guest operation: authenticate, parse the input, authorize, then run it
        (an injected fault first): the valid body, and the pid of the path (0 if it has none)."""
        simulator = self.simulator
        session = simulator.session(self.header(scope, SESSION_HEADER))
        pid = self._pid(params) if "pid" in params else 0
        body = await self._json_body(operation, scope, receive)
        for privilege in operation.privileges:
            simulator.authorize(session, privilege)
        self.inject_fault(operation)
        return body, pid


class _MethodNotAllowed(MockError):
    def __init__(self, method: str, template: str, allow: str) -> None:
        super().__init__(
            "OPERATION_NOT_FOUND",
            "com.vmware.vapi.rest.method_not_allowed",
            "The method {0} is not allowed on {1}; allowed: {2}.",
            method,
            template,
            allow,
        )
        self.allow = allow


def create_app(
    inventory: str | os.PathLike[str] | Mapping[str, Any] | Inventory | None = None,
    *,
    simulator_cls: type[Simulator] = Simulator,
    simulator: Simulator | None = None,
    clock: Callable[[], float] | None = None,
    api_document: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
) -> Starlette:
    """The mock vCenter as an ASGI app; `None` serves the built-in demo inventory.

    `app.state.simulator` is the `Simulator` holding its state. Pass `simulator_cls` to serve a
    subclass (a deliberately broken server, for instance), `clock` to drive time from a test, or a
    ready `simulator`. `api_document` serves another version of the API document than the shipped
    one; the app refuses to start (`UnhandledOperation`, naming it) if it has an operation the mock
    does not simulate. `budget` limits what one request may cost (`Budget`; the default one if None).

        >>> import httpx
        >>> app = create_app()
        >>> client = httpx.Client(transport=httpx.ASGITransport(app), base_url="http://mock")  # doctest: +SKIP
    """
    if simulator is None:
        source = DEMO_INVENTORY if inventory is None else inventory
        options: dict[str, Any] = {} if budget is None else {"budget": budget}
        if clock is not None:
            options["clock"] = clock
        simulator = simulator_cls(source, **options)
    elif budget is not None:
        simulator.budget = budget
    api = MockApi(simulator, document() if api_document is None else Document(api_document))
    endpoint = _Endpoint(api)
    app = Starlette(routes=[Route("/{path:path}", endpoint)])
    # Starlette's path pattern stops at a newline, so a path parameter holding %0A fell through to
    # its plain-text 404 (found by schemathesis: content_type_conformance); MockApi answers every path.
    app.router.default = endpoint
    app.state.simulator = simulator
    app.state.api = api
    return app


class _Endpoint:
    """An ASGI callable (not a function), so Starlette hands it the raw scope."""

    def __init__(self, api: MockApi) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.api(scope, receive, send)
