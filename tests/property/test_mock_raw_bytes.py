"""Raw bytes at the mock over a real socket: path, query, headers and body drawn by hypothesis.

The property: whatever a client sends, the mock answers with a success or a vAPI standard error in
JSON (on the data plane, `/guestFile`, bytes or a plain-text error, as the document says), never a
5xx, except where uvicorn itself answers at the protocol level, before the request
reaches the mock: `400 Bad Request`, `text/plain`, "Invalid HTTP request received." for bytes
that are not an HTTP/1.1 request (h11 rejects them; the README lists when). The inventory here
has no fault rules and no VM in a failing state, so no 5xx is ever meant; programs that fail to
start are left out for the same reason.

`pytest tests/property/test_mock_raw_bytes.py -rP` prints the figures: requests sent, answers by status.
"""

from __future__ import annotations

import base64
import collections
import copy
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_INVENTORY,
    serve,
)
from vcenter_guest.operations import operations

PROTOCOL_LEVEL = (400, b"text/plain; charset=utf-8", b"Invalid HTTP request received.")


def _inventory() -> dict[str, Any]:
    """The demo's healthy Linux VM only, without the program that fails to start (a documented 500)."""
    inventory = copy.deepcopy(DEMO_INVENTORY)
    inventory["vms"] = [vm for vm in inventory["vms"] if vm["id"] == "vm-42"]
    programs = inventory["vms"][0]["programs"]
    inventory["vms"][0]["programs"] = {path: p for path, p in programs.items() if not p.get("fails_to_start")}
    inventory.pop("faults", None)
    return inventory


SESSION = b"<the session>"  # in a drawn header: replaced by a fresh session id (a request may delete it)


@pytest.fixture(scope="module")
def mock() -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(base URL, a function that logs in anew) of a served mock."""
    import httpx

    # Its own server, module-wide and over a real socket: raw bytes, one server for every drawn example.
    with serve(_inventory()) as url, httpx.Client(base_url=url) as client:
        yield url, lambda: client.post("/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).json().encode()


# -- what a client may send ------------------------------------------------------------------------------

_OPERATIONS = sorted(operations().values(), key=lambda op: op.id)
_bytes = st.binary(max_size=24)
_text_bytes = st.text(max_size=16).map(lambda t: t.encode("utf-8", "surrogatepass"))
_any_bytes = _bytes | _text_bytes


def _mostly(usual: st.SearchStrategy[bytes], odd: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """`usual` nine times in ten, else `odd` (raw bytes): most requests must be HTTP to reach the mock."""
    return st.integers(0, 9).flatmap(lambda n: odd if n == 0 else usual)


_percent_encoded = _any_bytes.map(lambda b: "".join(f"%{c:02X}" for c in b).encode())
_segments = _mostly(
    st.sampled_from([b"vm-42", b"vm-404", b"1", b"0", b"-1", b"9223372036854775808", b"001", b"1%0A", b"+1"])
    | _percent_encoded,
    _any_bytes,
)
_header_values = _mostly(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=16).map(str.encode), _any_bytes
)


@st.composite
def _targets(draw: st.DrawFn) -> bytes:
    op = draw(st.sampled_from(_OPERATIONS))
    path = op.path.encode()
    for name in ("vm", "pid", "path"):
        path = path.replace(b"{" + name.encode() + b"}", draw(_segments))
    if draw(st.integers(0, 9)) == 0:
        path = draw(_any_bytes) + path if draw(st.booleans()) else path + draw(_any_bytes)
    query = b""
    if op.action is not None or draw(st.booleans()):
        action = (
            op.action.encode() if op.action and draw(st.integers(0, 3)) else draw(_mostly(_percent_encoded, _any_bytes))
        )
        query = (
            b"?action="
            + action
            + (draw(_mostly(_percent_encoded, _any_bytes)) if draw(st.integers(0, 5)) == 0 else b"")
        )
    return path + query


_credentials = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["USERNAME_PASSWORD", "SAML_BEARER_TOKEN"]) | st.text(max_size=6),
        "interactive_session": st.booleans() | st.none() | st.text(max_size=3),
        "user_name": st.just(DEMO_GUEST_USER) | st.text(max_size=8),
        "password": st.just(DEMO_GUEST_PASSWORD) | st.text(max_size=8),
    },
    optional={"saml_token": st.text(max_size=8)},
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_specs = st.fixed_dictionaries(
    {"path": st.sampled_from(["/bin/true", "/bin/sleep", "/opt/app/exit", "/root/secret.sh", "bin"]) | st.text()},
    optional={
        "arguments": st.text(max_size=12),
        "working_directory": st.sampled_from(["/tmp", "/nope"]) | st.text(max_size=6),
        "environment_variables": st.dictionaries(st.text(max_size=4), st.text(max_size=4) | _json_values),
        "start_minimized": st.booleans() | _json_values,
    },
)
_documents = st.fixed_dictionaries({"credentials": _credentials}, optional={"spec": _specs}) | _json_values


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    body = json.dumps(draw(_documents), ensure_ascii=draw(st.booleans()), allow_nan=True).encode()
    how = draw(st.sampled_from(["as-is", "as-is", "truncated", "raw bytes", "bytes inside", "lone surrogate"]))
    if how == "truncated" and body:
        return body[: draw(st.integers(0, len(body) - 1))]
    if how == "raw bytes":
        return draw(_any_bytes)
    if how == "bytes inside" and body:
        at = draw(st.integers(0, len(body)))
        return body[:at] + draw(_bytes) + body[at:]
    if how == "lone surrogate":
        return body.replace(b'"', b'"\\udc80', 1)
    return body


def _basic(user: bytes, password: bytes) -> bytes:
    return b"Basic " + base64.b64encode(user + b":" + password)


@st.composite
def _headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    which = draw(st.sampled_from(["session", "session", "wrong session", "basic", "odd basic", "none"]))
    if which == "session":
        headers.append((b"vmware-api-session-id", SESSION))
    elif which == "wrong session":
        headers.append((b"vmware-api-session-id", draw(_header_values)))
    elif which == "basic":
        user = draw(st.just(DEMO_API_USER.encode()) | _any_bytes)
        headers.append((b"Authorization", _basic(user, draw(st.just(DEMO_API_PASSWORD.encode()) | _any_bytes))))
    elif which == "odd basic":
        headers.append((b"Authorization", b"Basic " + draw(_header_values)))
    content_type = draw(
        st.sampled_from([b"application/json", b"application/json; charset=utf-8", b"text/plain", None]) | _header_values
    )
    if content_type is not None:
        headers.append((b"Content-Type", content_type))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(_mostly(st.sampled_from([b"Accept", b"X-Anything", b"Expect", b"Upgrade", b"Cookie"]), _any_bytes))
        if name.lower() not in {b"content-length", b"transfer-encoding", b"connection", b"host"}:
            headers.append((name, draw(_header_values)))
    return headers


_methods = _mostly(st.sampled_from([b"POST"] * 6 + [b"GET", b"DELETE", b"PUT", b"HEAD", b"OPTIONS", b"PATCH"]), _bytes)


def _request(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    head = [method + b" " + target + b" HTTP/1.1", b"Host: mock", b"Connection: close"]
    head += [name + b": " + value for name, value in headers]
    head.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _exchange(host: str, port: int, request: bytes, method: bytes) -> tuple[h11.Response | None, bytes]:
    """Sends `request`, reads until the server closes; the answer parsed by h11 (None: no answer)."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(request)
        with_eof = b""
        while chunk := sock.recv(65536):
            with_eof += chunk
    if not with_eof:
        return None, b""
    conn = h11.Connection(h11.CLIENT)
    # The request as h11 needs to know it to read the response (a HEAD's has no body).
    conn.send(h11.Request(method="HEAD" if method == b"HEAD" else "GET", target="/", headers=[("Host", "mock")]))
    conn.receive_data(with_eof)
    conn.receive_data(b"")
    response, body = None, b""
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            return response, body


