"""The mock's vAPI JSON-RPC endpoint (`POST /api`) at the wire: the envelopes, the data-value encoding,
the protocol errors, without the official SDK (tests/interop drives it with the SDK itself)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_GUEST_USER,
    DEMO_VM,
    create_app,
    serve,
)

USER_PASS = {
    "schemeId": "com.vmware.vapi.std.security.user_pass",
    "userName": DEMO_API_USER,
    "password": DEMO_API_PASSWORD,
}
CREDS = {
    "STRUCTURE": {
        "com.vmware.vcenter.vm.guest.credentials": {
            "interactive_session": False,
            "type": "USERNAME_PASSWORD",
            "user_name": {"OPTIONAL": DEMO_GUEST_USER},
            "password": {"OPTIONAL": {"SECRET": DEMO_GUEST_PASSWORD}},
            "saml_token": {"OPTIONAL": None},
        }
    }
}


@pytest.fixture(scope="module")
def rpc() -> Any:
    with serve(app=create_app()) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def invoke(http: httpx.Client, service: str, operation: str, fields: dict[str, Any], security: Any = None) -> Any:
    body = {
        "jsonrpc": "2.0",
        "method": "invoke",
        "id": "7",
        "params": {
            "serviceId": service,
            "operationId": operation,
            "input": {"STRUCTURE": {"operation-input": fields}},
            "ctx": {"appCtx": {}, **({"securityCtx": security} if security else {})},
        },
    }
    response = http.post("/api", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["jsonrpc"] == "2.0"
    assert answer["id"] == "7"
    return answer["result"]


def session(http: httpx.Client) -> dict[str, str]:
    sid = invoke(http, "com.vmware.cis.session", "create", {}, USER_PASS)["output"]["SECRET"]
    return {"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": sid}


def test_login_answers_the_session_id_as_a_secret_and_it_works_in_the_security_context(rpc: httpx.Client) -> None:
    info = invoke(rpc, "com.vmware.cis.session", "get", {}, session(rpc))["output"]
    assert info["STRUCTURE"]["com.vmware.cis.session.info"]["user"] == DEMO_API_USER


def test_optional_fields_and_maps_travel_in_the_runtime_encoding(rpc: httpx.Client) -> None:
    ctx = session(rpc)
    spec = {
        "STRUCTURE": {
            "com.vmware.vcenter.vm.guest.processes.create_spec": {
                "path": "/opt/app/exit",
                "arguments": {"OPTIONAL": "4"},
                "working_directory": {"OPTIONAL": None},
                "environment_variables": {"OPTIONAL": [{"STRUCTURE": {"map-entry": {"key": "A", "value": "1"}}}]},
                "start_minimized": {"OPTIONAL": None},
            }
        }
    }
    service = "com.vmware.vcenter.vm.guest.processes"
    pid = invoke(rpc, service, "create", {"vm": DEMO_VM, "credentials": CREDS, "spec": spec}, ctx)["output"]
    assert isinstance(pid, int)
    info = invoke(rpc, service, "get", {"vm": DEMO_VM, "credentials": CREDS, "pid": pid}, ctx)["output"]
    fields = info["STRUCTURE"]["com.vmware.vcenter.vm.guest.processes.info"]
    assert fields["exit_code"] == {"OPTIONAL": 4}
    assert "OPTIONAL" in fields["finished"]
    assert isinstance(fields["started"], str)  # required: not wrapped


def test_errors_are_vapi_error_values_named_by_their_type(rpc: httpx.Client) -> None:
    result = invoke(rpc, "com.vmware.vcenter.vm.guest.operations", "get", {"vm": "vm-nope"}, session(rpc))
    ((name, fields),) = result["error"]["ERROR"].items()
    assert name == "com.vmware.vapi.std.errors.not_found"
    assert fields["error_type"] == {"OPTIONAL": "NOT_FOUND"}
    assert fields["messages"][0]["STRUCTURE"]["com.vmware.vapi.std.localizable_message"]["args"] == ["vm-nope"]


def test_no_security_context_is_unauthenticated(rpc: httpx.Client) -> None:
    result = invoke(rpc, "com.vmware.vcenter.VM", "list", {})
    assert list(result["error"]["ERROR"]) == ["com.vmware.vapi.std.errors.unauthenticated"]


def test_an_unknown_service_or_operation_is_operation_not_found(rpc: httpx.Client) -> None:
    ctx = session(rpc)
    for service, operation in [("com.vmware.vcenter.host", "list"), ("com.vmware.vcenter.VM", "frob")]:
        result = invoke(rpc, service, operation, {}, ctx)
        assert list(result["error"]["ERROR"]) == ["com.vmware.vapi.std.errors.operation_not_found"]


def test_a_malformed_input_is_invalid_argument(rpc: httpx.Client) -> None:
    ctx = session(rpc)
    service = "com.vmware.vcenter.vm.guest.processes"
    missing_vm = invoke(rpc, service, "list", {"credentials": CREDS}, ctx)
    assert list(missing_vm["error"]["ERROR"]) == ["com.vmware.vapi.std.errors.invalid_argument"]
    bad_tag = invoke(rpc, service, "list", {"vm": DEMO_VM, "credentials": {"BOGUS": 1}}, ctx)
    assert list(bad_tag["error"]["ERROR"]) == ["com.vmware.vapi.std.errors.invalid_argument"]
    extra = invoke(rpc, "com.vmware.vcenter.vm.guest.operations", "get", {"vm": DEMO_VM, "x": 1}, ctx)
    assert list(extra["error"]["ERROR"]) == ["com.vmware.vapi.std.errors.invalid_argument"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b"[]", -32600),
        (json.dumps({"jsonrpc": "1.0", "method": "invoke", "id": 1}).encode(), -32600),
        (json.dumps({"jsonrpc": "2.0", "method": "invoke", "params": {}}).encode(), -32600),
        (json.dumps({"jsonrpc": "2.0", "method": "frob", "id": 1, "params": {}}).encode(), -32601),
        (json.dumps({"jsonrpc": "2.0", "method": "invoke", "id": 1, "params": {"serviceId": 1}}).encode(), -32602),
    ],
    ids=["not-json", "not-an-object", "wrong-version", "no-id", "unknown-method", "bad-params"],
)
def test_protocol_errors_are_json_rpc_errors(rpc: httpx.Client, body: bytes, code: int) -> None:
    response = rpc.post("/api", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json()["error"]["code"] == code


def test_a_body_larger_than_the_mock_takes_is_refused_unread(rpc: httpx.Client) -> None:
    response = rpc.post("/api", content=b"x" * (2 << 20), headers={"content-type": "application/json"})
    assert response.json()["error"]["code"] == -32600


def test_get_api_is_no_operation(rpc: httpx.Client) -> None:
    response = rpc.get("/api")
    assert response.status_code == 404
    assert response.json()["error_type"] == "OPERATION_NOT_FOUND"


# -- VM.list's filter as the official SDK sends it over REST: a JSON body on the GET ---------------------


def test_vm_list_reads_the_filter_of_a_get_body(rpc: httpx.Client) -> None:
    sid = rpc.post("/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).json()
    headers = {"vmware-api-session-id": sid, "content-type": "application/json"}
    body = {"filter": {"names": ["demo-linux"], "power_states": ["POWERED_ON"]}}
    listed = rpc.request("GET", "/api/vcenter/vm", content=json.dumps(body), headers=headers)
    assert [vm["vm"] for vm in listed.json()] == [DEMO_VM]
    assert len(rpc.request("GET", "/api/vcenter/vm", content=b"{}", headers=headers).json()) == 9
    both = rpc.request("GET", "/api/vcenter/vm?names=demo-linux", content=json.dumps(body), headers=headers)
    assert both.status_code == 400
    assert both.json()["error_type"] == "INVALID_ARGUMENT"
    for bad in ({"filter": {"colors": ["red"]}}, {"filter": {"names": "demo-linux"}}, {"other": 1}, [1]):
        refused = rpc.request("GET", "/api/vcenter/vm", content=json.dumps(bad), headers=headers)
        assert refused.status_code == 400, bad
    assert rpc.request("GET", "/api/vcenter/vm", content=b"{x", headers=headers).status_code == 400


def test_transfer_urls_name_the_address_the_mock_was_reached_at_unless_the_inventory_asks_for_star() -> None:
    from vcenter_guest.mock import DEMO_INVENTORY

    plain = {"credentials": {"interactive_session": False, "type": "USERNAME_PASSWORD", "user_name": "root"}}
    plain["credentials"]["password"] = DEMO_GUEST_PASSWORD
    route = f"/api/vcenter/vm/{DEMO_VM}/guest/filesystem?action=create"
    for inventory, expected in [(None, "{url}"), ({**DEMO_INVENTORY, "transfer_base_url": "http://*"}, "http://*")]:
        with serve(app=create_app(inventory)) as url, httpx.Client(base_url=url, timeout=30) as http:
            sid = http.post("/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).json()
            made = http.post(
                route, json={**plain, "spec": {"path": "/etc/hostname"}}, headers={"vmware-api-session-id": sid}
            ).json()
            assert made.startswith(expected.format(url=url) + "/guestFile?id="), made


def test_a_malformed_input_is_refused_without_echoing_what_it_held(rpc: httpx.Client) -> None:
    ctx = session(rpc)
    leaky = {
        "STRUCTURE": {
            "com.vmware.vcenter.vm.guest.credentials": {
                "interactive_session": False,
                "type": {"hunter2-tag": "hunter2"},
                "password": {"OPTIONAL": {"SECRET": "hunter2"}},
            }
        }
    }
    body = {
        "jsonrpc": "2.0",
        "method": "invoke",
        "id": 1,
        "params": {
            "serviceId": "com.vmware.vcenter.vm.guest.processes",
            "operationId": "list",
            "input": {"STRUCTURE": {"operation-input": {"vm": DEMO_VM, "credentials": leaky}}},
            "ctx": {"securityCtx": ctx},
        },
    }
    response = rpc.post("/api", json=body)
    assert "com.vmware.vapi.std.errors.invalid_argument" in response.text
    assert "hunter2" not in response.text


def test_a_bug_of_the_mock_is_a_json_rpc_internal_error_not_a_dropped_connection() -> None:
    app = create_app()

    async def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    app.state.api.jsonrpc.answer = broken
    with serve(app=app) as url, httpx.Client(base_url=url, timeout=30) as http:
        response = http.post("/api", json={"jsonrpc": "2.0", "method": "invoke", "id": 1, "params": {}})
    assert response.status_code == 200
    assert response.json()["error"]["code"] == -32603
