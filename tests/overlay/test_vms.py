"""`vc.vms` (VM.list, find by name) and `vc.guest` (readiness, wait_ready) against the mock vCenter."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import pytest
from vcenter_guest import Credentials, GuestReadiness, VmSummary, errors
from vcenter_guest.mock import DEMO_INVENTORY, DEMO_VM


def test_list_filters_by_every_field_the_api_has(server: Any) -> None:
    with server.client() as vc:
        everything = vc.vms.list()
        off = vc.vms.list(power_states=["POWERED_OFF"])
        named = vc.vms.list(names=["demo-linux", "demo-windows"], power_states=["POWERED_ON"])
        by_id = vc.vms.list(vms=["vm-43"])
    assert all(isinstance(v, VmSummary) for v in everything)
    assert {v.vm for v in everything} == {vm["id"] for vm in DEMO_INVENTORY["vms"]}
    assert [v.vm for v in off] == ["vm-44"]
    assert not off[0].powered_on
    assert sorted(v.vm for v in named) == ["vm-42", "vm-43"]
    assert [(v.vm, v.name) for v in by_id] == [("vm-43", "demo-windows")]


def test_find_gives_the_id_of_a_name_or_an_id_and_refuses_an_ambiguous_name(make_server: Any) -> None:
    inventory = copy.deepcopy(DEMO_INVENTORY)
    twin = copy.deepcopy(inventory["vms"][0])
    twin["id"] = "vm-99"
    twin["name"] = inventory["vms"][1]["name"]  # two VMs named like vm-43
    inventory["vms"].append(twin)
    server = make_server(inventory)
    with server.client() as vc:
        assert vc.vms.find("demo-linux") == DEMO_VM
        assert vc.vms.find("vm-44") == "vm-44"
        with pytest.raises(errors.UsageError, match=r"2 virtual machines are named 'demo-windows': vm-43 .*vm-99"):
            vc.vms.find("demo-windows")
        with pytest.raises(errors.NotFound, match="no virtual machine is named 'nobody'"):
            vc.vms.find("nobody")


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"names": "web-1"}, "names must be a list of strings"),
        ({"power_states": ["ON"]}, "power_states must be among"),
        ({"hosts": [""]}, "hosts must hold non-empty strings"),
    ],
)
def test_bad_filters_are_usage_errors(in_process_server: Any, filters: dict[str, Any], message: str) -> None:
    with in_process_server.client() as vc, pytest.raises(errors.UsageError, match=message):
        vc.vms.list(**filters)


def _booting(ready_after: float) -> dict[str, Any]:
    inventory = copy.deepcopy(DEMO_INVENTORY)
    inventory["vms"][0]["ready_after"] = ready_after
    return inventory


def test_wait_ready_returns_once_the_guest_takes_operations(make_server: Any, clock: Any, guest: Credentials) -> None:
    server = make_server(_booting(20), clock=clock)
    with server.client(clock=clock, sleep=clock.sleep) as vc:
        assert vc.guest.readiness(DEMO_VM) == GuestReadiness(False, False)
        started = clock.now
        vc.guest.wait_ready(DEMO_VM, timeout=60)
        assert 20 <= clock.now - started <= 22, "seen ready within the polls' 2 s gaps"
        assert vc.guest.readiness(DEMO_VM).guest_operations_ready


def test_wait_ready_times_out_on_a_guest_that_never_gets_ready(make_server: Any, clock: Any) -> None:
    server = make_server(clock=clock)
    with server.client(clock=clock, sleep=clock.sleep) as vc, pytest.raises(errors.TimedOut) as caught:
        vc.guest.wait_ready("vm-44", timeout=5)  # powered off
    assert caught.value.vm == "vm-44"
    assert "within 5 s" in str(caught.value)


def test_run_can_wait_for_the_guest_first(make_server: Any, clock: Any, guest: Credentials) -> None:
    server = make_server(_booting(10), clock=clock)
    with server.client(clock=clock, sleep=clock.sleep) as vc:
        with pytest.raises(errors.ServiceUnavailable):
            vc.processes.run(DEMO_VM, guest, "/bin/echo", "hi", capture=False)  # (the retries' time is short)
        result = vc.processes.run(DEMO_VM, guest, "/bin/echo", "hi", wait_ready=60)
    assert result.stdout == b"hi\n"


def test_the_async_client_has_the_same_services(server: Any) -> None:
    async def main() -> None:
        async with server.async_client() as vc:
            assert await vc.vms.find("demo-linux") == DEMO_VM
            assert (await vc.guest.readiness(DEMO_VM)).guest_operations_ready
            await vc.guest.wait_ready(DEMO_VM, timeout=5)

    anyio.run(main)
