"""The document encodes every fact of shared/vsphere-api-facts.md.

Each table below is a fact from the facts file, written out by hand (not derived from the document),
so that an edit to openapi/ that drops or changes a fact fails here with the fact's name.
"""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate as validate_spec

from .conftest import DOCUMENT

GUEST = "/api/vcenter/vm/{vm}/guest/processes"

# operationId -> (path key, method, success status)
OPERATIONS = {
    "processes.create": (f"{GUEST}?action=create", "post", "201"),
    "processes.list": (f"{GUEST}?action=list", "post", "200"),
    "processes.get": (f"{GUEST}/{{pid}}?action=get", "post", "200"),
    "processes.delete": (f"{GUEST}/{{pid}}?action=delete", "post", "204"),
    "session.create": ("/api/session", "post", "201"),
    "session.get": ("/api/session", "get", "200"),
    "session.delete": ("/api/session", "delete", "204"),
}

# The 25 values of Error.Type, in VMware's order.
ERROR_TYPES = [
    "ERROR", "ALREADY_EXISTS", "ALREADY_IN_DESIRED_STATE", "CANCELED", "CONCURRENT_CHANGE",
    "FEATURE_IN_USE", "INTERNAL_SERVER_ERROR", "INVALID_ARGUMENT", "INVALID_ELEMENT_CONFIGURATION",
    "INVALID_ELEMENT_TYPE", "INVALID_REQUEST", "NOT_ALLOWED_IN_CURRENT_STATE", "NOT_FOUND",
    "OPERATION_NOT_FOUND", "RESOURCE_BUSY", "RESOURCE_IN_USE", "RESOURCE_INACCESSIBLE",
    "SERVICE_UNAVAILABLE", "TIMED_OUT", "UNABLE_TO_ALLOCATE_RESOURCE", "UNAUTHENTICATED",
    "UNAUTHORIZED", "UNEXPECTED_INPUT", "UNSUPPORTED", "UNVERIFIED_PEER",
]  # fmt: skip

# Error type -> HTTP status: the published /api table; the four types it omits use the runtime's default.
# fmt: off
STATUS_OF = {
    **dict.fromkeys(
        ["ALREADY_EXISTS", "ALREADY_IN_DESIRED_STATE", "FEATURE_IN_USE", "INVALID_ARGUMENT",
         "INVALID_ELEMENT_CONFIGURATION", "INVALID_ELEMENT_TYPE", "NOT_ALLOWED_IN_CURRENT_STATE",
         "RESOURCE_IN_USE", "UNSUPPORTED", "UNVERIFIED_PEER"],
        400,
    ),
    "UNAUTHENTICATED": 401,
    "UNAUTHORIZED": 403,
    "NOT_FOUND": 404,
    "CONCURRENT_CHANGE": 409,
    **dict.fromkeys(
        ["ERROR", "INTERNAL_SERVER_ERROR", "RESOURCE_BUSY", "RESOURCE_INACCESSIBLE",
         "UNABLE_TO_ALLOCATE_RESOURCE", "TIMED_OUT"],
        500,
    ),
    "SERVICE_UNAVAILABLE": 503,
    # runtime default table
    "INVALID_REQUEST": 400,
    "OPERATION_NOT_FOUND": 404,
    # in neither table: the runtime's 500 fallback (facts, Corrections)
    "CANCELED": 500,
    "UNEXPECTED_INPUT": 500,
}
# fmt: on

# The std errors each operation raises, from the official bindings.
DECLARED_ERRORS = {
    "processes.create": {
        "INVALID_ARGUMENT", "NOT_ALLOWED_IN_CURRENT_STATE", "NOT_FOUND", "RESOURCE_BUSY",
        "SERVICE_UNAVAILABLE", "UNABLE_TO_ALLOCATE_RESOURCE", "UNAUTHENTICATED", "UNAUTHORIZED", "UNSUPPORTED",
    },
    "processes.list": {"NOT_ALLOWED_IN_CURRENT_STATE", "NOT_FOUND", "RESOURCE_BUSY", "SERVICE_UNAVAILABLE",
             "UNAUTHENTICATED", "UNSUPPORTED"},
    "processes.get": {"NOT_ALLOWED_IN_CURRENT_STATE", "NOT_FOUND", "RESOURCE_BUSY", "SERVICE_UNAVAILABLE",
            "UNAUTHENTICATED", "UNSUPPORTED"},
    "processes.delete": {"NOT_ALLOWED_IN_CURRENT_STATE", "NOT_FOUND", "RESOURCE_BUSY", "SERVICE_UNAVAILABLE",
               "UNAUTHENTICATED", "UNSUPPORTED", "UNAUTHORIZED"},
    "session.create": {"UNAUTHENTICATED", "SERVICE_UNAVAILABLE"},
}  # fmt: skip

