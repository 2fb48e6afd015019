"""Secrets (API password, guest password, SAML token, session ids) never leave the client in text.

Everything is logged at DEBUG (httpx and httpcore included) while a client goes through logins,
every operation, errors, retries and a session renewal; then each secret is searched for in the
log, in the reprs and strs of every object involved, and in every exception text.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from typing import Any

import httpx
import pytest
from vcenter_guest import Client, CreateSpec, Credentials, RetryPolicy, errors
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_VM
from vcenter_guest.redaction import basic_auth_token
from vcenter_guest_client.models import ProcessesCreateBody

SAML_TOKEN = "token-svc"  # the demo inventory's token of the guest user svc
WRONG_PASSWORD = "Wr0ng-Guest-Pass"
ENV_SECRET = "env-secret-value-42"


def _find(secrets: dict[str, str], texts: list[str]) -> list[str]:
    return [f"{name} found in: {text[:200]!r}" for text in texts for name, s in secrets.items() if s in text]


def _recorded_sessions(server: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the sessions the mock creates from now on (each one a secret to look for)."""
    sessions: list[str] = []
    create_session = server.simulator.create_session
    monkeypatch.setattr(
        server.simulator, "create_session", lambda *a: sessions.append(create_session(*a)) or sessions[-1]
    )
    return sessions


def _secrets(sessions: list[str]) -> dict[str, str]:
    return {
        "API password": DEMO_API_PASSWORD,
        "guest password": DEMO_GUEST_PASSWORD,
        "wrong guest password": WRONG_PASSWORD,
        "SAML token": SAML_TOKEN,
        "environment value": ENV_SECRET,
        "basic auth header": basic_auth_token(DEMO_API_USER, DEMO_API_PASSWORD),
        **{f"session id {i}": s for i, s in enumerate(sessions)},
    }


