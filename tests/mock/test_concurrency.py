"""State stays consistent under concurrent requests."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_INVENTORY

from tests.conftest import MockServer

CREDS = {"type": "USERNAME_PASSWORD", "interactive_session": False, "user_name": "root", "password": "vmware"}
CREATE = "/api/vcenter/vm/vm-42/guest/processes?action=create"
LIST = "/api/vcenter/vm/vm-42/guest/processes?action=list"


async def _thousand_creates(client: httpx.AsyncClient) -> tuple[list[int], set[int]]:
    session = (await client.post("/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD))).json()
    headers = {"vmware-api-session-id": session}
    pids: list[int] = []

    async def create(i: int) -> None:
        response = await client.post(
            CREATE, headers=headers, json={"credentials": CREDS, "spec": {"path": "/bin/sleep", "arguments": "600"}}
        )
        assert response.status_code == 201, response.text
        pids.append(response.json())

    async with anyio.create_task_group() as tg:
        for i in range(1000):
            tg.start_soon(create, i)
    listed = (await client.post(LIST, headers=headers, json={"credentials": CREDS})).json()
    return pids, {p["pid"] for p in listed}


def test_thousand_concurrent_creates_get_distinct_pids_all_listed(make_server: Callable[..., MockServer]) -> None:
    """In process and over loopback (the root conftest's mock server, both ways)."""
    server = make_server(DEMO_INVENTORY)

    async def main() -> tuple[list[int], set[int]]:
        limits = httpx.Limits(max_connections=100)
        transport = server.async_transport()
        async with httpx.AsyncClient(base_url=server.url, transport=transport, limits=limits, timeout=60) as client:
            return await _thousand_creates(client)

    pids, listed = anyio.run(main)
    assert len(pids) == 1000
    assert len(set(pids)) == 1000
    assert set(pids) <= listed
