"""Malformed input of any kind gets a 4xx std error in JSON: never a 5xx, never a non-JSON body."""

from __future__ import annotations

import json

import pytest
from vcenter_guest.mock import DEMO_GUEST_PASSWORD

CREDS = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}
PATH = "/api/vcenter/vm/vm-42/guest/processes"
MISSING_KEY = "vapi.bindings.typeconverter.dict.missing.key"
WRONG_TYPE = "vapi.bindings.typeconverter.unexpected.type"


def _post(api, url, **kwargs):
    api.login()
    return api.request("POST", url, headers={**api.headers(), **kwargs.pop("headers", {})}, **kwargs)


@pytest.mark.parametrize(
    ("body", "message_id", "args"),
    [
        ({}, MISSING_KEY, ["operation-input", "credentials"]),
        ({"credentials": CREDS}, MISSING_KEY, ["operation-input", "spec"]),
        ({"credentials": CREDS, "spec": {}}, MISSING_KEY, ["com.vmware.vcenter.vm.guest.processes.createspec", "path"]),
        ({"credentials": {"type": "USERNAME_PASSWORD"}, "spec": {"path": "/bin/true"}}, MISSING_KEY, None),
        (
            {"credentials": {**CREDS, "type": "KERBEROS"}, "spec": {"path": "/bin/true"}},
            "vapi.bindings.typeconverter.enum.invalid",
            None,
        ),
        (
            {"credentials": {**CREDS, "interactive_session": "no"}, "spec": {"path": "/bin/true"}},
            WRONG_TYPE,
            ["credentials.interactive_session", "boolean"],
        ),
        ({"credentials": CREDS, "spec": {"path": 7}}, WRONG_TYPE, ["spec.path", "string"]),
        (
            {"credentials": CREDS, "spec": {"path": "/bin/true", "environment_variables": {"A": 1}}},
            WRONG_TYPE,
            ["spec.environment_variables.A", "string"],
        ),
        ({"credentials": CREDS, "spec": {"path": "/bin/true", "start_minimized": None}}, WRONG_TYPE, None),
        ([], WRONG_TYPE, ["(request body)", "object"]),
        (None, WRONG_TYPE, ["(request body)", "object"]),
        ("create", WRONG_TYPE, ["(request body)", "object"]),
    ],
    ids=[
        "empty-object",
        "no-spec",
        "no-path",
        "credentials-missing-fields",
        "unknown-credentials-type",
        "boolean-as-string",
        "path-as-number",
        "environment-value-as-number",
        "null-boolean",
        "array-body",
        "null-body",
        "string-body",
    ],
)
def test_body_that_violates_the_schema_is_invalid_argument(api, body, message_id, args):
    content = json.dumps(body)
    response = _post(api, PATH + "?action=create", content=content, headers={"Content-Type": "application/json"})
    api.expect_error(response, 400, "INVALID_ARGUMENT", message_id, args=args)


def test_schema_error_never_echoes_the_offending_value(api):
    secret = 424242424242
    body = {"credentials": {**CREDS, "password": secret}, "spec": {"path": "/bin/true"}}
    response = _post(api, PATH + "?action=create", json=body)
    assert response.status_code == 400
    assert str(secret) not in response.text


@pytest.mark.parametrize(
    "content",
    [b"{", b"not json", b"", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000, b'{"a": 1' + b"0" * 5000 + b"}"],
    ids=["truncated", "text", "empty", "binary", "deeply-nested", "huge-integer"],
)
def test_invalid_json_is_invalid_argument(api, content):
    response = _post(api, PATH + "?action=list", content=content, headers={"Content-Type": "application/json"})
    api.expect_error(response, 400, "INVALID_ARGUMENT", "vapi.protocol.server.rest.invalid_json")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
