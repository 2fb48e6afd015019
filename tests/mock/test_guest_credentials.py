"""Guest credentials: the user programs run as; wrong ones are UNAUTHENTICATED, malformed ones INVALID_ARGUMENT."""

from __future__ import annotations

import pytest
from vcenter_guest.mock import DEMO_GUEST_PASSWORD

BAD_LOGIN = "com.vmware.vcenter.vm.guest.invalid_guest_login"
MISSING_FIELD = "com.vmware.vcenter.vm.guest.credentials.missing_field"
PW = {"type": "USERNAME_PASSWORD", "interactive_session": False}
SAML = {"type": "SAML_BEARER_TOKEN", "interactive_session": False}


@pytest.mark.parametrize("action", ["create", "list"])
@pytest.mark.parametrize(
    "creds",
    [
        {**PW, "user_name": "root", "password": "wrong"},
        {**PW, "user_name": "nobody", "password": DEMO_GUEST_PASSWORD},
        {**PW, "user_name": "svc", "password": DEMO_GUEST_PASSWORD},
        {**SAML, "saml_token": "not-a-token"},
        {**SAML, "saml_token": "token-svc", "user_name": "root"},
    ],
    ids=["wrong-password", "unknown-user", "other-users-password", "unknown-token", "token-of-another-user"],
)
def test_wrong_guest_credentials_are_unauthenticated_without_challenge(api, action, creds):
    response = api.op(action, creds=creds, spec={"path": "/bin/true"} if action == "create" else None)
    body = api.expect_error(response, 401, "UNAUTHENTICATED", BAD_LOGIN, args=["vm-42"])
    assert "challenge" not in body  # the API session is fine; only the guest login failed


@pytest.mark.parametrize(
    ("creds", "field"),
    [
        ({**PW, "user_name": "root"}, "password"),
        ({**PW, "password": DEMO_GUEST_PASSWORD}, "user_name"),
        ({**SAML, "user_name": "svc"}, "saml_token"),
    ],
    ids=["password-type-without-password", "password-type-without-user", "saml-type-without-token"],
)
def test_credentials_type_without_its_secret_is_invalid_argument(api, creds, field):
    response = api.op("create", creds=creds, spec={"path": "/bin/true"})
    api.expect_error(response, 400, "INVALID_ARGUMENT", MISSING_FIELD, args=[creds["type"], field])


def test_interactive_session_with_saml_token_is_invalid_argument(api):
    creds = {**SAML, "saml_token": "token-svc", "interactive_session": True}
    response = api.op("list", creds=creds)
    api.expect_error(
        response, 400, "INVALID_ARGUMENT", "com.vmware.vcenter.vm.guest.credentials.interactive_unsupported"
    )


def test_saml_token_runs_the_program_as_its_user(api):
    response = api.op("create", creds={**SAML, "saml_token": "token-svc"}, spec={"path": "/bin/true"})
    assert response.status_code == 201
    processes = api.op("list").json()
    assert next(p for p in processes if p["pid"] == response.json())["owner"] == "svc"
