"""Whatever a server sends, public methods raise only package errors, and no echoed secret stays in them."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from vcenter_guest import Client, Credentials, RetryPolicy, errors

GUEST_SECRET = "guest-Secret-4711"
API_SECRET = "api-Secret-0815"
SESSION = "sess-Canary-99"
GUEST = Credentials.password("root", GUEST_SECRET)


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> Client:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/session":
            if request.method == "GET":
                stamp = "2026-01-01T00:00:00Z"
                return httpx.Response(200, json={"user": "u", "created_time": stamp, "last_accessed_time": stamp})
            return httpx.Response(201, json=SESSION) if request.method == "POST" else httpx.Response(204)
        return handler(request)

    return Client(
        "http://vc.test", user="u", password=API_SECRET, transport=httpx.MockTransport(route), retry=RetryPolicy.never()
    )


def test_a_deeply_nested_answer_is_an_unexpected_response() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    vc = _client(lambda _: httpx.Response(200, content=deep, headers={"content-type": "application/json"}))
    with pytest.raises(errors.UnexpectedResponse, match="nested too deeply"):
        vc.processes.list("vm-1", GUEST)
    error = b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    vc = _client(lambda _: httpx.Response(400, content=error, headers={"content-type": "application/json"}))
    with pytest.raises(errors.UnexpectedResponse):
        vc.processes.list("vm-1", GUEST)


@pytest.mark.parametrize("session_id", ["s\ud800", "s\nid", "sé", "s\x00"])
def test_a_session_id_that_cannot_be_a_header_fails_at_login(session_id: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201, content=json.dumps(session_id).encode(), headers={"content-type": "application/json"}
        )

    vc = Client(
        "http://vc.test",
        user="u",
        password=API_SECRET,
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy.never(),
    )
    with pytest.raises(errors.UnexpectedResponse, match="printable ASCII"):
        vc.login()
    vc.close()  # and closing says nothing either


@pytest.mark.parametrize("pid", [2**63, -(2**63) - 1, 2**70])
def test_a_pid_outside_int64_is_an_unexpected_response(pid: int) -> None:
    vc = _client(lambda _: httpx.Response(201, json=pid))
    with pytest.raises(errors.UnexpectedResponse):
        vc.processes.create("vm-1", GUEST, "/bin/true")


@pytest.mark.parametrize("pid", [2**63, 2**70])
def test_a_pid_outside_int64_is_a_usage_error_before_anything_is_sent(pid: int) -> None:
    vc = _client(lambda _: pytest.fail("nothing may be sent"))
    with pytest.raises(errors.UsageError, match="int64"):
        vc.processes.get("vm-1", GUEST, pid)


def _strings(value: Any, seen: set[int] | None = None) -> Iterator[str]:
    """Every string reachable from `value`: attributes, containers, attrs models, recursively."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, seen)
            yield from _strings(v, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, seen)
    elif hasattr(value, "__dict__") or hasattr(value, "__slots__"):
        for name in getattr(value, "__slots__", ()):
            yield from _strings(getattr(value, name, None), seen)
        yield from _strings(getattr(value, "__dict__", {}), seen)


def _echo(status: int, error_type: str) -> Callable[[httpx.Request], httpx.Response]:
    """A server that echoes everything it got (body and headers) into every field of its error."""

    def answer(request: httpx.Request) -> httpx.Response:
        echoed = request.content.decode() + " " + json.dumps(dict(request.headers))
        body = {
            "error_type": error_type,
            "messages": [
                {
                    "id": echoed,
                    "default_message": f"bad input {echoed}",
                    "args": [echoed, GUEST_SECRET],
                    "localized": echoed,
                    "params": {"p": {"s": echoed, "l": {"id": echoed, "params": {"q": {"s": SESSION}}}}},
                }
            ],
            "data": {"echo": echoed, "nested": [{"token": GUEST_SECRET}], "file_path": echoed, "reason": "x"},
            "challenge": f"Basic realm={SESSION}",
        }
        return httpx.Response(status, json=body)

    return answer


@pytest.mark.parametrize(
    ("status", "error_type"), [(400, "INVALID_ARGUMENT"), (401, "UNAUTHENTICATED"), (404, "NOT_FOUND"), (500, "ERROR")]
)
def test_no_echoed_secret_stays_in_any_attribute_of_the_error(status: int, error_type: str) -> None:
    vc = _client(_echo(status, error_type))
    with pytest.raises(errors.VapiError) as caught:
        vc.processes.list("vm-1", GUEST)
    error = caught.value
    texts = [*_strings(error), str(error), repr(error), pickle.dumps(error).decode("latin-1")]
    for secret in (GUEST_SECRET, API_SECRET, SESSION):
        leaked = [t[:80] for t in texts if secret in t]
        assert not leaked, f"{secret} survives in {leaked}"
    assert error.messages, "the messages are kept, only scrubbed"
    assert "bad input" in error.messages[0].default_message


def test_no_echoed_secret_stays_in_an_unexpected_response() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text=request.content.decode() + SESSION, headers={"content-type": "text/html"})

    vc = _client(answer)
    with pytest.raises(errors.UnexpectedResponse) as caught:
        vc.processes.list("vm-1", GUEST)
    texts = [*_strings(caught.value), pickle.dumps(caught.value).decode("latin-1")]
    assert not [t for t in texts if GUEST_SECRET in t or SESSION in t]