def test_no_secret_appears_in_any_log_record_repr_or_error_text(
    make_server: Any, clock: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(clock=clock)
    sessions = _recorded_sessions(server, monkeypatch)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    guest = Credentials.password("root", DEMO_GUEST_PASSWORD)
    saml = Credentials.saml(SAML_TOKEN)
    spec = CreateSpec("/bin/echo", arguments="hello", environment_variables={"TOKEN": ENV_SECRET})

    with server.client(retry=RetryPolicy(attempts=2, initial=0.001, maximum=0.001, jitter=0)) as vc:
        texts += [repr(vc), str(vc), repr(guest), str(guest), repr(saml), repr(spec), str(spec)]
        generated = guest.to_generated()
        texts += [repr(generated), str(generated), repr(ProcessesCreateBody(generated, spec.to_generated()))]
        texts += [repr(saml.to_generated())]
        pid = vc.processes.create(DEMO_VM, guest, spec)
        texts += [repr(vc.processes.get(DEMO_VM, guest, pid)), repr(vc.processes.list(DEMO_VM, guest))]
        texts += [repr(vc.processes.run(DEMO_VM, saml, "/bin/true"))]
        vc.processes.delete(DEMO_VM, guest, pid)
        clock.advance(server.simulator.inventory.session_idle_timeout + 1)  # force a renewal
        texts += [repr(vc.processes.run(DEMO_VM, guest, "/bin/false"))]
        for failing in (
            lambda: vc.processes.list(DEMO_VM, Credentials.password("root", WRONG_PASSWORD)),
            lambda: vc.processes.create("vm-46", guest, "/bin/true"),  # retried, then ServiceUnavailable
            lambda: vc.processes.get(DEMO_VM, saml, 424242),
        ):
            with pytest.raises(errors.VcenterGuestError) as caught:
                failing()
            texts += [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
    with pytest.raises(errors.Unauthenticated) as caught:
        server.client(password=WRONG_PASSWORD).login()
    texts += [str(caught.value), repr(caught.value)]

    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    assert len(sessions) >= 2, "the scenario must include a session renewal"
    secrets = _secrets(sessions)
    assert any("httpx" in r.name for r in caplog.records), "httpx request logging must be part of the check"
    assert not _find(secrets, texts)


@pytest.mark.anyio
async def test_no_secret_appears_in_what_the_async_client_logs_or_raises(
    make_server: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The same over AsyncClient; over loopback it runs through each of its transports (aiohttp's
    and httpx's, tests/overlay/conftest.py), with everything logged at DEBUG, aiohttp's loggers too."""
    server = make_server()
    sessions = _recorded_sessions(server, monkeypatch)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    guest = Credentials.password("root", DEMO_GUEST_PASSWORD)
    saml = Credentials.saml(SAML_TOKEN)
    spec = CreateSpec("/bin/echo", arguments="hello", environment_variables={"TOKEN": ENV_SECRET})
    async with server.async_client(retry=RetryPolicy(attempts=2, initial=0.001, maximum=0.001, jitter=0)) as vc:
        texts += [repr(vc), str(vc)]
        pid = await vc.processes.create(DEMO_VM, guest, spec)
        texts += [repr(await vc.processes.get(DEMO_VM, guest, pid)), repr(await vc.processes.list(DEMO_VM, guest))]
        texts += [repr(await vc.processes.run(DEMO_VM, saml, "/bin/echo", "hi"))]
        texts += [repr(await vc.processes.run_many([DEMO_VM, "vm-46"], guest, "/bin/true"))]
        for failing in (
            vc.processes.list(DEMO_VM, Credentials.password("root", WRONG_PASSWORD)),
            vc.processes.get(DEMO_VM, saml, 424242),
        ):
            with pytest.raises(errors.VcenterGuestError) as caught:
                await failing
            texts += [str(caught.value), repr(caught.value), "".join(traceback.format_exception(caught.value))]
    texts += [record.getMessage() for record in caplog.records] + [caplog.text]
    secrets = _secrets(sessions)
    assert sessions, "the scenario logs in"
    assert not _find(secrets, texts)


def test_a_secret_the_server_echoes_back_is_removed_from_error_texts() -> None:
    guest = Credentials.password("root", "guest-secret-77")

    def echo(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/session":
            return httpx.Response(201, json="sess-abc-123") if request.method == "POST" else httpx.Response(204)
        body = request.content.decode()
        if request.url.query == b"action=list":
            message = {"id": "x", "default_message": f"Bad request {body}", "args": [body]}
            return httpx.Response(400, json={"error_type": "INVALID_ARGUMENT", "messages": [message]})
        return httpx.Response(502, text=f"proxy saw {body} with session sess-abc-123")

    vc = Client("http://vc.test", user="api", password="api-secret-99", transport=httpx.MockTransport(echo))
    with pytest.raises(errors.InvalidArgument) as invalid:
        vc.processes.list("vm-1", guest)
    with pytest.raises(errors.UnexpectedResponse) as unexpected:
        vc.processes.get("vm-1", guest, 1)
    for text in (str(invalid.value), repr(invalid.value), str(unexpected.value), unexpected.value.body):
        assert "guest-secret-77" not in text
        assert "sess-abc-123" not in text
        assert "<redacted>" in text
    assert "root" in str(invalid.value), "only the secrets are removed, not the rest of the message"


def test_a_traceback_of_a_login_failure_holds_no_api_password(server: Any) -> None:
    wrong = "-".join(["api", "Wr0ng", "99"])  # not spelled out: tracebacks quote this file's lines
    with pytest.raises(errors.Unauthenticated) as caught:
        server.client(password=wrong).login()
    text = "".join(traceback.format_exception(caught.value))
    assert wrong not in text
    assert basic_auth_token(DEMO_API_USER, wrong) not in text


def test_json_of_a_request_is_the_only_place_the_guest_password_goes() -> None:
    """The guest password is sent (the API needs it), and nowhere else."""
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/session":
            return httpx.Response(201, json="s") if request.method == "POST" else httpx.Response(204)
        sent.append(request.content)
        return httpx.Response(200, json=[])

    vc = Client("http://vc.test", user="api", password="api-pass", transport=httpx.MockTransport(handler))
    vc.processes.list("vm-1", Credentials.password("root", "the-guest-pw"))
    assert json.loads(sent[0])["credentials"]["password"] == "the-guest-pw"


def test_no_transfer_token_appears_in_what_httpx_logs(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs each request's URL at INFO; a transfer URL's token (access to a guest file) is hidden."""
    caplog.set_level(logging.DEBUG)
    guest = Credentials.password("root", DEMO_GUEST_PASSWORD)
    with server.client() as vc:
        vc.files.upload(DEMO_VM, guest, b"data", "/tmp/token-test.bin", overwrite=True)
        assert vc.files.download(DEMO_VM, guest, "/tmp/token-test.bin") == b"data"
        assert vc.processes.run(DEMO_VM, guest, "/bin/echo", "hi").stdout == b"hi\n"
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    transfers = [line for line in lines if "/guestFile?" in line]
    assert len(transfers) >= 3, lines
    assert all("token=<redacted>" in line for line in transfers), transfers
    assert not [line for line in lines if re.search(r"token=(?!<redacted>)", line)]
