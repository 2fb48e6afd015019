"""`AsyncClient.processes.run_many`: 200 VMs, bounded concurrency, input order, failures kept apart."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import httpx
import pytest
from vcenter_guest import AsyncClient, Credentials, ProcessResult, RetryPolicy, errors
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_INVENTORY

VM_COUNT = 200


def _fleet() -> tuple[dict[str, Any], list[str], dict[str, type]]:
    """200 VM ids to run on (some missing from the inventory), and the error each failing one gives."""
    template = copy.deepcopy(DEMO_INVENTORY["vms"][0])
    inventory = copy.deepcopy(DEMO_INVENTORY)
    inventory["vms"] = []
    vms: list[str] = []
    failing: dict[str, type] = {}
    for i in range(VM_COUNT):
        vm = f"vm-{2000 + i}"
        vms.append(vm)
        if i % 25 == 3:
            failing[vm] = errors.NotFound  # not in the inventory at all
            continue
        spec = copy.deepcopy(template) | {"id": vm, "name": f"fleet-{i}"}
        if i % 10 == 7:
            spec["power_state"] = "POWERED_OFF"
            failing[vm] = errors.NotAllowedInCurrentState
        elif i % 20 == 11:
            spec["tools"] = "NOT_RUNNING"
            failing[vm] = errors.ServiceUnavailable
        inventory["vms"].append(spec)
    return inventory, vms, failing


def _check(vms: list[str], failing: dict[str, type], outcomes: list[Any]) -> None:
    assert len(outcomes) == len(vms)
    for vm, outcome in zip(vms, outcomes, strict=True):
        if vm in failing:
            assert type(outcome) is failing[vm], f"{vm}: {outcome!r}"
            assert outcome.vm == vm, "outcomes must be in input order"
        else:
            assert isinstance(outcome, ProcessResult), f"{vm}: {outcome!r}"
            assert (outcome.vm, outcome.exit_code) == (vm, 0), "outcomes must be in input order"


@pytest.mark.anyio
async def test_run_many_over_200_vms_returns_one_outcome_per_vm_in_input_order(
    make_server: Any, guest: Credentials
) -> None:
    inventory, vms, failing = _fleet()
    server = make_server(inventory)
    seen: list[str] = []
    async with server.async_client() as vc:
        outcomes = await vc.processes.run_many(
            vms, guest, "/bin/true", concurrency=50, on_result=lambda vm, _: seen.append(vm)
        )
    assert failing, "the fleet must include failing VMs"
    _check(vms, failing, outcomes)
    assert sorted(seen) == sorted(vms), "on_result is called once per VM"


class _InFlight(httpx.AsyncBaseTransport):
    """Counts how many guest operations are in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.now = self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        guest = request.url.path.startswith("/api/vcenter/")
        self.now += guest
        self.peak = max(self.peak, self.now)
        try:
            await anyio.sleep(0.001)  # hold the slot long enough for others to pile up
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= guest


@pytest.mark.anyio
async def test_run_many_never_runs_more_vms_at_once_than_its_concurrency(
    guest: Credentials, make_in_process_server: Any
) -> None:
    inventory, vms, _ = _fleet()
    transport = _InFlight(make_in_process_server(inventory).async_transport())
    fast = RetryPolicy(attempts=2, initial=0.001, maximum=0.001, jitter=0)
    async with AsyncClient(
        "http://mock.test", user=DEMO_API_USER, password=DEMO_API_PASSWORD, transport=transport, retry=fast
    ) as vc:
        await vc.processes.run_many(vms[:60], guest, "/bin/sleep", "0.01", concurrency=7)
    assert 1 < transport.peak <= 7


@pytest.mark.anyio
async def test_one_vms_timeout_does_not_stop_the_others(server: Any, guest: Credentials) -> None:
    async with server.async_client() as vc:
        outcomes = await vc.processes.run_many(
            ["vm-42", "vm-44", "vm-42"], guest, "/bin/sleep", "0.05", timeout=5, concurrency=2
        )
    assert [type(o).__name__ for o in outcomes] == ["ProcessResult", "NotAllowedInCurrentState", "ProcessResult"]


@pytest.mark.anyio
async def test_run_many_with_check_returns_process_failed_for_non_zero_exits(server: Any, guest: Credentials) -> None:
    async with server.async_client() as vc:
        outcomes = await vc.processes.run_many(["vm-42", "vm-42"], guest, "/bin/false", check=True)
    assert all(isinstance(o, errors.ProcessFailed) and o.result.exit_code == 1 for o in outcomes)


@pytest.mark.anyio
async def test_run_many_of_no_vms_returns_an_empty_list(server: Any, guest: Credentials) -> None:
    async with server.async_client() as vc:
        assert await vc.processes.run_many([], guest, "/bin/true") == []


@pytest.mark.anyio
async def test_run_many_rejects_a_single_string_of_vms(server: Any, guest: Credentials) -> None:
    async with server.async_client() as vc:
        with pytest.raises(errors.UsageError, match="not a single string"):
            await vc.processes.run_many("vm-42", guest, "/bin/true")  # type: ignore[arg-type]
        with pytest.raises(errors.UsageError, match="concurrency"):
            await vc.processes.run_many(["vm-42"], guest, "/bin/true", concurrency=0)
