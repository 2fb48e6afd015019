"""An error body without `error_type` is read as the type the document's `x-vcenter-guest-status-fallback`
gives its status (the vAPI runtime's reverse status table): no handwritten table repeats it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from vcenter_guest._wire import responses
from vcenter_guest.operations import DocumentError, load_document


def _with(document: dict[str, Any], schema: str, statuses: list[int]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["components"]["schemas"][schema]["x-vcenter-guest-status-fallback"] = statuses
    return changed


def test_the_client_reads_a_bare_status_as_the_document_says_for_every_status() -> None:
    table = responses.fallback_table(load_document())
    assert table  # the shipped document has the extension
    for status in range(400, 600):
        assert responses.status_error_type(status) == table.get(status, "ERROR")


def test_a_status_the_document_gives_a_type_is_read_as_that_type() -> None:
    document = _with(load_document(), "Vapi.Std.Errors.ResourceBusy", [418])
    assert responses.fallback_table(document)[418] == "RESOURCE_BUSY"
    assert 418 not in responses.fallback_table(load_document())


def test_two_error_schemas_claiming_one_status_is_a_document_error() -> None:
    document = _with(load_document(), "Vapi.Std.Errors.ResourceBusy", [404])
    with pytest.raises(DocumentError, match="404"):
        responses.fallback_table(document)


def test_a_fallback_on_a_schema_that_is_not_an_error_type_is_a_document_error() -> None:
    document = _with(load_document(), "Vapi.Std.LocalizableMessage", [418])
    with pytest.raises(DocumentError, match="x-vapi-error-type"):
        responses.fallback_table(document)
