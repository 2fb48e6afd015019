"""API sessions: login with HTTP basic, the session header on every call, expiry, logout."""

from __future__ import annotations

import pytest
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER

AUTH_REQUIRED = "com.vmware.vapi.endpoint.method.authentication.required"
GUEST_OPS = [("create", None), ("list", None), ("get", 1), ("delete", 1)]


def test_login_returns_a_session_that_get_session_describes(api):
    session_id = api.login()
    assert isinstance(session_id, str)
    assert len(session_id) >= 32
    info = api.request("GET", "/api/session", headers=api.headers()).json()
    assert info["user"] == DEMO_API_USER
    assert info["created_time"].endswith("Z")


def test_each_login_gets_a_different_session_id(api):
    assert api.login() != api.login()


@pytest.mark.parametrize(
    "auth",
    [(DEMO_API_USER, "wrong"), ("nobody@vsphere.local", DEMO_API_PASSWORD), None],
    ids=["wrong-password", "unknown-user", "no-credentials"],
)
def test_login_with_bad_basic_credentials_is_unauthenticated_with_challenge(api, auth):
    response = api.request("POST", "/api/session", auth=auth)
    body = api.expect_error(response, 401, "UNAUTHENTICATED", AUTH_REQUIRED)
    assert body["challenge"] == 'Basic realm="vCenter"'
    assert response.headers["www-authenticate"] == 'Basic realm="vCenter"'


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64",
        "Bearer abc",
        "Basic " + "bm9jb2xvbg==",  # base64 of "nocolon"
        "Basic \u00e9\u00e9\u00e9\u00e9".encode("latin-1"),  # non-ASCII bytes in the header (sent as bytes)
        "Basic " + "/w==",  # base64 of the byte 0xff: not UTF-8
    ],
)
def test_login_with_a_malformed_authorization_header_is_unauthenticated(api, header):
    response = api.request("POST", "/api/session", headers={"Authorization": header})
    api.expect_error(response, 401, "UNAUTHENTICATED", AUTH_REQUIRED)


@pytest.mark.parametrize(("action", "pid"), GUEST_OPS)
def test_guest_operation_without_session_is_unauthenticated_with_challenge(api, action, pid):
    response = api.op(action, pid=pid, session_id="", spec={"path": "/bin/true"} if action == "create" else None)
    body = api.expect_error(response, 401, "UNAUTHENTICATED", AUTH_REQUIRED)
    assert body["challenge"] == 'Basic realm="vCenter"'


@pytest.mark.parametrize(("action", "pid"), GUEST_OPS)
def test_guest_operation_with_unknown_session_is_unauthenticated(api, action, pid):
    response = api.op(action, pid=pid, session_id="0" * 32, spec={"path": "/bin/true"} if action == "create" else None)
    body = api.expect_error(response, 401, "UNAUTHENTICATED", AUTH_REQUIRED)
    assert body["challenge"] == 'Basic realm="vCenter"'


def test_session_expires_after_idle_timeout(api):
    api.login()
    api.clock.advance(1799)
    assert api.op("list").status_code == 200  # use refreshes the idle timer
    api.clock.advance(1799)
    assert api.op("list").status_code == 200
    api.clock.advance(1800)
    api.expect_error(api.op("list"), 401, "UNAUTHENTICATED", AUTH_REQUIRED)
    api.expect_error(api.request("GET", "/api/session", headers=api.headers()), 401, "UNAUTHENTICATED", AUTH_REQUIRED)


def test_logout_ends_the_session(api):
    api.login()
    assert api.request("DELETE", "/api/session", headers=api.headers()).status_code == 204
    api.expect_error(api.op("list"), 401, "UNAUTHENTICATED", AUTH_REQUIRED)
    api.expect_error(
        api.request("DELETE", "/api/session", headers=api.headers()), 401, "UNAUTHENTICATED", AUTH_REQUIRED
    )


@pytest.mark.parametrize(
    ("user", "password", "action", "privilege"),
    [
        ("auditor@vsphere.local", "Audit!23", "create", "VirtualMachine.GuestOperations.Execute"),
        ("auditor@vsphere.local", "Audit!23", "delete", "VirtualMachine.GuestOperations.Execute"),
        ("operator@vsphere.local", "Oper!23", "list", "VirtualMachine.GuestOperations.Query"),
        ("operator@vsphere.local", "Oper!23", "get", "VirtualMachine.GuestOperations.Query"),
    ],
)
def test_api_user_without_the_privilege_is_unauthorized(api, user, password, action, privilege):
    api.login(user, password)
    pid = 1 if action in {"get", "delete"} else None
    response = api.op(action, pid=pid, spec={"path": "/bin/true"} if action == "create" else None)
    body = api.expect_error(response, 403, "UNAUTHORIZED", "vapi.security.authorization.invalid", args=[user])
    assert privilege not in response.text, "vCenter does not say which privilege is missing"
    assert body["messages"][0]["default_message"] == f"Unable to authorize user {user}."
