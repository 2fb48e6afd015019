"""What the mock takes from the API document instead of keeping its own copy (issue 26): an API user's
default privileges, the power states, VM.list's filters, the data plane's statuses."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from vcenter_guest.mock import InventoryError, Simulator, load_inventory
from vcenter_guest.operations import load_document, operations

VM = {
    "id": "vm-7",
    "name": "seven",
    "folder": "f-7",
    "datacenter": "dc-7",
    "host": "h-7",
    "cluster": "c-7",
    "resource_pool": "rp-7",
    "power_state": "SUSPENDED",
}


def _vm_list_parameter(name: str) -> dict:
    for parameter in load_document()["paths"]["/api/vcenter/vm"]["get"]["parameters"]:
        if parameter["name"] == name:
            return parameter
    raise AssertionError(f"vm.list has no parameter {name}")


def test_an_api_user_who_names_no_privileges_holds_every_one_the_documents_operations_ask_for() -> None:
    inventory = load_inventory({"users": [{"name": "u@v", "password": "p"}], "vms": []})
    asked = {p for op in operations().values() for p in op.privileges if not p.startswith("System.")}
    assert inventory.users["u@v"].privileges == asked


def test_the_inventory_takes_exactly_the_power_states_of_the_document() -> None:
    ref = _vm_list_parameter("power_states")["schema"]["items"]["$ref"].rsplit("/", 1)[-1]
    states = load_document()["components"]["schemas"][ref]["enum"]
    for state in states:
        assert (
            load_inventory({"users": [], "vms": [{"id": "vm-1", "power_state": state}]}).vms["vm-1"].power_state
            == state
        )
    with pytest.raises(InventoryError, match="power_state: must be one of"):
        load_inventory({"users": [], "vms": [{"id": "vm-1", "power_state": "HIBERNATING"}]})


@pytest.mark.parametrize(
    "name", [p["name"] for p in load_document()["paths"]["/api/vcenter/vm"]["get"]["parameters"] if p["in"] == "query"]
)
def test_every_vm_list_filter_of_the_document_constrains_the_list(name: str) -> None:
    simulator = Simulator({"users": [], "vms": [VM, {"id": "vm-8", "power_state": "POWERED_OFF"}]})
    field = "id" if name == "vms" else name.removesuffix("s")
    assert [vm["vm"] for vm in simulator.list_vms({name: [VM[field]]})] == ["vm-7"]
    if name != "power_states":  # an unknown power state is an error, not an empty list
        assert simulator.list_vms({name: ["no-such-" + field]}) == []


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_the_data_plane_answers_a_dead_transfer_with_the_status_the_document_gives_gone(
    method: str, make_in_process_server: Any
) -> None:
    responses = load_document()["paths"]["/guestFile"][method.lower()]["responses"]
    gone = [int(status) for status, r in responses.items() if "gone" in r.get("x-vcenter-guest-reasons", ())]

    async def ask() -> httpx.Response:
        transport = make_in_process_server().async_transport()
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            return await client.request(method, "/guestFile?id=123&token=nope", content=b"")

    assert [anyio.run(ask).status_code] == gone