_DATA_PLANE_TYPES = {b"text/plain; charset=utf-8", b"application/octet-stream"}


def _check(method: bytes, response: h11.Response | None, body: bytes, *, data_plane: bool = False) -> str:
    """Asserts the property for one answer; returns what kind of answer it was.

    The data plane (`/guestFile`, ESXi's plain HTTP) answers bytes, or an error as text, as the
    document says; everything else of the API answers JSON.
    """
    assert response is not None, "the mock closed the connection without answering"
    status = response.status_code
    headers = dict(response.headers)
    content_type = headers.get(b"content-type")
    if (status, content_type, body) == PROTOCOL_LEVEL or (
        method == b"HEAD" and (status, content_type) == PROTOCOL_LEVEL[:2]
    ):
        return "uvicorn 400 (not HTTP/1.1)"
    assert status < 500, f"{status}: {body[:300]!r}"
    if status == 204:
        assert body == b""
        return str(status)
    if data_plane and content_type in _DATA_PLANE_TYPES:
        return f"{status} (data plane)"
    assert content_type == b"application/json", f"{status} with {content_type!r}: {body[:200]!r}"
    if method == b"HEAD":
        assert body == b""
        return f"{status} (HEAD)"
    document = json.loads(body)
    if status >= 400:
        assert isinstance(document, dict), document
        assert isinstance(document["error_type"], str), document
        assert isinstance(document["messages"], list), document
        return f"{status} {document['error_type']}"
    return str(status)


@pytest.mark.timeout(600)
def test_the_mock_answers_raw_bytes_with_json_or_uvicorns_own_400_never_a_5xx(
    mock: tuple[str, Callable[[], bytes]], budget: Callable[[int], int]
) -> None:
    url, login = mock
    host, port = url.removeprefix("http://").split(":")
    answers: collections.Counter[str] = collections.Counter()

    @given(method=_methods, target=_targets(), headers=_headers(), body=_bodies())
    @settings(
        max_examples=budget(400),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        headers = [(name, login() if value is SESSION else value) for name, value in headers]
        response, content = _exchange(host, int(port), _request(method, target, headers, body), method)
        data_plane = target.split(b"?", 1)[0] == b"/guestFile"
        answers[_check(method, response, content, data_plane=data_plane)] += 1

    check()
    report = ", ".join(f"{kind}: {count}" for kind, count in sorted(answers.items()))
    print(f"{sum(answers.values())} requests; answers: {report}")
    assert len(answers) > 5, f"the requests reached too few outcomes to mean much: {report}"