# Errors vCenter raises outside the operation's own declaration: a malformed body (runtime
# deserialisation: INVALID_ARGUMENT) and a missing privilege (authorization layer: UNAUTHORIZED).
RUNTIME_ERRORS = {
    "processes.create": set(),
    "processes.list": {"INVALID_ARGUMENT", "UNAUTHORIZED"},
    "processes.get": {"INVALID_ARGUMENT", "UNAUTHORIZED"},
    "processes.delete": {"INVALID_ARGUMENT"},
}

# Expected error statuses and the exact error types each carries, per operation.
ERRORS_BY_STATUS = {
    "processes.create": {
        "400": {"INVALID_ARGUMENT", "NOT_ALLOWED_IN_CURRENT_STATE", "UNSUPPORTED"},
        "401": {"UNAUTHENTICATED"},
        "403": {"UNAUTHORIZED"},
        "404": {"NOT_FOUND"},
        "500": {"RESOURCE_BUSY", "UNABLE_TO_ALLOCATE_RESOURCE"},
        "503": {"SERVICE_UNAVAILABLE"},
    },
    **{
        operation_id: {
            "400": {"INVALID_ARGUMENT", "NOT_ALLOWED_IN_CURRENT_STATE", "UNSUPPORTED"},
            "401": {"UNAUTHENTICATED"},
            "403": {"UNAUTHORIZED"},
            "404": {"NOT_FOUND"},
            "500": {"RESOURCE_BUSY"},
            "503": {"SERVICE_UNAVAILABLE"},
        }
        for operation_id in ("processes.list", "processes.get", "processes.delete")
    },
    **{
        operation_id: {"401": {"UNAUTHENTICATED"}, "503": {"SERVICE_UNAVAILABLE"}}
        for operation_id in ("session.create", "session.get", "session.delete")
    },
}

# schema name -> (required set, {property: (type, format or None)})
SCHEMAS: dict[str, tuple[set[str], dict[str, tuple[str, str | None]]]] = {
    "Vcenter.Vm.Guest.Credentials": (
        {"interactive_session", "type"},
        {"interactive_session": ("boolean", None), "user_name": ("string", None),
         "password": ("string", "password"), "saml_token": ("string", "password")},
    ),
    "Vcenter.Vm.Guest.Processes.CreateSpec": (
        {"path"},
        {"path": ("string", None), "arguments": ("string", None), "working_directory": ("string", None),
         "environment_variables": ("object", None), "start_minimized": ("boolean", None)},
    ),
    "Vcenter.Vm.Guest.Processes.Summary": (
        {"name", "pid", "owner", "command", "started"},
        {"name": ("string", None), "pid": ("integer", "int64"), "owner": ("string", None),
         "command": ("string", None), "started": ("string", "date-time")},
    ),
    "Vcenter.Vm.Guest.Processes.Info": (
        {"name", "owner", "command", "started"},
        {"name": ("string", None), "owner": ("string", None), "command": ("string", None),
         "started": ("string", "date-time"), "finished": ("string", "date-time"), "exit_code": ("integer", "int64")},
    ),
    "Vcenter.Vm.Guest.Processes.ProcessErrorDetails": ({"pid"}, {"pid": ("integer", "int64")}),
    "Vcenter.Vm.Guest.Filesystem.FileErrorDetails": ({"reason", "file_path"}, {"file_path": ("string", None)}),
    "Cis.Session.Info": (
        {"user", "created_time", "last_accessed_time"},
        {"user": ("string", None), "created_time": ("string", "date-time"),
         "last_accessed_time": ("string", "date-time")},
    ),
    "Vapi.Std.Errors.Error": ({"messages"}, {"messages": ("array", None)}),
    "Vapi.Std.LocalizableMessage": (
        {"id", "default_message", "args"},
        {"id": ("string", None), "default_message": ("string", None), "args": ("array", None),
         "params": ("object", None), "localized": ("string", None)},
    ),
    "Vapi.Std.LocalizationParam": (
        set(),
        {"s": ("string", None), "dt": ("string", "date-time"), "i": ("integer", "int64"),
         "d": ("number", "double"), "precision": ("integer", "int64")},
    ),
    "Vapi.Std.NestedLocalizableMessage": ({"id"}, {"id": ("string", None), "params": ("object", None)}),
    "Vapi.Std.DynamicID": ({"type", "id"}, {"type": ("string", None), "id": ("string", None)}),
    "Vapi.Std.Errors.ArgumentLocations": (
        {"primary", "secondary"}, {"primary": ("string", None), "secondary": ("array", None)},
    ),
    "Vapi.Std.Errors.FileLocations": (
        {"primary", "secondary"}, {"primary": ("string", None), "secondary": ("array", None)},
    ),
    "Vapi.Std.Errors.TransientIndication": ({"is_transient"}, {"is_transient": ("boolean", None)}),
}  # fmt: skip

