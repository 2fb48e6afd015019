"""`x-vcenter-guest-error-data`: which error carries which `data`, read from the document, per operation.

The fuzz command's error scenario judges an error's `data` by it; the response descriptions say the
same in prose (`data`: ProcessErrorDetails), and the two must not drift apart.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from vcenter_guest.operations import DocumentError, OperationTable, load_document

_PROSE = re.compile(r"\(`data`: (\w+)")


def _responses(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                for status, response in operation.get("responses", {}).items():
                    found.append((operation["operationId"], status, response))
    return found


def test_every_error_response_whose_description_names_its_data_declares_that_schema() -> None:
    document = load_document()
    named = 0
    for op_id, status, response in _responses(document):
        prose = _PROSE.findall(response.get("description", ""))
        declared = response.get("x-vcenter-guest-error-data", {})
        assert [name.rsplit(".", 1)[-1] for name in declared.values()] == prose, (op_id, status)
        named += len(prose)
    assert named == 26


def test_the_operation_table_gives_each_operations_error_data_by_error_type() -> None:
    table = OperationTable(load_document())
    assert table["processes.get"].error_data == {"NOT_FOUND": "Vcenter.Vm.Guest.Processes.ProcessErrorDetails"}
    assert table["files.get"].error_data["NOT_FOUND"] == "Vcenter.Vm.Guest.Filesystem.FileErrorDetails"
    assert "ALREADY_EXISTS" not in table["directories.create"].error_data
    assert table["session.create"].error_data == {}


@pytest.mark.parametrize(
    ("error_type", "schema"),
    [("ALREADY_EXISTS", "Vcenter.Vm.Guest.Processes.ProcessErrorDetails"), ("NOT_FOUND", "No.Such.Schema")],
)
def test_error_data_naming_a_type_the_status_lacks_or_an_unknown_schema_is_a_document_error(
    error_type: str, schema: str
) -> None:
    document = copy.deepcopy(load_document())
    response = document["paths"]["/api/vcenter/vm/{vm}/guest/processes/{pid}?action=get"]["post"]["responses"]["404"]
    response["x-vcenter-guest-error-data"] = {error_type: schema}
    with pytest.raises(DocumentError, match=r"processes\.get: x-vcenter-guest-error-data at 404"):
        OperationTable(document)
