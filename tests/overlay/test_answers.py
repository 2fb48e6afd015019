"""How the services read answers (`_services/answers`): an array that is not one, a boolean that is
not one, a no-content operation answering with a body; each is errors.UnexpectedResponse naming what
was expected, never a value made up or a TypeError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from vcenter_guest import Client, errors

VM = "vm-42"


def _answering(status: int, payload: Any) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/session":
            return httpx.Response(201, json="session-id-xyz")
        return httpx.Response(status, json=payload)

    return httpx.MockTransport(handler)


def _client(status: int, payload: Any) -> Client:
    return Client("https://vc.test", user="u", password="p", transport=_answering(status, payload))


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda vc: vc.guest.interfaces(VM), "an array of Interfaces.Info"),
        (lambda vc: vc.guest.routes(VM), "an array of Routes.Info"),
        (lambda vc: vc.vms.list(), "an array of VM.Summary"),
    ],
)
def test_an_object_where_an_array_is_documented_is_an_unexpected_response_naming_the_array(
    call: Callable[[Client], Any], what: str
) -> None:
    with _client(200, {"0": {}}) as vc, pytest.raises(errors.UnexpectedResponse) as caught:
        call(vc)
    assert caught.value.reason == f"the body is not {what}"


def test_a_string_where_the_dns_servers_array_is_documented_is_an_unexpected_response() -> None:
    payload = [{"dns": {"ip_addresses": "192.0.2.53", "search_domains": []}}]
    with _client(200, payload) as vc, pytest.raises(errors.UnexpectedResponse):
        vc.guest.interfaces(VM)


def test_a_string_where_a_boolean_is_documented_is_an_unexpected_response() -> None:
    payload = {"state": "POWERED_OFF", "clean_power_off": "true"}
    with _client(200, payload) as vc, pytest.raises(errors.UnexpectedResponse) as caught:
        vc.vms.power(VM)
    assert caught.value.reason == "the body is not a Power.Info"


@pytest.mark.parametrize(
    "call",
    [
        lambda vc: vc.vms.reset(VM),
        lambda vc: vc.guest.reboot(VM),
        lambda vc: vc.files.delete(VM, _creds(), "/tmp/x"),
    ],
)
def test_a_no_content_operation_answering_200_with_a_body_is_an_unexpected_response(
    call: Callable[[Client], Any],
) -> None:
    with _client(200, {"done": True}) as vc, pytest.raises(errors.UnexpectedResponse) as caught:
        call(vc)
    assert caught.value.status_code == 200
    assert "is not a documented answer" in str(caught.value)


def _creds() -> Any:
    from vcenter_guest import Credentials

    return Credentials.password("root", "pw")
