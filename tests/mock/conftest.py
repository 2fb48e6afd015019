"""Fixtures of the mock server tests: one `api` per transport (in process and over loopback HTTP).

Every response either transport returns is checked against the OpenAPI document (status, content
type, body schema) before a test sees it, so each behaviour test is also a conformance test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_INVENTORY,
    create_app,
)
from vcenter_guest.operations import load_document, operations

CREDS = {
    "type": "USERNAME_PASSWORD",
    "interactive_session": False,
    "user_name": DEMO_GUEST_USER,
    "password": DEMO_GUEST_PASSWORD,
}
PROCESSES = "/api/vcenter/vm/{vm}/guest/processes"
FILESYSTEM = "/api/vcenter/vm/{vm}/guest/filesystem"
SVC_CREDS = {**CREDS, "user_name": "svc", "password": "svc-pass"}


_VALIDATORS: dict[str, Any] = {}


def _validator(schema: dict[str, Any]) -> Any:
    key = repr(schema)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = _build_validator(schema)
    return _VALIDATORS[key]


def _build_validator(schema: dict[str, Any]) -> Any:
    spec = load_document()
    return OAS30Validator({**schema, "components": spec["components"]}, format_checker=oas30_format_checker)


def _documented(method: str, url: str) -> dict[str, Any] | None:
    """The document's operation object for a request, found through the operation table (None: undocumented)."""
    path, _, query = url.partition("?")
    action = query.partition("action=")[2].partition("&")[0] or None if query else None
    for op in operations().values():
        pattern = "^" + re.escape(op.path) + "$"
        for name in op.path_parameters:
            group = ".+" if name in op.raw_path_parameters else "[^/]*"
            pattern = pattern.replace(re.escape("{" + name + "}"), group)
        if op.method == method.upper() and re.match(pattern, path) and op.action == action:
            operation: dict[str, Any] = load_document()["paths"][op.path_key][method.lower()]
            return operation
    return None


def check_conforms(method: str, url: str, response: httpx.Response) -> None:
    """Asserts the response is one the document allows for this request."""
    operation = _documented(method, url)
    key = f"{method} {url}"
    if operation is None:
        # Not a documented operation: still a std error in JSON (404 unknown, 405 wrong method).
        assert response.status_code in {404, 405}, response.text
        assert response.headers["content-type"] == "application/json"
        if method == "HEAD":
            return
        error = _validator({"$ref": "#/components/schemas/Vapi.Std.Errors.Error"})
        error.validate(response.json())
        assert response.json()["error_type"] == "OPERATION_NOT_FOUND"
        if response.status_code == 405:
            assert response.headers["allow"]
        return
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{key} returned undocumented status {response.status_code}: {response.text}"
    content = documented.get("content")
    if content is None:
        assert response.content == b"", response.content
        return
    if "application/json" not in content:  # the data plane: bytes, or an error as text
        media = response.headers["content-type"].split(";")[0]
        assert media in content, f"{key}: {media} is not one of {list(content)}"
        return
    assert response.headers["content-type"] == "application/json"
    _validator(content["application/json"]["schema"]).validate(response.json())


