"""Passwords, SAML tokens and session ids never reach a log record, a repr or an error body."""

from __future__ import annotations

import logging

import httpx
from vcenter_guest.mock import (
    DEMO_API_PASSWORD,
    DEMO_API_USER,
    DEMO_GUEST_PASSWORD,
    DEMO_INVENTORY,
    load_inventory,
    serve,
)

CREATE = "/api/vcenter/vm/{vm}/guest/processes?action=create"
TOKEN = "token-svc"


def _traffic(url: str) -> list[str]:
    """Every kind of call that carries a secret, right and wrong; returns the secrets used."""
    wrong_api, wrong_guest, wrong_token = "Wr0ng-api-pw", "wr0ng-guest-pw", "wr0ng-saml-token"
    with httpx.Client(base_url=url) as client:
        session = client.post("/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).json()
        client.post("/api/session", auth=(DEMO_API_USER, wrong_api))
        headers = {"vmware-api-session-id": session}
        for vm in ("vm-42", "vm-404", "vm-46"):
            for creds in (
                {
                    "type": "USERNAME_PASSWORD",
                    "interactive_session": False,
                    "user_name": "root",
                    "password": DEMO_GUEST_PASSWORD,
                },
                {
                    "type": "USERNAME_PASSWORD",
                    "interactive_session": False,
                    "user_name": "root",
                    "password": wrong_guest,
                },
                {"type": "SAML_BEARER_TOKEN", "interactive_session": False, "saml_token": TOKEN},
                {"type": "SAML_BEARER_TOKEN", "interactive_session": False, "saml_token": wrong_token},
                {"type": "USERNAME_PASSWORD", "interactive_session": 1, "password": wrong_guest},
            ):
                for path in ("/bin/sleep", "/opt/app/broken", "relative", "/root/secret.sh"):
                    client.post(
                        CREATE.format(vm=vm),
                        headers=headers,
                        json={"credentials": creds, "spec": {"path": path, "arguments": "1"}},
                    )
        client.post(CREATE.format(vm="vm-42"), headers={"vmware-api-session-id": session[::-1]}, json={})
        client.get("/api/session", headers=headers)
        client.delete("/api/session", headers=headers)
        client.get("/api/session", headers=headers)
    return [DEMO_API_PASSWORD, DEMO_GUEST_PASSWORD, TOKEN, session, session[::-1], wrong_api, wrong_guest, wrong_token]


def test_logs_at_debug_never_contain_passwords_tokens_or_session_ids(caplog):
    caplog.set_level(logging.DEBUG)
    # Named too: another part of the process (a CLI run in process) may have set a parent's level.
    for name in ("vcenter_guest.mock", "uvicorn", "uvicorn.access", "uvicorn.error"):
        caplog.set_level(logging.DEBUG, logger=name)
    # Its own server, not the root conftest's: what is checked is uvicorn's logging at this log level.
    with serve(log_level="debug") as url:
        secrets = _traffic(url)
    records = caplog.records
    assert any(r.name == "uvicorn.access" for r in records), "the access log must be captured"
    assert any(r.name == "vcenter_guest.mock" for r in records), "the mock's own log must be captured"
    text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in records)
    for secret in secrets:
        assert secret not in text, f"a secret ({len(secret)} chars) leaked into the logs"


def test_reprs_of_inventory_and_state_hide_secrets(make_in_process_server):
    simulator = make_in_process_server(DEMO_INVENTORY).simulator
    session_id = simulator.create_session(DEMO_API_USER, DEMO_API_PASSWORD)
    session = simulator.session(session_id)
    text = repr(load_inventory(DEMO_INVENTORY)) + repr(session) + repr(simulator.inventory.users)
    for secret in (DEMO_API_PASSWORD, DEMO_GUEST_PASSWORD, TOKEN, session_id):
        assert secret not in text


def test_trace_log_level_is_refused_because_it_logs_headers():
    import pytest

    with pytest.raises(ValueError, match="log_level"), serve(log_level="trace"):
        pass


def test_the_access_log_never_holds_a_transfer_urls_token(caplog):
    """Whoever holds a transfer URL may read or write that guest file: its token is a secret."""
    for name in ("uvicorn", "uvicorn.access"):
        caplog.set_level(logging.INFO, logger=name)
    # Its own server, not the root conftest's: what is checked is uvicorn's access log at info.
    with serve(log_level="info") as url:
        session = httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).json()
        creds = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root"}
        transfer = httpx.post(
            url + "/api/vcenter/vm/vm-42/guest/filesystem?action=create",
            json={"credentials": {**creds, "password": DEMO_GUEST_PASSWORD}, "spec": {"path": "/etc/hostname"}},
            headers={"vmware-api-session-id": session},
        ).json()
        token = httpx.URL(transfer).params["token"]
        assert httpx.get(url + httpx.URL(transfer).raw_path.decode()).status_code == 200
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/guestFile?" in line and "token=<redacted>" in line for line in access), access
    assert not [line for line in access if token in line]
