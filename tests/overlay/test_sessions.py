"""API sessions: login, logout, renewal after idle expiry, and no renewal loop on bad guest credentials."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from vcenter_guest import Client, Credentials, errors
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_VM


@pytest.fixture
def counted(make_server: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A mock on a fake clock that counts logins and session lookups."""
    server = make_server(clock=clock)
    server.logins = 0
    server.lookups = 0
    simulator = server.simulator
    create_session, session_info = simulator.create_session, simulator.session_info

    def counting_create(*args: Any) -> str:
        server.logins += 1
        return create_session(*args)

    def counting_info(*args: Any) -> Any:
        server.lookups += 1
        return session_info(*args)

    monkeypatch.setattr(simulator, "create_session", counting_create)
    monkeypatch.setattr(simulator, "session_info", counting_info)
    server.idle_timeout = simulator.inventory.session_idle_timeout
    return server


def _alive(server: Any, session_id: str) -> bool:
    url = server.url + "/api/session"
    with httpx.Client(transport=server.sync_transport()) as http:
        return http.get(url, headers={"vmware-api-session-id": session_id}).status_code == 200


def test_entering_logs_in_and_leaving_deletes_the_session(counted: Any) -> None:
    with counted.client() as vc:
        session = vc.session_id
        assert session is not None
        assert _alive(counted, session)
        assert counted.logins == 1
    assert vc.session_id is None
    assert not _alive(counted, session), "the session must be deleted on exit"


def test_a_client_used_without_with_logs_in_on_its_first_call(counted: Any, guest: Credentials) -> None:
    vc = counted.client()
    try:
        assert counted.logins == 0
        assert vc.processes.list(DEMO_VM, guest)
        assert counted.logins == 1
    finally:
        vc.close()


def test_an_expired_session_is_renewed_once_and_the_call_succeeds(counted: Any, clock: Any, guest: Credentials) -> None:
    with counted.client() as vc:
        first = vc.session_id
        clock.advance(counted.idle_timeout + 1)
        assert vc.processes.list(DEMO_VM, guest)
        assert counted.logins == 2
        assert vc.session_id != first
        clock.advance(counted.idle_timeout + 1)
        assert vc.processes.run(DEMO_VM, guest, "/bin/true").exit_code == 0
        assert counted.logins == 3


def test_wrong_guest_credentials_raise_unauthenticated_without_logging_in_again(counted: Any) -> None:
    with counted.client() as vc:
        for _ in range(2):
            with pytest.raises(errors.Unauthenticated):
                vc.processes.create(DEMO_VM, Credentials.password("root", "not-the-password"), "/bin/true")
        assert counted.logins == 1, "a 401 about guest credentials must not renew a live session"
        assert counted.lookups == 1, "the session's validity is checked once, then remembered briefly"
        assert not counted.simulator.find_vm(DEMO_VM).processes.keys() - {1, 612}, "nothing may have started"


def test_a_create_refused_for_an_expired_session_is_sent_again_after_renewal(
    counted: Any, clock: Any, guest: Credentials
) -> None:
    with counted.client() as vc:
        clock.advance(counted.idle_timeout + 1)
        pid = vc.processes.create(DEMO_VM, guest, "/bin/true")
    started = [p for p in counted.simulator.find_vm(DEMO_VM).processes.values() if p.from_create]
    assert [p.pid for p in started] == [pid], "exactly one program, started by the renewed call"


def test_a_session_passed_in_is_used_and_left_open(counted: Any, guest: Credentials) -> None:
    with counted.client() as owner:
        session = owner.session_id
        assert session is not None
        with counted.client(user=None, password=None, session_id=session) as borrower:
            assert borrower.processes.list(DEMO_VM, guest)
        assert _alive(counted, session), "a session the caller handed in is the caller's to end"
        assert counted.logins == 1


def test_an_expired_session_without_user_and_password_raises_a_clear_unauthenticated(
    counted: Any, clock: Any, guest: Credentials
) -> None:
    with counted.client() as owner:
        assert owner.session_id is not None
        vc = counted.client(user=None, password=None, session_id=owner.session_id)
        clock.advance(counted.idle_timeout + 1)
        with pytest.raises(errors.Unauthenticated, match="no user and password"):
            vc.processes.list(DEMO_VM, guest)
        vc.close()


def test_a_kept_session_outlives_its_client_checks_as_alive_and_ends_with_logout(counted: Any, clock: Any) -> None:
    """What the CLI's session reuse relies on: keep_session, check_session, logout."""
    with counted.client() as first:
        kept = first.keep_session()
    assert _alive(counted, kept), "close() must leave a kept session alive"
    reuser = counted.client(user=None, password=None, session_id=kept)
    assert reuser.check_session()
    reuser.logout()
    assert not _alive(counted, kept), "logout ends a session that was passed in too"
    assert reuser.session_id is None
    reuser.close()
    assert counted.logins == 1
    stale = counted.client(user=None, password=None, session_id=kept)
    assert not stale.check_session(), "an ended session checks as dead, without logging in"
    stale.close()
    assert counted.logins == 1
    with counted.client() as fresh:
        session = fresh.keep_session()
        clock.advance(counted.idle_timeout + 1)
        assert not fresh.check_session(), "an expired session checks as dead"
        assert fresh.session_id == session


@pytest.mark.anyio
async def test_async_kept_sessions_check_and_logout(counted: Any) -> None:
    async with counted.async_client() as first:
        kept = await first.keep_session()
    async with counted.async_client(user=None, password=None, session_id=kept) as reuser:
        assert await reuser.check_session()
        await reuser.logout()
        assert not await reuser.check_session()
    assert not _alive(counted, kept)


@pytest.mark.anyio
async def test_concurrent_calls_after_expiry_renew_the_session_once(
    counted: Any, clock: Any, guest: Credentials
) -> None:
    async with counted.async_client() as vc:
        clock.advance(counted.idle_timeout + 1)
        results: list[int] = []

        async def one() -> None:
            results.append(len(await vc.processes.list(DEMO_VM, guest)))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
    assert len(results) == 20
    assert counted.logins == 2, "twenty calls refused at once must share one renewal"


@pytest.mark.anyio
async def test_async_wrong_guest_credentials_raise_unauthenticated(counted: Any) -> None:
    async with counted.async_client() as vc:
        with pytest.raises(errors.Unauthenticated):
            await vc.processes.list(DEMO_VM, Credentials.password("root", "nope-nope"))
    assert counted.logins == 1


def test_a_closed_client_refuses_calls_with_a_usage_error(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        pass
    with pytest.raises(errors.UsageError, match="closed"):
        vc.processes.list(DEMO_VM, guest)
    vc.close()  # closing twice is harmless


def test_logout_failure_does_not_hide_the_callers_exception() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/api/session":
            return httpx.Response(201, json="session-abc")
        raise httpx.ConnectError("down")

    with (
        pytest.raises(KeyError),
        Client(
            "http://vc.test", user=DEMO_API_USER, password=DEMO_API_PASSWORD, transport=httpx.MockTransport(handler)
        ),
    ):
        raise KeyError("the caller's own error")


def test_threads_sharing_a_client_renew_an_expired_session_once(counted: Any, clock: Any, guest: Credentials) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with counted.client() as vc:
        vc.processes.list(DEMO_VM, guest)
        clock.advance(counted.idle_timeout + 1)
        with ThreadPoolExecutor(8) as pool:
            sizes = list(pool.map(lambda _: len(vc.processes.list(DEMO_VM, guest)), range(32)))
    assert len(sizes) == 32
    assert counted.logins == 2, "eight threads refused at once must share one renewal"
