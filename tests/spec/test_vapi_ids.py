"""`x-vcenter-guest-vapi`: the vAPI service and operation ids the official SDK's JSON-RPC calls name, on
every operation but the data plane, agreeing with the service ids the document's tags give."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from vcenter_guest.operations import DocumentError, OperationTable, VapiId


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in doc["paths"].values() for key, op in item.items() if key != "servers"]


def test_every_operation_but_the_data_plane_names_its_vapi_service_as_its_tag_does(doc: dict[str, Any]) -> None:
    tag_services = {tag["name"]: re.search(r"\(`(com\.vmware\.[\w.]+)`\)", tag["description"]) for tag in doc["tags"]}
    for op in _operations(doc):
        vapi = op.get("x-vcenter-guest-vapi")
        if op["tags"] == ["guestFile"]:
            assert vapi is None, op["operationId"]  # the ESXi host's /guestFile is no vAPI operation
            continue
        named = tag_services[op["tags"][0]]
        assert named is not None, op["tags"]
        assert vapi == {"service": named[1], "operation": op["operationId"].split(".", 1)[1]}, op["operationId"]


def test_the_operation_table_indexes_operations_by_their_vapi_ids(doc: dict[str, Any]) -> None:
    table = OperationTable(doc)
    assert table.by_vapi[VapiId("com.vmware.vcenter.VM", "list")].id == "vm.list"
    assert table.by_vapi[VapiId("com.vmware.vcenter.vm.guest.filesystem.files", "create_temporary")].id == (
        "files.create_temporary"
    )
    assert table["guest_file.download"].vapi is None


@pytest.mark.parametrize(
    "value",
    [{"service": "com.vmware.cis.session"}, {"service": "", "operation": "get"}, "com.vmware.cis.session.get"],
)
def test_a_malformed_vapi_extension_is_a_document_error(doc: dict[str, Any], value: Any) -> None:
    broken = copy.deepcopy(doc)
    broken["paths"]["/api/session"]["get"]["x-vcenter-guest-vapi"] = value
    with pytest.raises(DocumentError, match=r"session\.get"):
        OperationTable(broken)


def test_two_operations_with_one_vapi_id_are_a_document_error(doc: dict[str, Any]) -> None:
    broken = copy.deepcopy(doc)
    broken["paths"]["/api/session"]["get"]["x-vcenter-guest-vapi"]["operation"] = "delete"
    with pytest.raises(DocumentError, match="also"):
        OperationTable(broken)
