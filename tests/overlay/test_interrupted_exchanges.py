"""A Ctrl-C or a cancellation that comes while the answer of createTemporary or Processes.create is on its
way does not leave a directory or a program behind: the exchange is finished, then the run cleans up."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from vcenter_guest import Client, Credentials
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_VM

from tests.conftest import FAST_RETRY, MockServer, SyncASGITransport

from .conftest import Interrupt

RUN_PREFIX = "vcenter-guest-run-"
ACTIONS = {"directory": "createTemporary", "program": "create"}
# stdin: a captured run whose directory the server makes (it holds stdin before the program starts)
RUNS: dict[str, dict[str, Any]] = {"directory": {"stdin": b""}, "program": {"capture": False}}


def _leftovers(server: MockServer, guest: Credentials) -> list[str]:
    with server.client() as vc:
        return [f.name for f in vc.files.list(DEMO_VM, guest, "/tmp") if f.name.startswith(RUN_PREFIX)]


def _running_sleeps(server: MockServer, guest: Credentials) -> list[int]:
    with server.client() as vc:
        pids = [p.pid for p in vc.processes.list(DEMO_VM, guest) if p.name == "sleep"]
        return [pid for pid in pids if vc.processes.get(DEMO_VM, guest, pid).finished is None]


@pytest.fixture
def interrupt_raises() -> Iterator[None]:
    """SIGINT raises Interrupt (standing for KeyboardInterrupt, which pytest itself would act on)."""

    def handler(signum: int, frame: Any) -> None:
        raise Interrupt

    previous = signal.signal(signal.SIGINT, handler)
    yield
    signal.signal(signal.SIGINT, previous)


class CtrlCWhileAnswering(httpx.BaseTransport):
    """Passes every request on; SIGINT arrives after the server acted on the first `action`, before its answer."""

    def __init__(self, inner: httpx.BaseTransport, action: str) -> None:
        self.inner, self.action, self.fired = inner, action, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.params.get("action") == self.action and not self.fired:
            self.fired = True
            signal.raise_signal(signal.SIGINT)
        return response


@pytest.mark.usefixtures("interrupt_raises")
@pytest.mark.parametrize("what", list(ACTIONS))
def test_ctrl_c_while_the_answer_is_on_its_way_leaves_nothing_behind(
    in_process_server: MockServer, guest: Credentials, what: str
) -> None:
    transport = CtrlCWhileAnswering(SyncASGITransport(in_process_server.app, in_process_server._portal), ACTIONS[what])
    with (
        Client(
            in_process_server.url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, retry=FAST_RETRY, transport=transport
        ) as vc,
        pytest.raises(Interrupt),
    ):
        vc.processes.run(DEMO_VM, guest, "/bin/sleep", "600", **RUNS[what])
    assert transport.fired
    assert _leftovers(in_process_server, guest) == []
    assert _running_sleeps(in_process_server, guest) == []


class CancelWhileAnswering(httpx.AsyncBaseTransport):
    """Passes every request on; `scope` is cancelled after the server acted on `action`, before its answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport, action: str) -> None:
        self.inner, self.action = inner, action
        self.scope: anyio.CancelScope | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.params.get("action") == self.action and self.scope is not None:
            scope, self.scope = self.scope, None
            scope.cancel()
            await anyio.sleep(0)  # where an unshielded exchange would end, its answer lost
        return response


@pytest.mark.parametrize("what", list(ACTIONS))
def test_a_cancellation_while_the_answer_is_on_its_way_leaves_nothing_behind(
    in_process_server: MockServer, guest: Credentials, what: str
) -> None:
    transport = CancelWhileAnswering(httpx.ASGITransport(in_process_server.app), ACTIONS[what])
    ended: list[str] = []

    async def main() -> None:
        from vcenter_guest import AsyncClient

        async with AsyncClient(
            in_process_server.url, user=DEMO_API_USER, password=DEMO_API_PASSWORD, retry=FAST_RETRY, transport=transport
        ) as vc:
            await vc.login()
            with anyio.CancelScope() as scope:
                transport.scope = scope
                await vc.processes.run(DEMO_VM, guest, "/bin/sleep", "600", **RUNS[what])
                ended.append("returned")
            ended.append("cancelled" if scope.cancelled_caught else "not cancelled")

    anyio.run(main)
    assert ended == ["cancelled"]
    assert _leftovers(in_process_server, guest) == []
    assert _running_sleeps(in_process_server, guest) == []


def test_only_an_exchange_whose_answer_names_what_it_made_is_held() -> None:
    """Only the operations whose effect names what they made are finished (from the document's effects)."""
    from vcenter_guest.operations import operations

    finished = sorted(op.id for op in operations().values() if op.effect is not None and op.effect.names_what_it_made)
    assert "processes.create" in finished
    assert "directories.create_temporary" in finished
    assert "processes.get" not in finished
