"""The mock serves exactly the operations of the document: each by a handler, found at start-up."""

from __future__ import annotations

import copy

import pytest
from vcenter_guest.mock import UnhandledOperation, create_app
from vcenter_guest.operations import load_document, operations


def test_the_mock_refuses_to_start_when_the_document_has_an_operation_it_does_not_handle() -> None:
    document = copy.deepcopy(load_document())
    get = document["paths"]["/api/vcenter/vm/{vm}/guest/processes/{pid}?action=get"]["post"]
    document["paths"]["/api/vcenter/vm/{vm}/guest/processes/{pid}?action=suspend"] = {
        "post": {
            **copy.deepcopy(get),
            "operationId": "processes.suspend",
            "x-vcenter-guest-vapi": {"service": "com.vmware.vcenter.vm.guest.processes", "operation": "suspend"},
        }
    }
    with pytest.raises(UnhandledOperation, match=r"processes\.suspend"):
        create_app(api_document=document)


def test_the_mock_starts_with_the_shipped_document_and_serves_every_operation() -> None:
    app = create_app()  # create_app itself is what is tested, not a server built with it
    assert set(app.state.api.doc.operations) == set(operations())
    for op in operations().values():
        assert op.id in app.state.api._handlers, op.id
