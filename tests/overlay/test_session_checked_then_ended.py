"""A session the caller checked (`check_session`) and the server ended right after is renewed at the
next call that finds it refused, as any expired session is (issue 25, L7).

The engine does not ask the server again about a session it validated less than 2 s earlier (many
concurrent calls refused for wrong guest credentials would each ask); a check made before a call is
no such validation: the refusal that follows is new news, and the session may have ended since."""

from __future__ import annotations

from typing import Any

import pytest
from vcenter_guest import Credentials
from vcenter_guest.mock import DEMO_VM


def _end(server: Any, session_id: str) -> None:
    simulator = server.simulator
    simulator.delete_session(simulator.session(session_id))


def test_a_session_ended_right_after_its_check_is_renewed_and_the_call_goes_on(
    make_server: Any, clock: Any, guest: Credentials
) -> None:
    server = make_server(clock=clock)  # a fake clock: no time passes between the check and the call
    with server.client() as owner:
        kept = owner.keep_session()
    with server.client(session_id=kept) as vc:
        assert vc.check_session()
        _end(server, kept)
        assert vc.processes.list(DEMO_VM, guest), "the call goes on with a new session"
        assert vc.session_id not in (None, kept)


@pytest.mark.anyio
async def test_async_a_session_ended_right_after_its_check_is_renewed_and_the_call_goes_on(
    make_server: Any, clock: Any, guest: Credentials
) -> None:
    server = make_server(clock=clock)
    async with server.async_client() as owner:
        kept = await owner.keep_session()
    async with server.async_client(session_id=kept) as vc:
        assert await vc.check_session()
        _end(server, kept)
        assert await vc.processes.list(DEMO_VM, guest)
        assert vc.session_id not in (None, kept)