# schema name -> the exact enum values
ENUMS = {
    "Vcenter.Vm.Guest.Credentials.Type": ["USERNAME_PASSWORD", "SAML_BEARER_TOKEN"],
    "Vcenter.Vm.Guest.Filesystem.FileErrorDetails.Reason": [
        "NOT_A_FILE", "NOT_A_DIRECTORY", "PATH_TOO_LONG", "FILE_NOT_FOUND", "FILE_TOO_LARGE",
        "NO_DISK_SPACE", "DIRECTORY_NOT_EMPTY",
    ],
    "Vapi.Std.LocalizationParam.DateTimeFormat": [
        "SHORT_DATE", "MED_DATE", "LONG_DATE", "FULL_DATE", "SHORT_TIME", "MED_TIME", "LONG_TIME", "FULL_TIME",
        "SHORT_DATE_TIME", "MED_DATE_TIME", "LONG_DATE_TIME", "FULL_DATE_TIME",
    ],
    "Vapi.Std.Errors.Error.Type": ERROR_TYPES,
}  # fmt: skip


def camel(error_type: str) -> str:
    return "".join(part.capitalize() for part in error_type.split("_"))


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follows `$ref` and the `allOf: [$ref]` wrapper used to describe a referencing property."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            schema = doc["components"]["schemas"][name]
        elif list(schema.get("allOf", [])) and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        else:
            return schema


def operation(doc: dict[str, Any], operation_id: str) -> dict[str, Any]:
    path, method, _ = OPERATIONS[operation_id]
    return doc["paths"][path][method]


def test_document_passes_openapi_spec_validator() -> None:
    validate_spec(__import__("yaml").safe_load(DOCUMENT.read_text(encoding="utf-8")))


