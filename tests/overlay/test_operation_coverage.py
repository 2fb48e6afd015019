"""Every operation of the document is either called by the client (its endpoint module, through the
generated operation index `vcenter_guest_client.api`, is used by a service or by the session calls) or
listed in `vcenter_guest._services.NOT_EXPOSED` with the reason it is not."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import vcenter_guest
from vcenter_guest._services import NOT_EXPOSED
from vcenter_guest.operations import operations
from vcenter_guest_client import api

CORE = Path(vcenter_guest.__file__).parent
CALLERS = [CORE / "_services", CORE / "_wire"]


def _index_names_used(sources: Iterable[str]) -> set[str]:
    """The names read off the operation index (`api.<name>`) in these module sources."""
    used: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "api":
                used.add(node.attr)
    return used


def _uncovered(op_ids: Iterable[str], used: set[str], not_exposed: Mapping[str, str]) -> list[str]:
    """The operations neither called (their endpoint module used) nor listed as not exposed."""
    return sorted(op for op in op_ids if api.OPERATIONS[op] not in used and op not in not_exposed)


def _core_sources() -> list[str]:
    return [path.read_text(encoding="utf-8") for folder in CALLERS for path in sorted(folder.rglob("*.py"))]


def test_every_operation_of_the_document_is_called_by_the_client_or_listed_as_not_exposed() -> None:
    uncovered = _uncovered(operations(), _index_names_used(_core_sources()), NOT_EXPOSED)
    assert uncovered == [], (
        f"the document has operations the client does not expose: {uncovered}; give a service a method "
        "that calls each, or list it in vcenter_guest._services.NOT_EXPOSED with the reason why not"
    )


def test_an_operation_listed_as_not_exposed_is_in_the_document_not_called_and_has_a_reason() -> None:
    used = _index_names_used(_core_sources())
    for op, reason in NOT_EXPOSED.items():
        assert op in operations(), f"NOT_EXPOSED names {op}, which the document does not have"
        assert api.OPERATIONS[op] not in used, f"{op} is called by the client: remove it from NOT_EXPOSED"
        assert len(reason.split()) >= 3, f"NOT_EXPOSED[{op!r}] must say why"


def test_the_check_names_an_operation_whose_endpoint_no_module_uses() -> None:
    without_update = [s.replace("api.files_update", "api_elsewhere.files_update") for s in _core_sources()]
    used = _index_names_used(without_update)
    assert _uncovered(operations(), used, {}) == ["files.update"]
    assert _uncovered(operations(), used, {"files.update": "a reason in words"}) == []
