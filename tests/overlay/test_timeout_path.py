"""One value carries the client's `timeout` to the engine, each request and the transfers' pace:
nothing is read back out of the httpx client it opens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from vcenter_guest import AsyncClient, Client
from vcenter_guest._engine import Send


def _unreadable(self: Any) -> httpx.Timeout:
    raise AssertionError("the client read its timeout back out of httpx")


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_the_exchange_bound_reaches_requests_and_the_engine_without_reading_httpx_back(
    cls: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(httpx.Client, "timeout", property(_unreadable, httpx.Client.timeout.fset))
    monkeypatch.setattr(httpx.AsyncClient, "timeout", property(_unreadable, httpx.AsyncClient.timeout.fset))
    client = cls("http://vc.test", user="u", password="p", timeout=httpx.Timeout(5.0, read=60.0))
    assert client._engine.exchange_timeout == 60.0
    phases = {"connect": 5.0, "read": 60.0, "write": 5.0, "pool": 5.0}
    assert client._request(Send("GET", "/api/session", None)).extensions["timeout"] == phases
    cut = client._request(Send("GET", "/api/session", None, limit=2.0)).extensions["timeout"]
    assert cut == dict.fromkeys(phases, 2.0), "a retry with less time left cuts every phase to what is left"


@pytest.mark.parametrize(("timeout", "bound"), [(7, 7.0), (None, None), (httpx.Timeout(3.0, connect=None), None)])
def test_the_httpx_client_is_opened_with_the_phases_the_requests_carry(timeout: Any, bound: float | None) -> None:
    client = Client("http://vc.test", user="u", password="p", timeout=timeout)
    assert client._engine.exchange_timeout == bound
    sent = client._request(Send("GET", "/api/session", None)).extensions["timeout"]
    assert client._http.timeout.as_dict() == sent