def test_document_is_openapi_3_0_3(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.0.3"


def test_paths_are_exactly_the_published_path_keys(doc: dict[str, Any]) -> None:
    from .test_filesystem_document import FS_OPERATIONS
    from .test_guest_services_document import GS_OPERATIONS

    published = {path for path, _, _ in OPERATIONS.values()} | {fact[0] for fact in FS_OPERATIONS.values()}
    published |= {fact[0] for fact in GS_OPERATIONS.values()}
    assert set(doc["paths"]) == published


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operation_sits_at_its_path_key_and_method(doc: dict[str, Any], operation_id: str) -> None:
    assert operation(doc, operation_id)["operationId"] == operation_id


@pytest.mark.parametrize("operation_id", ["processes.create", "processes.list", "processes.get", "processes.delete"])
def test_guest_operations_are_tagged_vm_guest_processes(doc: dict[str, Any], operation_id: str) -> None:
    assert operation(doc, operation_id)["tags"] == ["vm/guest/processes"]


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_success_status_is_the_published_one(doc: dict[str, Any], operation_id: str) -> None:
    success = {code for code in operation(doc, operation_id)["responses"] if code.startswith("2")}
    assert success == {OPERATIONS[operation_id][2]}


@pytest.mark.parametrize(
    ("operation_id", "schema"),
    [
        ("processes.create", {"type": "integer", "format": "int64"}),
        ("session.create", {"type": "string", "format": "password"}),
        (
            "processes.list",
            {"type": "array", "items": {"$ref": "#/components/schemas/Vcenter.Vm.Guest.Processes.Summary"}},
        ),
        ("processes.get", {"$ref": "#/components/schemas/Vcenter.Vm.Guest.Processes.Info"}),
        ("session.get", {"$ref": "#/components/schemas/Cis.Session.Info"}),
    ],
)
def test_success_body_schema(doc: dict[str, Any], operation_id: str, schema: dict[str, Any]) -> None:
    response = operation(doc, operation_id)["responses"][OPERATIONS[operation_id][2]]
    assert response["content"]["application/json"]["schema"] == schema


@pytest.mark.parametrize("operation_id", ["processes.delete", "session.delete"])
def test_204_responses_have_no_body(doc: dict[str, Any], operation_id: str) -> None:
    assert "content" not in operation(doc, operation_id)["responses"]["204"]


@pytest.mark.parametrize(
    ("operation_id", "params"),
    [
        ("processes.create", {"vm": ("string", None)}),
        ("processes.list", {"vm": ("string", None)}),
        ("processes.get", {"vm": ("string", None), "pid": ("integer", "int64")}),
        ("processes.delete", {"vm": ("string", None), "pid": ("integer", "int64")}),
    ],
)
def test_path_parameters(doc: dict[str, Any], operation_id: str, params: dict[str, Any]) -> None:
    found = {
        p["name"]: (p["schema"]["type"], p["schema"].get("format"))
        for p in operation(doc, operation_id)["parameters"]
        if p["in"] == "path" and p["required"]
    }
    assert found == params
    assert not [p for p in operation(doc, operation_id)["parameters"] if p["in"] == "query"], (
        "VMware writes the action into the path key; there is no action query parameter"
    )


@pytest.mark.parametrize(
    ("operation_id", "required"),
    [
        ("processes.create", {"credentials", "spec"}),
        ("processes.list", {"credentials"}),
        ("processes.get", {"credentials"}),
        ("processes.delete", {"credentials"}),
    ],
)
def test_request_body_required_members(doc: dict[str, Any], operation_id: str, required: set[str]) -> None:
    body = operation(doc, operation_id)["requestBody"]
    assert body["required"] is True
    schema = resolve(doc, body["content"]["application/json"]["schema"])
    assert set(schema["required"]) == required
    assert (
        resolve(doc, schema["properties"]["credentials"])
        is doc["components"]["schemas"]["Vcenter.Vm.Guest.Credentials"]
    )
    if "spec" in required:
        spec = doc["components"]["schemas"]["Vcenter.Vm.Guest.Processes.CreateSpec"]
        assert resolve(doc, schema["properties"]["spec"]) is spec


def test_security_schemes(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["session_id"] == {
        **schemes["session_id"],
        "type": "apiKey",
        "in": "header",
        "name": "vmware-api-session-id",
    }
    assert schemes["basic_auth"]["type"] == "http"
    assert schemes["basic_auth"]["scheme"] == "basic"


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operation_security(doc: dict[str, Any], operation_id: str) -> None:
    effective = operation(doc, operation_id).get("security", doc["security"])
    expected = [{"basic_auth": []}] if operation_id == "session.create" else [{"session_id": []}]
    assert effective == expected


@pytest.mark.parametrize(("name", "values"), ENUMS.items())
def test_enum_values_and_counts(doc: dict[str, Any], name: str, values: list[str]) -> None:
    schema = doc["components"]["schemas"][name]
    assert schema["type"] == "string"
    assert schema["enum"] == values, f"{name} must list exactly {len(values)} values"


def test_error_type_enum_has_25_values(doc: dict[str, Any]) -> None:
    assert len(doc["components"]["schemas"]["Vapi.Std.Errors.Error.Type"]["enum"]) == 25


@pytest.mark.parametrize(("name", "shape"), SCHEMAS.items())
def test_schema_required_sets_types_and_formats(
    doc: dict[str, Any], name: str, shape: tuple[set[str], dict[str, tuple[str, str | None]]]
) -> None:
    required, properties = shape
    schema = doc["components"]["schemas"][name]
    assert set(schema.get("required", [])) == required
    for prop, (type_, format_) in properties.items():
        found = schema["properties"][prop]
        assert (found["type"], found.get("format")) == (type_, format_), f"{name}.{prop}"


@pytest.mark.parametrize(
    ("name", "prop", "target"),
    [
        ("Vcenter.Vm.Guest.Credentials", "type", "Vcenter.Vm.Guest.Credentials.Type"),
        (
            "Vcenter.Vm.Guest.Filesystem.FileErrorDetails",
            "reason",
            "Vcenter.Vm.Guest.Filesystem.FileErrorDetails.Reason",
        ),
        ("Vapi.Std.Errors.Error", "error_type", "Vapi.Std.Errors.Error.Type"),
        ("Vapi.Std.LocalizationParam", "l", "Vapi.Std.NestedLocalizableMessage"),
        ("Vapi.Std.LocalizationParam", "format", "Vapi.Std.LocalizationParam.DateTimeFormat"),
    ],
)
def test_schema_references(doc: dict[str, Any], name: str, prop: str, target: str) -> None:
    found = doc["components"]["schemas"][name]["properties"][prop]
    assert resolve(doc, found) is doc["components"]["schemas"][target]


@pytest.mark.parametrize("name", ["Vapi.Std.LocalizableMessage", "Vapi.Std.NestedLocalizableMessage"])
def test_message_params_map_to_localization_params(doc: dict[str, Any], name: str) -> None:
    params = doc["components"]["schemas"][name]["properties"]["params"]
    assert params["additionalProperties"] == {"$ref": "#/components/schemas/Vapi.Std.LocalizationParam"}


def test_create_spec_details(doc: dict[str, Any]) -> None:
    spec = doc["components"]["schemas"]["Vcenter.Vm.Guest.Processes.CreateSpec"]["properties"]
    assert spec["environment_variables"]["additionalProperties"] == {"type": "string"}
    assert spec["start_minimized"]["default"] is False


@pytest.mark.parametrize("error_type", ERROR_TYPES[1:])
def test_each_specific_error_schema(doc: dict[str, Any], error_type: str) -> None:
    schema = doc["components"]["schemas"][f"Vapi.Std.Errors.{camel(error_type)}"]
    # Unauthenticated has a challenge in every source; Unauthorized in the 9.1.1 bindings.
    with_challenge = {"UNAUTHENTICATED", "UNAUTHORIZED"}
    expected = {"messages", "data", "error_type"} | ({"challenge"} if error_type in with_challenge else set())
    assert set(schema["properties"]) == expected
    assert schema["properties"]["error_type"]["enum"] == [error_type], "error_type is the discriminator value"
    # error_type is optional ("can be unset for compatibility with preceding implementations").
    assert set(schema["required"]) == {"messages"}
    assert schema["x-vapi-error-type"] == error_type
    assert schema["x-vapi-http-status"] == STATUS_OF[error_type]


def test_there_are_24_specific_error_schemas(doc: dict[str, Any]) -> None:
    names = {n for n, s in doc["components"]["schemas"].items() if "x-vapi-error-type" in s} - {"Vapi.Std.Errors.Error"}
    assert len(names) == 24


def test_every_field_is_described(doc: dict[str, Any]) -> None:
    undocumented = [
        f"{name}.{prop}"
        for name, schema in doc["components"]["schemas"].items()
        for prop, body in schema.get("properties", {}).items()
        if not body.get("description")
    ]
    undocumented += [name for name, schema in doc["components"]["schemas"].items() if not schema.get("description")]
    assert not undocumented


@pytest.mark.parametrize("operation_id", ERRORS_BY_STATUS)
def test_error_types_per_status(doc: dict[str, Any], operation_id: str) -> None:
    responses = operation(doc, operation_id)["responses"]
    found = {}
    for status, response in responses.items():
        if status.startswith("2"):
            continue
        media = response["content"]["application/json"]
        # anyOf, not oneOf: an error without the (optional) error_type matches every alternative.
        assert "oneOf" not in media["schema"]
        refs = [alt["$ref"] for alt in media["schema"]["anyOf"]]
        type_of = {
            r: doc["components"]["schemas"][r.removeprefix("#/components/schemas/")]["x-vapi-error-type"] for r in refs
        }
        # No discriminator: OpenAPI validators would then require error_type, which VMware's errors may omit.
        assert "discriminator" not in media["schema"], f"{operation_id} {status}"
        types = set(type_of.values())
        assert all(STATUS_OF[t] == int(status) for t in types), f"{operation_id} {status}: {types}"
        found[status] = types
    assert found == ERRORS_BY_STATUS[operation_id]


@pytest.mark.parametrize("operation_id", ["processes.create", "processes.list", "processes.get", "processes.delete"])
def test_declared_and_runtime_errors(doc: dict[str, Any], operation_id: str) -> None:
    op = operation(doc, operation_id)
    assert set(op["x-vapi-errors"]) == DECLARED_ERRORS[operation_id]
    assert set(op["x-vapi-runtime-errors"]) == RUNTIME_ERRORS[operation_id]
    documented = set().union(*ERRORS_BY_STATUS[operation_id].values())
    assert documented == DECLARED_ERRORS[operation_id] | RUNTIME_ERRORS[operation_id]


@pytest.mark.parametrize(
    ("operation_id", "privilege"),
    [
        ("processes.create", "VirtualMachine.GuestOperations.Execute"),
        ("processes.delete", "VirtualMachine.GuestOperations.Execute"),
        ("processes.list", "VirtualMachine.GuestOperations.Query"),
        ("processes.get", "VirtualMachine.GuestOperations.Query"),
    ],
)
def test_privileges(doc: dict[str, Any], operation_id: str, privilege: str) -> None:
    assert operation(doc, operation_id)["x-vapi-privileges"] == [privilege]


def test_create_links_its_pid_to_get_and_delete(doc: dict[str, Any]) -> None:
    links = operation(doc, "processes.create")["responses"]["201"]["links"]
    targets = {link["operationId"]: link for link in links.values()}
    assert set(targets) == {"processes.get", "processes.delete"}
    for link in targets.values():
        assert link["parameters"] == {"vm": "$request.path.vm", "pid": "$response.body"}
        assert link["requestBody"] == {"credentials": "$request.body#/credentials"}


def test_delete_links_back_to_get(doc: dict[str, Any]) -> None:
    links = operation(doc, "processes.delete")["responses"]["204"]["links"]
    assert [link["operationId"] for link in links.values()] == ["processes.get"]


# What the document says about each operation beyond OpenAPI's vocabulary: may a request that may have
# reached the server be sent again (x-vcenter-guest-resend), and what the operation does (x-vcenter-guest-effect).
# create is the one that must never be re-sent: a second create would start the program twice.
RESEND_AND_EFFECT = {
    "processes.create": ("never", "starts-program"),
    "processes.list": ("safe", "none"),
    "processes.get": ("safe", "none"),
    "processes.delete": ("idempotent", "terminates-process"),
    "session.create": ("harmless-duplicate", "creates-session"),
    "session.get": ("safe", "none"),
    "session.delete": ("idempotent", "ends-session"),
}


@pytest.mark.parametrize(("operation_id", "expected"), sorted(RESEND_AND_EFFECT.items()))
def test_resend_rule_and_effect(doc: dict[str, Any], operation_id: str, expected: tuple[str, str]) -> None:
    op = operation(doc, operation_id)
    assert (op["x-vcenter-guest-resend"], op["x-vcenter-guest-effect"]) == expected


def test_operation_ids_name_their_service_and_stay_unique(doc: dict[str, Any]) -> None:
    """operationIds are global: `<service>.<operation>` keeps Files.create apart from Processes.create."""
    from .test_filesystem_document import FS_OPERATIONS
    from .test_guest_services_document import GS_OPERATIONS

    ids = [op["operationId"] for item in doc["paths"].values() for key, op in item.items() if key != "servers"]
    assert len(ids) == len(set(ids))
    services = {"session", "processes", "transfers", "files", "directories", "operations", "vm", "guest_file"}
    services |= {"environment", "identity", "local_filesystem", "networking", "interfaces", "routes"}
    services |= {"guest_power", "power", "tools"}
    assert all(op_id.count(".") == 1 and op_id.split(".")[0] in services for op_id in ids), ids
    assert set(ids) == set(OPERATIONS) | set(FS_OPERATIONS) | set(GS_OPERATIONS)
