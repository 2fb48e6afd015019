"""Every example in the document validates against its schema, and every operation has examples."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import DOCUMENT

Validate = Callable[[Any, dict[str, Any]], None]
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _examples(doc: dict[str, Any]) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(where, example value, schema) for every example of every parameter, body and response."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue  # `servers` or `parameters` of the path item
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if "example" in param:
                    yield f"{where} parameter {param['name']}", param["example"], param["schema"]
            media_types = [("request", op["requestBody"]["content"])] if "requestBody" in op else []
            media_types += [(status, r["content"]) for status, r in op["responses"].items() if "content" in r]
            for label, content in media_types:
                media = content.get("application/json", {})
                for name, example in media.get("examples", {}).items():
                    yield f"{where} {label} example {name}", example["value"], media["schema"]


with DOCUMENT.open(encoding="utf-8") as _fh:
    EXAMPLES = list(_examples(yaml.safe_load(_fh)))


@pytest.mark.parametrize(("where", "value", "schema"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_validates_against_its_schema(
    validate: Validate, where: str, value: Any, schema: dict[str, Any]
) -> None:
    validate(value, schema)


def test_the_validator_rejects_an_error_example_at_the_wrong_status(validate: Validate, doc: dict[str, Any]) -> None:
    """Guards the test above: the anyOf per status really constrains error_type."""
    list_400 = doc["paths"]["/api/vcenter/vm/{vm}/guest/processes?action=list"]["post"]["responses"]["400"]
    not_found = {"error_type": "NOT_FOUND", "messages": [{"id": "x", "default_message": "x", "args": []}]}
    with pytest.raises(jsonschema.ValidationError):
        validate(not_found, list_400["content"]["application/json"]["schema"])


@pytest.mark.parametrize("path", ["/api/session"])
def test_session_operations_have_success_and_error_examples(doc: dict[str, Any], path: str) -> None:
    for method, op in doc["paths"][path].items():
        _assert_success_and_error_examples(f"{method} {path}", op)


def test_vcenter_operations_have_success_and_error_examples(doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        if path.startswith("/api/vcenter/"):
            for method in METHODS & set(item):
                _assert_success_and_error_examples(f"{method} {path}", item[method])


def test_the_data_plane_has_no_json_and_no_vapi_errors(doc: dict[str, Any]) -> None:
    """/guestFile is ESXi's plain HTTP: bytes in and out, errors as text; no session."""
    item = doc["paths"]["/guestFile"]
    assert item["servers"][0]["url"] == "https://{esxi_host}"
    for method in ("get", "put"):
        op = item[method]
        assert op["security"] == []
        for status, response in op["responses"].items():
            media = set(response.get("content", {}))
            assert media <= ({"application/octet-stream"} if status.startswith("2") else {"text/plain"}), status


def _assert_success_and_error_examples(where: str, op: dict[str, Any]) -> None:
    success = [s for s in op["responses"] if s.startswith("2")]
    errors = [s for s in op["responses"] if not s.startswith("2")]
    for status in success:
        response = op["responses"][status]
        if "content" in response:  # 204 has no body to exemplify
            assert response["content"]["application/json"]["examples"], f"{where} {status}"
    for status in errors:
        examples = op["responses"][status]["content"]["application/json"]["examples"]
        assert examples, f"{where} {status} has no error example"


def test_an_error_without_error_type_validates_at_a_documented_status(validate: Validate, doc: dict[str, Any]) -> None:
    """error_type is optional in VMware's error structures (older implementations leave it unset)."""
    list_400 = doc["paths"]["/api/vcenter/vm/{vm}/guest/processes?action=list"]["post"]["responses"]["400"]
    legacy = {
        "messages": [{"id": "x", "default_message": "The virtual machine vm-42 is not running.", "args": ["vm-42"]}]
    }
    validate(legacy, list_400["content"]["application/json"]["schema"])
