"""httpx clients whose cookie jar is consulted only for answers that set a cookie.

WHY: after every answer httpx calls `client.cookies.extract_cookies(response)`, which wraps the
request in a `urllib.request.Request` and the headers in an `email.message.Message` before the jar
looks for a `Set-Cookie` header: about 12% of the async client's CPU per call in a fan-out (profiled
with cProfile over `run_many` on 1,000 VMs), for answers that set none (vCenter's API answers carry
the session in a header). Here the jar is skipped when the answer has neither `Set-Cookie` nor
`Set-Cookie2`; any other answer goes through httpx's own extraction, so a server (or a load
balancer in front of it) that sets cookies gets them back exactly as before.
tests/overlay/test_cookies.py checks both.

WHEN IT CAN GO: when httpx looks for the header before building the wrappers.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["AsyncHttp", "Http"]


class _Cookies(httpx.Cookies):
    """httpx's cookies, with extraction skipped for an answer that sets no cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _Jar:
    """A client's `cookies` as httpx's (read, set, passed at creation), held in a `_Cookies`."""

    def __init__(self, *, cookies: Any = None, **kwargs: Any) -> None:
        super().__init__(cookies=cookies, **kwargs)  # type: ignore[call-arg]  # the httpx client's
        self._jar = _Cookies(cookies)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._jar = _Cookies(cookies)


class Http(_Jar, httpx.Client):
    """`httpx.Client` with the cookie jar of this module."""


class AsyncHttp(_Jar, httpx.AsyncClient):
    """`httpx.AsyncClient` with the cookie jar of this module."""
