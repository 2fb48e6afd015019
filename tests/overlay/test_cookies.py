"""Cookies a server sets come back on later requests; answers that set none skip the jar (see _clients/cookies)."""

from __future__ import annotations

import asyncio
import http.cookiejar
from typing import Any

import httpx
import pytest
from vcenter_guest import AsyncClient, Client


class _Server:
    """A vCenter in front of a load balancer that pins the client with a cookie on the login answer."""

    def __init__(self) -> None:
        self.cookies: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.cookies.append(request.headers.get("cookie"))
        if request.url.path == "/api/session" and request.method == "POST":
            return httpx.Response(201, json="session-1", headers={"Set-Cookie": "lb=node-2; Path=/"})
        if request.url.path == "/api/vcenter/vm":
            return httpx.Response(200, json=[])
        return httpx.Response(204)


@pytest.fixture
def extractions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The answers (their paths) whose cookies the jar looked at."""
    seen: list[str] = []
    original = http.cookiejar.CookieJar.extract_cookies

    def counted(self: Any, response: Any, request: Any) -> None:
        seen.append(request.get_full_url())
        original(self, response, request)

    monkeypatch.setattr(http.cookiejar.CookieJar, "extract_cookies", counted)
    return seen


def test_sync_client_sends_back_the_cookie_and_reads_the_jar_only_for_the_answer_that_set_it(
    extractions: list[str],
) -> None:
    server = _Server()
    with Client("https://vc.test", user="u", password="p", transport=httpx.MockTransport(server)) as vc:
        vc.vms.list()
        vc.vms.list()
    assert server.cookies[0] is None  # the login
    assert server.cookies[1:] == ["lb=node-2"] * (len(server.cookies) - 1)
    assert extractions == ["https://vc.test/api/session"]


def test_async_client_sends_back_the_cookie_and_reads_the_jar_only_for_the_answer_that_set_it(
    extractions: list[str],
) -> None:
    server = _Server()

    async def main() -> None:
        async with AsyncClient("https://vc.test", user="u", password="p", transport=httpx.MockTransport(server)) as vc:
            await vc.vms.list()
            await vc.vms.list()

    asyncio.run(main())
    assert server.cookies[0] is None
    assert server.cookies[1:] == ["lb=node-2"] * (len(server.cookies) - 1)
    assert extractions == ["https://vc.test/api/session"]


@pytest.mark.parametrize("header", ["Set-Cookie", "Set-Cookie2"])
def test_either_cookie_header_reaches_the_jar(header: str, extractions: list[str]) -> None:
    client = Client("https://vc.test", user="u", password="p")
    request = httpx.Request("GET", "https://vc.test/api/session")
    client._http.cookies.extract_cookies(httpx.Response(200, headers={header: "a=b"}, request=request))
    client._http.cookies.extract_cookies(httpx.Response(200, headers={"X-Other": "a=b"}, request=request))
    assert extractions == ["https://vc.test/api/session"]


def test_cookies_set_on_the_http_client_stay_of_the_same_kind() -> None:
    client = Client("https://vc.test", user="u", password="p")
    client._http.cookies = {"lb": "node-1"}
    assert type(client._http.cookies) is type(Client("https://vc.test", user="u", password="p")._http.cookies)
    assert client._http.cookies["lb"] == "node-1"