def test_wrong_content_type_is_invalid_argument(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = _post(api, PATH + "?action=list", content=json.dumps({"credentials": CREDS}), headers=headers)
    api.expect_error(response, 400, "INVALID_ARGUMENT", "vapi.protocol.server.rest.unsupported_content_type")


def test_json_content_type_with_charset_is_accepted(api):
    headers = {"Content-Type": "Application/JSON; charset=utf-8"}
    response = _post(api, PATH + "?action=list", content=json.dumps({"credentials": CREDS}), headers=headers)
    assert response.status_code == 200


def test_body_over_the_limit_is_invalid_argument(api):
    big = {"credentials": CREDS, "spec": {"path": "/bin/true", "arguments": "x" * (1 << 20)}}
    response = _post(api, PATH + "?action=create", json=big)
    api.expect_error(response, 400, "INVALID_ARGUMENT", "vcenter_guest.mock.body_too_large", args=[str(1 << 20)])


def test_body_limit_is_configurable(make_api):
    from vcenter_guest.mock import DEMO_INVENTORY

    api = make_api({**DEMO_INVENTORY, "max_body_bytes": 2048})
    body = {"credentials": CREDS, "spec": {"path": "/bin/echo", "arguments": "x" * 1500}}
    assert _post(api, PATH + "?action=create", json=body).status_code == 201
    body["spec"]["arguments"] = "x" * 2100
    assert _post(api, PATH + "?action=create", json=body).status_code == 400


@pytest.mark.parametrize("action", ["get", "delete"])
@pytest.mark.parametrize(
    "pid",
    # Only the canonical decimal form names a pid: a newline, a plus sign or a leading zero does not.
    [
        "abc",
        "1.5",
        "1e3",
        "",
        "%20",
        "9223372036854775808",
        "-9223372036854775809",
        "0x10",
        "\u0665",
        "1%0A",
        "+1",
        "001",
        "%201",
        "1%20",
        "-0",
    ],
)
def test_pid_that_is_not_an_int64_is_invalid_argument(api, action, pid):
    response = _post(api, f"{PATH}/{pid}?action={action}", json={"credentials": CREDS})
    api.expect_error(response, 400, "INVALID_ARGUMENT", "vapi.bindings.typeconverter.invalid.path_parameter")


@pytest.mark.parametrize("query", ["?action=frob", "", "?action=", "?verb=create", "?action=get"])
def test_unknown_action_is_operation_not_found(api, query):
    response = _post(api, PATH + query, json={"credentials": CREDS})
    api.expect_error(response, 404, "OPERATION_NOT_FOUND", "com.vmware.vapi.rest.operation_not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/",
        "/api/vcenter/host",
        "/api/vcenter/vm/vm-42/guest",
        "/rest/com/vmware/cis/session",
        "/api/session/x",
    ],
)
def test_unknown_path_is_operation_not_found(api, path):
    response = _post(api, path, json={})
    api.expect_error(response, 404, "OPERATION_NOT_FOUND", "com.vmware.vapi.rest.operation_not_found")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/session", "DELETE, GET, POST"),
        ("PATCH", "/api/session", "DELETE, GET, POST"),
        ("HEAD", "/api/session", "DELETE, GET, POST"),
        ("GET", PATH + "?action=create", "POST"),
        ("DELETE", PATH + "?action=list", "POST"),
        ("OPTIONS", PATH + "/5?action=get", "POST"),
        ("PUT", PATH + "/5?action=delete", "POST"),
        ("TRACE", "/api/vcenter/vm/anything/guest/processes?action=create", "POST"),
    ],
)
def test_undocumented_method_on_a_documented_path_is_405_with_allow(api, method, path, allow):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if method != "HEAD":
        api.expect_error(response, 405, "OPERATION_NOT_FOUND", "com.vmware.vapi.rest.method_not_allowed")


def test_extra_fields_are_ignored_like_vcenter_does(api):
    body = {"credentials": {**CREDS, "domain": "x"}, "spec": {"path": "/bin/true", "priority": 5}, "extra": [1]}
    assert _post(api, PATH + "?action=create", json=body).status_code == 201


def test_secrets_of_any_length_are_accepted(api):
    api.simulator.update_vm("vm-42")  # no change: the inventory is the demo's
    creds = {**CREDS, "password": DEMO_GUEST_PASSWORD}
    assert _post(api, PATH + "?action=list", json={"credentials": creds}).status_code == 200


def test_identical_bodies_get_identical_answers_valid_or_not(api):
    # Valid bodies are remembered by their bytes; invalid ones must fail every time all the same.
    good = json.dumps({"credentials": CREDS, "spec": {"path": "/bin/true"}})
    bad = json.dumps({"credentials": {**CREDS, "type": "KERBEROS"}, "spec": {"path": "/bin/true"}})
    headers = {"Content-Type": "application/json"}
    statuses = [
        _post(api, PATH + "?action=create", content=body, headers=headers).status_code for body in (good, bad) * 3
    ]
    assert statuses == [201, 400] * 3
    pids = [p["pid"] for p in api.op("list").json() if p["name"] == "true"]
    assert len(set(pids)) == 3


@pytest.mark.parametrize(
    "password",
    # Lone surrogates: valid JSON escapes, but not text; vCenter's JSON reader rejects them as input.
    ["\\ud800", "pre\\udfffpost", "\\udc00\\ud800"],
)
def test_text_that_is_not_valid_unicode_is_invalid_argument(api, password):
    raw = (
        '{"credentials": {"type": "USERNAME_PASSWORD", "interactive_session": false, '
        '"user_name": "root", "password": "' + password + '"}}'
    )
    response = _post(api, PATH + "?action=list", content=raw.encode(), headers={"Content-Type": "application/json"})
    api.expect_error(response, 400, "INVALID_ARGUMENT", "vapi.protocol.server.rest.invalid_unicode")


def test_a_surrogate_pair_escape_is_valid_text(api):
    raw = (
        '{"credentials": {"type": "USERNAME_PASSWORD", "interactive_session": false, '
        '"user_name": "root", "password": "\\ud83d\\ude00"}}'
    )
    response = _post(api, PATH + "?action=list", content=raw.encode(), headers={"Content-Type": "application/json"})
    api.expect_error(response, 401, "UNAUTHENTICATED", "com.vmware.vcenter.vm.guest.invalid_guest_login")
