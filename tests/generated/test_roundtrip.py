"""Every generated model round-trips: from_dict(to_dict(x)) == x, and to_dict conforms to the schema."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Importing the overlay applies its generator workarounds (see test_generator_workarounds.py):
# without them LocalizationParam, and so every message with params, cannot be parsed.
import vcenter_guest  # noqa: F401
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

ROOT = Path(__file__).resolve().parents[2]
DOC = yaml.safe_load((ROOT / "openapi" / "vcenter-guest.yaml").read_text(encoding="utf-8"))
OVERRIDES = yaml.safe_load((ROOT / "generator-config.yaml").read_text(encoding="utf-8"))["class_overrides"]


def model_class(schema_name: str) -> Any:
    """The generated class for a component schema, found the way the generator names it."""
    override = OVERRIDES[schema_name.replace(".", "")]
    module = importlib.import_module(f"vcenter_guest_client.models.{override['module_name']}")
    return getattr(module, override["class_name"])


def validate(instance: Any, schema_name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": DOC["components"]}
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(instance)


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.removeprefix("#/components/schemas/") if ref else None


def _document_examples() -> Iterator[tuple[str, str, Any]]:
    """(id, schema name, value): each example whose schema is a model, one item per array element."""
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method in {"servers", "parameters"}:
                continue
            contents = [("request", op["requestBody"]["content"])] if "requestBody" in op else []
            contents += [(s, r["content"]) for s, r in op["responses"].items() if "content" in r]
            for label, content in contents:
                if "application/json" not in content:
                    continue  # the data plane's bytes and texts
                media = content["application/json"]
                schema = media["schema"]
                for name, example in media.get("examples", {}).items():
                    value = example["value"]
                    where = f"{method} {path} {label} {name}"
                    if _ref_name(schema):
                        yield where, _ref_name(schema), value  # type: ignore[misc]
                    elif schema.get("type") == "array" and _ref_name(schema["items"]):
                        for i, element in enumerate(value):
                            yield f"{where}[{i}]", _ref_name(schema["items"]), element  # type: ignore[misc]
                    elif "anyOf" in schema:
                        names = [alt["$ref"].removeprefix("#/components/schemas/") for alt in schema["anyOf"]]
                        by_type = {DOC["components"]["schemas"][n]["x-vapi-error-type"]: n for n in names}
                        yield where, by_type[value["error_type"]], value


MESSAGE_WITH_PARAMS = {
    "id": "com.vmware.vcenter.vm.guest.processes.pid_not_found",
    "default_message": "The process {0} was not found in virtual machine {1}.",
    "args": ["4242", "vm-42"],
    "params": {
        "pid": {"i": 4242},
        "vm": {"s": "vm-42"},
        "when": {"dt": "2026-11-27T10:15:30+00:00", "format": "SHORT_DATE_TIME"},
        "load": {"d": 0.75, "precision": 2},
        "why": {"l": {"id": "com.vmware.nested", "params": {"who": {"s": "root"}, "deeper": {"l": {"id": "x"}}}}},
    },
    "localized": "Le processus 4242 est introuvable.",
    "x-unknown-message-key": {"kept": True},
}

HANDWRITTEN = [
    (
        "not_found with nested params and unknown keys",
        "Vapi.Std.Errors.NotFound",
        {
            "error_type": "NOT_FOUND",
            "messages": [MESSAGE_WITH_PARAMS, {"id": "outer", "default_message": "Outer.", "args": []}],
            "data": {"pid": 4242},
            "x-vendor-extra": [1, "two", None],
        },
    ),
    (
        "unauthenticated with challenge",
        "Vapi.Std.Errors.Unauthenticated",
        {
            "error_type": "UNAUTHENTICATED",
            "messages": [{"id": "auth", "default_message": "Authentication required.", "args": []}],
            "challenge": 'Basic realm="vCenter"',
        },
    ),
    (
        "generic error without error_type",
        "Vapi.Std.Errors.Error",
        {"messages": [{"id": "e", "default_message": "{0} failed", "args": ["x"]}], "unknown": 1},
    ),
    (
        "file error details",
        "Vcenter.Vm.Guest.Filesystem.FileErrorDetails",
        {"reason": "NOT_A_FILE", "file_path": "/root"},
    ),
    ("dynamic id", "Vapi.Std.DynamicID", {"type": "VirtualMachine", "id": "vm-42"}),
    ("argument locations", "Vapi.Std.Errors.ArgumentLocations", {"primary": "spec.path", "secondary": []}),
    ("file locations", "Vapi.Std.Errors.FileLocations", {"primary": "a.yaml:3", "secondary": ["b.yaml:4"]}),
    ("transient indication", "Vapi.Std.Errors.TransientIndication", {"is_transient": True}),
    (
        "create spec with everything",
        "Vcenter.Vm.Guest.Processes.CreateSpec",
        {
            "path": "c:\\windows\\system32\\cmd.exe",
            "arguments": "/c dir > c:\\out.txt",
            "working_directory": "c:\\",
            "environment_variables": {"PATH": "c:\\windows", "EMPTY": ""},
            "start_minimized": True,
        },
    ),
    (
        "saml credentials",
        "Vcenter.Vm.Guest.Credentials",
        {"interactive_session": True, "type": "SAML_BEARER_TOKEN", "saml_token": "<saml/>", "user_name": "svc"},
    ),
]

CASES = [*_document_examples(), *HANDWRITTEN]


@pytest.mark.parametrize(("where", "schema_name", "value"), CASES, ids=[c[0] for c in CASES])
def test_model_round_trips(where: str, schema_name: str, value: Any) -> None:
    cls = model_class(schema_name)
    model = cls.from_dict(value)
    again = cls.from_dict(model.to_dict())
    assert again == model, f"{cls.__name__} changed through to_dict/from_dict"
    validate(model.to_dict(), schema_name)


def test_unknown_keys_survive_the_round_trip() -> None:
    _, schema_name, value = HANDWRITTEN[0]
    dumped = model_class(schema_name).from_dict(value).to_dict()
    assert dumped["x-vendor-extra"] == [1, "two", None]
    assert dumped["messages"][0]["x-unknown-message-key"] == {"kept": True}
    assert dumped["messages"][0]["params"]["why"]["l"]["params"]["deeper"]["l"]["id"] == "x"


def test_error_bodies_parse_into_the_class_their_error_type_names() -> None:
    """The generated union parser tries each member in turn; single-value error_type enums make it exact."""
    import httpx
    from vcenter_guest_client.api.vmguestprocesses import processes_create as create
    from vcenter_guest_client.client import Client
    from vcenter_guest_client.models.not_allowed_in_current_state import NotAllowedInCurrentState
    from vcenter_guest_client.models.unsupported import Unsupported

    client = Client(base_url="http://vc.invalid")
    for error_type, cls in [("UNSUPPORTED", Unsupported), ("NOT_ALLOWED_IN_CURRENT_STATE", NotAllowedInCurrentState)]:
        body = {"error_type": error_type, "messages": [{"id": "i", "default_message": "m", "args": []}]}
        parsed = create._parse_response(client=client, response=httpx.Response(400, json=body))
        assert type(parsed) is cls
