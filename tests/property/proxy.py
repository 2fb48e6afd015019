"""One recording and breaking ASGI proxy over the mock, for every fuzz test that needs a server to watch or break.

`Proxy(app)` forwards each HTTP exchange to `app` and records it (`requests`). A broken server is the
same proxy with hooks, each optional:

* `intercept(request) -> (status, body) | None`: answer without asking the app (e.g. replay an answer);
* `forward(request) -> request`: change what the app receives (e.g. store an upload truncated);
* `answer(request, status, body) -> (status, body)`: change what the client receives;
* `headers(request, status, headers) -> headers`: change the answer's headers (lower-case names; the
  Content-Length always follows the body).

Answers keep the app's headers (Content-Length follows the body); intercepted answers are JSON
unless they are bytes for /guestFile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import attrs
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Exchange", "Proxy", "json_answer"]


@attrs.define
class Exchange:
    """One request the proxy saw, and what it answered."""

    method: str
    path: str
    query: str
    body: bytes
    status: int = 0
    answer: bytes = b""
    headers: dict[str, str] = attrs.field(factory=dict)
    """The request's headers, lower-case names (the last of repeated ones)."""

    @property
    def params(self) -> dict[str, str]:
        """The query's parameters (first value each)."""
        return {k: v[0] for k, v in parse_qs(self.query).items()}

    def json(self) -> Any:
        """The request body as JSON, or None."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def json_answer(
    rewrite: Callable[[Exchange, int, Any], tuple[int, Any]],
) -> Callable[[Exchange, int, bytes], tuple[int, bytes]]:
    """An `answer` hook from one that sees and returns the JSON body (non-JSON answers pass unchanged)."""

    def answer(request: Exchange, status: int, body: bytes) -> tuple[int, bytes]:
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return status, body
        if body and request.path != "/guestFile":
            new_status, new_payload = rewrite(request, status, payload)
            return new_status, json.dumps(new_payload).encode()
        return status, body

    return answer


@attrs.define
class Proxy:
    """A recording, optionally breaking, proxy over an ASGI app."""

    app: ASGIApp
    intercept: Callable[[Exchange], tuple[int, bytes] | None] | None = None
    forward: Callable[[Exchange], Exchange] | None = None
    answer: Callable[[Exchange, int, bytes], tuple[int, bytes]] | None = None
    headers: Callable[[Exchange, int, dict[str, str]], dict[str, str]] | None = None
    requests: list[Exchange] = attrs.field(factory=list)

    @property
    def state(self) -> Any:
        """The app's state (the mock's simulator is `proxy.state.simulator`), so that targets read its inventory."""
        return self.app.state  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        request = Exchange(
            scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), b"".join(chunks)
        )
        request.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        self.requests.append(request)
        answered = self.intercept(request) if self.intercept else None
        if answered is not None:
            request.status, request.answer = answered
            media = b"application/octet-stream" if request.path == "/guestFile" else b"application/json"
            await _send(send, {"status": answered[0], "headers": [(b"content-type", media)]}, answered[1])
            return
        sent = self.forward(request) if self.forward else request
        await self._call(scope, sent, send, request)

    async def _call(self, scope: Scope, sent: Exchange, send: Send, request: Exchange) -> None:
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": sent.body, "more_body": False}

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, body = start["status"], b"".join(chunks)
            if self.answer is not None:
                status, body = self.answer(request, status, body)
            request.status, request.answer = status, body
            headers = start.get("headers", [])
            if self.headers is not None:
                named = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
                changed = self.headers(request, status, named)
                headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in changed.items()]
            await _send(send, {**start, "status": status, "headers": headers}, body)

        query = sent.query.encode("latin-1")
        await self.app({**scope, "query_string": query, "path": sent.path}, replay, capture)


async def _send(send: Send, start: dict[str, Any], body: bytes) -> None:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})