class Api:
    """Sends requests through one transport; every response is checked against the document."""

    def __init__(self, name: str, app: Any, clock: Any, request: Any) -> None:
        self.name = name
        self.app = app
        self.clock = clock
        self.simulator = app.state.simulator
        self._request = request
        self.session_id = ""
        self.creds = dict(CREDS)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self._request(method, url, **kwargs)
        check_conforms(method, url, response)
        return response

    @staticmethod
    def expect_error(
        response: httpx.Response,
        status: int,
        error_type: str,
        message_id: str,
        *,
        data: Any = "absent",
        args: list[str] | None = None,
    ) -> dict[str, Any]:
        """Asserts a std error body: status, error_type, first message id, data (and args if given)."""
        assert response.status_code == status, (
            f"expected {status} {error_type}, got {response.status_code}: {response.text}"
        )
        body: dict[str, Any] = response.json()
        assert body["error_type"] == error_type, body
        message = body["messages"][0]
        assert message["id"] == message_id, body
        # VMware sends the text with its arguments substituted, and the arguments apart.
        assert all(arg in message["default_message"] for arg in message["args"]), message
        if args is not None:
            assert message["args"] == args, message
        if data == "absent":
            assert "data" not in body, body
        else:
            assert body.get("data") == data, body
        return body

    def login(self, user: str = DEMO_API_USER, password: str = DEMO_API_PASSWORD) -> str:
        response = self.request("POST", "/api/session", auth=(user, password))
        assert response.status_code == 201, response.text
        self.session_id = response.json()
        return self.session_id

    def headers(self, session_id: str | None = None) -> dict[str, str]:
        sid = self.session_id if session_id is None else session_id
        return {"vmware-api-session-id": sid} if sid else {}

    def op(
        self,
        action: str,
        vm: str = "vm-42",
        pid: int | str | None = None,
        *,
        creds: dict[str, Any] | None = None,
        spec: dict[str, Any] | None = None,
        session_id: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One guest operation; logs in first if this Api has no session yet."""
        if not self.session_id and session_id is None:
            self.login()
        path = PROCESSES.replace("{vm}", vm) + (f"/{pid}" if pid is not None else "")
        body: dict[str, Any] = {"credentials": CREDS if creds is None else creds}
        if spec is not None:
            body["spec"] = spec
        if "content" not in kwargs and "json" not in kwargs:
            kwargs["json"] = body
        return self.request("POST", f"{path}?action={action}", headers=self.headers(session_id), **kwargs)

    def fs(self, route: str, vm: str = "vm-42", *, creds: dict[str, Any] | None = None, **body: Any) -> httpx.Response:
        """POST to the guest filesystem API (`route` after `.../filesystem`, e.g. `/files?action=list`)."""
        if not self.session_id:
            self.login()
        payload = {"credentials": self.creds if creds is None else creds, **body}
        return self.request("POST", FILESYSTEM.replace("{vm}", vm) + route, headers=self.headers(), json=payload)

    def transfer(self, path: str, vm: str = "vm-42", *, creds: dict[str, Any] | None = None, **attributes: Any) -> str:
        """Transfers.create (an upload if `attributes` are given); the URL as this Api sends it (`/guestFile?...`)."""
        spec: dict[str, Any] = {"path": path}
        if attributes:
            spec["attributes"] = attributes
        response = self.fs("?action=create", vm, creds=creds, spec=spec)
        assert response.status_code == 201, response.text
        url: str = response.json()
        origin, found, query = url.partition("/guestFile?")
        assert found, url
        assert origin.startswith(("http://", "https://")), url  # the host the call reached, or `*`
        return "/guestFile?" + query

    def upload(
        self, path: str, data: bytes, vm: str = "vm-42", *, creds: dict[str, Any] | None = None, **attributes: Any
    ) -> None:
        """Writes a guest file through a transfer."""
        url = self.transfer(path, vm, creds=creds, size=len(data), **attributes)
        response = self.request("PUT", url, content=data)
        assert response.status_code == 200, response.text

    def download(self, path: str, vm: str = "vm-42", *, creds: dict[str, Any] | None = None) -> bytes:
        """Reads a guest file through a transfer."""
        response = self.request("GET", self.transfer(path, vm, creds=creds))
        assert response.status_code == 200, response.text
        return response.content

    def create(self, path: str = "/bin/true", vm: str = "vm-42", **spec: Any) -> int:
        response = self.op("create", vm, spec={"path": path, **spec})
        assert response.status_code == 201, response.text
        pid: int = response.json()
        return pid


@pytest.fixture(params=["asgi", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    """Each test runs in process (httpx.ASGITransport) and over loopback HTTP (uvicorn)."""
    param: str = request.param
    return param


@pytest.fixture
def make_api(request: pytest.FixtureRequest, transport: str, clock: Any) -> Iterator[Any]:
    """make_api(inventory=None, **create_app_options) -> Api over the current transport, on `clock`."""
    closers: list[Any] = []

    def make(inventory: Any = None, **app_options: Any) -> Api:
        app = create_app(DEMO_INVENTORY if inventory is None else inventory, clock=clock, **app_options)
        if transport == "http":
            url = request.getfixturevalue("loopback")(app)
            client = httpx.Client(base_url=url, timeout=30)
            closers.append(client.close)
            return Api(transport, app, clock, client.request)
        portal = request.getfixturevalue("portal")
        aclient = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://mock")
        closers.append(lambda: portal.call(aclient.aclose))

        def send(method: str, url: str, **kwargs: Any) -> httpx.Response:
            response: httpx.Response = portal.call(lambda: aclient.request(method, url, **kwargs))
            return response

        return Api(transport, app, clock, send)

    yield make
    for close in closers:
        close()


@pytest.fixture
def api(make_api: Any) -> Api:
    """An Api on the demo inventory."""
    result: Api = make_api()
    return result
