"""The clients build each request as `httpx.Client.build_request` would (see BaseClient._request)."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from vcenter_guest import AsyncClient, Client
from vcenter_guest._engine import Send

vm_ids = st.text(min_size=1, max_size=20)
bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


_CLIENTS: dict[tuple[type, str], Any] = {}


def _client(cls: type, prefix: str) -> Any:
    # One client per kind and base URL: opening an AsyncClient's pools is what costs time here.
    key = (cls, prefix)
    if key not in _CLIENTS:
        _CLIENTS[key] = cls(f"http://vc.test{prefix}", user="u", password="p", timeout=7)
    return _CLIENTS[key]


def _same(built: httpx.Request, reference: httpx.Request) -> None:
    assert built.method == reference.method
    assert built.url == reference.url
    assert sorted(built.headers.multi_items()) == sorted(reference.headers.multi_items())
    assert built.read() == reference.read()
    assert built.extensions == reference.extensions


@settings(max_examples=150, deadline=None)
@given(vm=vm_ids, body=bodies, prefix=st.sampled_from(["", "/prefix", "/a/b/"]), session=st.none() | st.just("s-1"))
def test_requests_are_what_build_request_makes(vm: str, body: Any, prefix: str, session: str | None) -> None:
    from urllib.parse import quote

    url = f"/api/vcenter/vm/{quote(vm, safe='')}/guest/processes?action=list"
    for cls in (Client, AsyncClient):
        client = _client(cls, prefix)
        send = Send("POST", url, body, session=session)
        reference = client._http.build_request("POST", url, json=body)
        if session is not None:
            reference.headers["vmware-api-session-id"] = session
        _same(client._request(send), reference)


def test_a_client_whose_server_set_cookies_sends_them_back() -> None:
    client = Client("http://vc.test", user="u", password="p")
    client._http.cookies.set("lb", "node-2", domain="vc.test")
    request = client._request(Send("GET", "/api/session", None, session="s"))
    assert request.headers["cookie"] == "lb=node-2"
