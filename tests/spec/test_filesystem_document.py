"""The document encodes every fact of shared/vsphere-filesystem-facts.md.

As in test_document.py, each table is a fact written out by hand from the facts file (not derived from
the document), so that an edit to openapi/ that drops or changes one fails here with its name.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_document import STATUS_OF, resolve

FS = "/api/vcenter/vm/{vm}/guest/filesystem"
FILES = "vm/guest/filesystem/files"
DIRS = "vm/guest/filesystem/directories"
MODIFY = "VirtualMachine.GuestOperations.Modify"
QUERY = "VirtualMachine.GuestOperations.Query"

# operationId -> (path key, method, success status, privileges, tag)
FS_OPERATIONS = {
    "transfers.create": (f"{FS}?action=create", "post", "201", [MODIFY], "vm/guest/filesystem"),
    "files.create_temporary": (f"{FS}/files?action=createTemporary", "post", "200", [MODIFY], FILES),
    "files.get": (f"{FS}/files/{{path}}?action=get", "post", "200", [QUERY], FILES),
    "files.delete": (f"{FS}/files/{{path}}?action=delete", "post", "204", [MODIFY], FILES),
    "files.list": (f"{FS}/files?action=list", "post", "200", [QUERY], FILES),
    "files.move": (f"{FS}/files?action=move", "post", "204", [MODIFY], FILES),
    "files.update": (f"{FS}/files?action=update", "post", "204", [MODIFY], FILES),
    "directories.create": (f"{FS}/directories?action=create", "post", "204", [MODIFY], DIRS),
    "directories.delete": (f"{FS}/directories?action=delete", "post", "204", [MODIFY], DIRS),
    "directories.move": (f"{FS}/directories?action=move", "post", "204", [MODIFY], DIRS),
    "directories.create_temporary": (
        f"{FS}/directories?action=createTemporary", "post", "200", [MODIFY], DIRS,
    ),
    "operations.get": ("/api/vcenter/vm/{vm}/guest/operations", "get", "200", ["System.Read"], "vm/guest/operations"),
    "vm.list": ("/api/vcenter/vm", "get", "200", [], "vm"),
    "guest_file.download": ("/guestFile", "get", "200", [], "guestFile"),
    "guest_file.upload": ("/guestFile", "put", "200", [], "guestFile"),
}  # fmt: skip

# [C]: the errors of all 11 filesystem operations.
COMMON = {
    "NOT_ALLOWED_IN_CURRENT_STATE", "NOT_FOUND", "RESOURCE_BUSY", "SERVICE_UNAVAILABLE",
    "UNAUTHENTICATED", "UNAUTHORIZED", "UNSUPPORTED",
}  # fmt: skip

DECLARED_ERRORS = {
    "transfers.create": COMMON | {"ALREADY_EXISTS", "INVALID_ARGUMENT", "UNABLE_TO_ALLOCATE_RESOURCE"},
    "files.create_temporary": COMMON | {"INVALID_ARGUMENT"},
    "files.get": COMMON | {"INVALID_ARGUMENT"},
    "files.delete": COMMON | {"INVALID_ARGUMENT"},
    "files.list": COMMON | {"INVALID_ARGUMENT"},
    "files.move": COMMON | {"ALREADY_EXISTS", "INVALID_ARGUMENT"},
    "files.update": COMMON | {"INVALID_ARGUMENT"},
    "directories.create": COMMON | {"ALREADY_EXISTS", "INVALID_ARGUMENT"},
    "directories.delete": COMMON | {"INVALID_ARGUMENT", "RESOURCE_IN_USE"},
    "directories.move": COMMON | {"ALREADY_EXISTS", "INVALID_ARGUMENT"},
    "directories.create_temporary": COMMON | {"INVALID_ARGUMENT"},
    "operations.get": {"NOT_FOUND", "SERVICE_UNAVAILABLE"},
    "vm.list": {
        "INVALID_ARGUMENT", "SERVICE_UNAVAILABLE", "UNABLE_TO_ALLOCATE_RESOURCE", "UNAUTHENTICATED", "UNAUTHORIZED",
    },
}  # fmt: skip

# Operations.get declares no 401/403, yet the session and authorization layers raise them.
RUNTIME_ERRORS = {**{key: set() for key in DECLARED_ERRORS}, "operations.get": {"UNAUTHENTICATED", "UNAUTHORIZED"}}

# operationId -> (resend, effect)
RESEND_AND_EFFECT = {
    "transfers.create": ("harmless-duplicate", "opens-transfer"),
    "files.create_temporary": ("harmless-duplicate", "creates-guest-files"),
    "files.get": ("safe", "reads-guest-files"),
    "files.delete": ("idempotent", "deletes-guest-files"),
    "files.list": ("safe", "reads-guest-files"),
    "files.move": ("never", "writes-guest-files"),
    "files.update": ("never", "writes-guest-files"),
    "directories.create": ("never", "creates-guest-files"),
    "directories.delete": ("idempotent", "deletes-guest-files"),
    "directories.move": ("never", "writes-guest-files"),
    "directories.create_temporary": ("harmless-duplicate", "creates-guest-files"),
    "operations.get": ("safe", "none"),
    "vm.list": ("safe", "none"),
    "guest_file.download": ("never", "reads-guest-files"),
    "guest_file.upload": ("never", "writes-guest-files"),
}

# Request body (component) -> its required members besides `credentials`, and the optional ones.
BODIES = {
    "transfers.create": ({"spec"}, set()),
    "files.create_temporary": ({"prefix", "suffix"}, {"parent_path"}),
    "files.get": (set(), set()),
    "files.delete": (set(), set()),
    "files.list": ({"path"}, {"iteration", "filter"}),
    "files.move": ({"path", "new_path"}, {"overwrite"}),
    "files.update": ({"path", "file_attributes"}, set()),
    "directories.create": ({"path"}, {"create_parents"}),
    "directories.delete": ({"path"}, {"recursive"}),
    "directories.move": ({"path", "new_path"}, set()),
    "directories.create_temporary": ({"prefix", "suffix"}, {"parent_path"}),
}

F = "Vcenter.Vm.Guest.Filesystem."
# schema name -> (required set, {property: (type, format or None)})
SCHEMAS: dict[str, tuple[set[str], dict[str, tuple[str, str | None]]]] = {
    F + "Transfers.CreateSpec": ({"path"}, {"path": ("string", None)}),
    F + "Transfers.FileCreationAttributes": (
        {"size"},
        {"size": ("integer", "int64"), "overwrite": ("boolean", None), "last_modified": ("string", "date-time"),
         "last_accessed": ("string", "date-time")},
    ),
    F + "Transfers.WindowsFileAttributesCreateSpec": (
        set(), {"hidden": ("boolean", None), "read_only": ("boolean", None)},
    ),
    F + "Transfers.PosixFileAttributesCreateSpec": (
        set(), {"owner_id": ("integer", "int64"), "group_id": ("integer", "int64"), "permissions": ("string", None)},
    ),
    F + "Files.Info": ({"type", "size", "attributes"}, {"size": ("integer", "int64")}),
    F + "Files.FileAttributesInfo": (
        {"last_modified", "last_accessed", "filesystem_family"},
        {"last_modified": ("string", "date-time"), "last_accessed": ("string", "date-time"),
         "symlink_target": ("string", None)},
    ),
    F + "Files.WindowsFileAttributesInfo": (
        {"hidden", "read_only", "created"},
        {"hidden": ("boolean", None), "read_only": ("boolean", None), "created": ("string", "date-time")},
    ),
    F + "Files.PosixFileAttributesInfo": (
        {"owner", "group", "permissions"},
        {"owner": ("integer", "int64"), "group": ("integer", "int64"), "permissions": ("string", None)},
    ),
    F + "Files.Summary": ({"filename", "type", "size"}, {"filename": ("string", None), "size": ("integer", "int64")}),
    F + "Files.IterationSpec": (set(), {"size": ("integer", "int64"), "index": ("integer", "int64")}),
    F + "Files.FilterSpec": (set(), {"match_pattern": ("string", None)}),
    F + "Files.ListResult": (
        {"files", "total", "status"},
        {"files": ("array", None), "total": ("integer", "int64"), "start_index": ("integer", "int64"),
         "end_index": ("integer", "int64")},
    ),
    F + "Files.FileAttributesUpdateSpec": (
        set(), {"last_modified": ("string", "date-time"), "last_accessed": ("string", "date-time")},
    ),
    F + "Files.WindowsFileAttributesUpdateSpec": (set(), {"hidden": ("boolean", None), "read_only": ("boolean", None)}),
    F + "Files.PosixFileAttributesUpdateSpec": (
        set(), {"owner_id": ("integer", "int64"), "group_id": ("integer", "int64"), "permissions": ("string", None)},
    ),
    "Vcenter.Vm.Guest.Operations.Info": (
        {"guest_operations_ready", "interactive_guest_operations_ready"},
        {"guest_operations_ready": ("boolean", None), "interactive_guest_operations_ready": ("boolean", None)},
    ),
    "Vcenter.VM.Summary": (
        {"vm", "name", "power_state"},
        {"vm": ("string", None), "name": ("string", None), "cpu_count": ("integer", "int64"),
         "memory_size_MiB": ("integer", "int64")},
    ),
}  # fmt: skip

ENUMS = {
    F + "Files.Type": ["FILE", "DIRECTORY", "SYMLINK"],
    F + "Files.FilesystemFamily": ["WINDOWS", "POSIX"],
    F + "Files.LastIterationStatus": ["READY", "END_OF_DATA"],
    "Vcenter.Vm.Power.State": ["POWERED_OFF", "POWERED_ON", "SUSPENDED"],
}

VM_FILTERS = ["vms", "names", "folders", "datacenters", "hosts", "clusters", "resource_pools", "power_states"]


def operation(doc: dict[str, Any], operation_id: str) -> dict[str, Any]:
    path, method, *_ = FS_OPERATIONS[operation_id]
    return doc["paths"][path][method]


@pytest.mark.parametrize("operation_id", FS_OPERATIONS)
def test_path_key_method_status_privileges_and_tag(doc: dict[str, Any], operation_id: str) -> None:
    _, _, status, privileges, tag = FS_OPERATIONS[operation_id]
    op = operation(doc, operation_id)
    assert op["operationId"] == operation_id
    assert {s for s in op["responses"] if s.startswith("2")} == {status}
    assert op.get("x-vapi-privileges", []) == privileges
    assert op["tags"] == [tag]


@pytest.mark.parametrize(("operation_id", "expected"), sorted(RESEND_AND_EFFECT.items()))
def test_resend_rule_and_effect(doc: dict[str, Any], operation_id: str, expected: tuple[str, str]) -> None:
    op = operation(doc, operation_id)
    assert (op["x-vcenter-guest-resend"], op["x-vcenter-guest-effect"]) == expected


@pytest.mark.parametrize("operation_id", DECLARED_ERRORS)
def test_declared_errors_sit_at_their_statuses(doc: dict[str, Any], operation_id: str) -> None:
    """Every status carries all the errors the bindings declare for it (not the spec's one per status)."""
    op = operation(doc, operation_id)
    assert set(op["x-vapi-errors"]) == DECLARED_ERRORS[operation_id]
    assert set(op["x-vapi-runtime-errors"]) == RUNTIME_ERRORS[operation_id]
    found: dict[str, set[str]] = {}
    for status, response in op["responses"].items():
        if status.startswith("2"):
            continue
        refs = [alt["$ref"] for alt in response["content"]["application/json"]["schema"]["anyOf"]]
        types = {doc["components"]["schemas"][r.rsplit("/", 1)[-1]]["x-vapi-error-type"] for r in refs}
        assert all(STATUS_OF[t] == int(status) for t in types), (status, types)
        found[status] = types
    expected: dict[str, set[str]] = {}
    for error in DECLARED_ERRORS[operation_id] | RUNTIME_ERRORS[operation_id]:
        expected.setdefault(str(STATUS_OF[error]), set()).add(error)
    assert found == expected


@pytest.mark.parametrize(("operation_id", "members"), BODIES.items())
def test_request_bodies_take_credentials_and_the_published_members(
    doc: dict[str, Any], operation_id: str, members: tuple[set[str], set[str]]
) -> None:
    required, optional = members
    body = operation(doc, operation_id)["requestBody"]
    assert body["required"] is True
    schema = resolve(doc, body["content"]["application/json"]["schema"])
    assert set(schema["required"]) == {"credentials"} | required
    assert set(schema["properties"]) == {"credentials"} | required | optional
    assert (
        resolve(doc, schema["properties"]["credentials"])
        is doc["components"]["schemas"]["Vcenter.Vm.Guest.Credentials"]
    )


def test_transfer_create_answers_a_uri_and_hides_it(doc: dict[str, Any]) -> None:
    """The URL's token is a credential: the document marks the answer sensitive for the fuzz reports."""
    schema = operation(doc, "transfers.create")["responses"]["201"]["content"]["application/json"]["schema"]
    assert (schema["type"], schema["format"], schema["x-vcenter-guest-sensitive"]) == ("string", "uri", True)
    spec = doc["components"]["schemas"][F + "Transfers.CreateSpec"]["properties"]
    assert resolve(doc, spec["attributes"]) is doc["components"]["schemas"][F + "Transfers.FileCreationAttributes"]


def test_the_path_of_files_get_and_delete_is_sent_raw(doc: dict[str, Any]) -> None:
    for operation_id in ("files.get", "files.delete"):
        params = {p["name"]: p for p in operation(doc, operation_id)["parameters"]}
        assert params["path"]["x-vcenter-guest-raw-path"] is True
        assert params["path"]["in"] == "path"
        assert params["path"]["required"] is True


def test_only_a_parameter_named_path_is_raw_and_every_one_is(doc: dict[str, Any]) -> None:
    """The generated client quotes a parameter named `path` raw (templates/endpoint_module.py.jinja)."""
    for key, item in doc["paths"].items():
        for method, op in item.items():
            if method in {"servers", "parameters"}:
                continue
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert bool(param.get("x-vcenter-guest-raw-path")) == (param["name"] == "path"), (key, method)


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


@pytest.mark.parametrize(("name", "values"), ENUMS.items())
def test_enums(doc: dict[str, Any], name: str, values: list[str]) -> None:
    assert doc["components"]["schemas"][name]["enum"] == values


def test_vm_list_takes_every_filter_as_a_repeated_query_array(doc: dict[str, Any]) -> None:
    params = operation(doc, "vm.list")["parameters"]
    assert [p["name"] for p in params] == VM_FILTERS
    for param in params:
        assert param["in"] == "query"
        assert not param.get("required", False)
        assert (param["style"], param["explode"], param["schema"]["type"]) == ("form", True, "array")
    power = params[-1]["schema"]["items"]
    assert resolve(doc, power) is doc["components"]["schemas"]["Vcenter.Vm.Power.State"]


def test_the_data_plane_takes_id_and_a_secret_token(doc: dict[str, Any]) -> None:
    for method in ("get", "put"):
        params = {p["name"]: p for p in doc["paths"]["/guestFile"][method]["parameters"]}
        assert set(params) == {"id", "token"}
        assert all(p["in"] == "query" and p["required"] for p in params.values())
        assert params["token"]["schema"]["format"] == "password"
    put = doc["paths"]["/guestFile"]["put"]
    assert set(put["requestBody"]["content"]) == {"application/octet-stream"}


def test_only_the_data_plane_is_served_by_the_esxi_host(doc: dict[str, Any]) -> None:
    """The operation table knows the data plane by its path's own `servers`, nothing else."""
    from vcenter_guest.operations import OperationTable

    table = OperationTable(doc)
    assert {op.id for op in table.values() if op.served_by_host} == {"guest_file.download", "guest_file.upload"}
    assert [s["url"] for s in doc["paths"]["/guestFile"]["servers"]] == ["https://{esxi_host}"]


def test_the_temporary_file_and_directory_link_to_what_uses_them(doc: dict[str, Any]) -> None:
    """Stateful chains start from a path the server made: createTemporary -> get, move, update, delete,
    and a transfer of it."""
    links = operation(doc, "files.create_temporary")["responses"]["200"]["links"]
    by_target = {link["operationId"]: link for link in links.values()}
    assert set(by_target) == {"files.get", "files.delete", "files.move", "files.update", "transfers.create"}
    assert by_target["transfers.create"]["requestBody"]["spec"] == {"path": "$response.body"}
    for target in ("files.get", "files.delete"):
        assert by_target[target]["parameters"] == {"vm": "$request.path.vm", "path": "$response.body"}
    for target in ("files.move", "files.update"):
        assert by_target[target]["requestBody"]["path"] == "$response.body"
    links = operation(doc, "directories.create_temporary")["responses"]["200"]["links"]
    by_target = {link["operationId"]: link for link in links.values()}
    assert set(by_target) == {"files.list", "directories.move", "directories.delete"}
    for link in by_target.values():
        assert link["requestBody"] == {"credentials": "$request.body#/credentials", "path": "$response.body"}
