"""The document encodes the guest services of shared/vsphere-guest-services-facts.md (issue 27):
Environment, Identity, LocalFilesystem, Networking (interfaces, routes), guest Power, VM Power, Tools.

Each table is the facts file written out by hand, not derived from the document, so that an edit to
openapi/ that drops or changes a fact fails here, naming it.
"""

from __future__ import annotations

from typing import Any

import pytest

VM = "/api/vcenter/vm/{vm}"
EXECUTE_NONE: list[str] = []

# operationId -> (path key, method, success status, privileges, vAPI service, vAPI operation)
# fmt: off
GS_OPERATIONS = {
    "environment.get": (f"{VM}/guest/environment/{{name}}?action=get", "post", "200",
                        ["VirtualMachine.GuestOperations.Query"], "com.vmware.vcenter.vm.guest.environment", "get"),
    "environment.list": (f"{VM}/guest/environment?action=list", "post", "200",
                         ["VirtualMachine.GuestOperations.Query"], "com.vmware.vcenter.vm.guest.environment", "list"),
    "identity.get": (f"{VM}/guest/identity", "get", "200", [], "com.vmware.vcenter.vm.guest.identity", "get"),
    "local_filesystem.get": (f"{VM}/guest/local-filesystem", "get", "200", [],
                             "com.vmware.vcenter.vm.guest.local_filesystem", "get"),
    "networking.get": (f"{VM}/guest/networking", "get", "200", [], "com.vmware.vcenter.vm.guest.networking", "get"),
    "interfaces.list": (f"{VM}/guest/networking/interfaces", "get", "200", [],
                        "com.vmware.vcenter.vm.guest.networking.interfaces", "list"),
    "routes.list": (f"{VM}/guest/networking/routes", "get", "200", [],
                    "com.vmware.vcenter.vm.guest.networking.routes", "list"),
    "guest_power.get": (f"{VM}/guest/power", "get", "200", [], "com.vmware.vcenter.vm.guest.power", "get"),
    "guest_power.shutdown": (f"{VM}/guest/power?action=shutdown", "post", "204", [],
                             "com.vmware.vcenter.vm.guest.power", "shutdown"),
    "guest_power.reboot": (f"{VM}/guest/power?action=reboot", "post", "204", [],
                           "com.vmware.vcenter.vm.guest.power", "reboot"),
    "guest_power.standby": (f"{VM}/guest/power?action=standby", "post", "204", [],
                            "com.vmware.vcenter.vm.guest.power", "standby"),
    "power.get": (f"{VM}/power", "get", "200", ["System.Read"], "com.vmware.vcenter.vm.power", "get"),
    "power.start": (f"{VM}/power?action=start", "post", "204", ["VirtualMachine.Interact.PowerOn"],
                    "com.vmware.vcenter.vm.power", "start"),
    "power.stop": (f"{VM}/power?action=stop", "post", "204", ["VirtualMachine.Interact.PowerOff"],
                   "com.vmware.vcenter.vm.power", "stop"),
    "power.suspend": (f"{VM}/power?action=suspend", "post", "204", ["VirtualMachine.Interact.Suspend"],
                      "com.vmware.vcenter.vm.power", "suspend"),
    "power.reset": (f"{VM}/power?action=reset", "post", "204", ["VirtualMachine.Interact.Reset"],
                    "com.vmware.vcenter.vm.power", "reset"),
    "tools.get": (f"{VM}/tools", "get", "200", [], "com.vmware.vcenter.vm.tools", "get"),
}

_ENV = {"400": {"UNSUPPORTED", "NOT_ALLOWED_IN_CURRENT_STATE", "INVALID_ARGUMENT"}, "401": {"UNAUTHENTICATED"},
        "403": {"UNAUTHORIZED"}, "404": {"NOT_FOUND"}, "500": {"RESOURCE_BUSY"}, "503": {"SERVICE_UNAVAILABLE"}}
_REPORT = {"401": {"UNAUTHENTICATED"}, "404": {"NOT_FOUND"}, "500": {"ERROR"}, "503": {"SERVICE_UNAVAILABLE"}}
_GET = {"401": {"UNAUTHENTICATED"}, "404": {"NOT_FOUND"}, "500": {"ERROR"}}
_SOFT = {**_REPORT, "500": {"ERROR", "RESOURCE_BUSY"}}
_HARD = {"401": {"UNAUTHENTICATED"}, "403": {"UNAUTHORIZED"}, "404": {"NOT_FOUND"},
         "503": {"SERVICE_UNAVAILABLE"}, "500": {"ERROR", "RESOURCE_BUSY"}}
# operationId -> error types by status (S's table: ResourceBusy and friends at 500)
ERRORS_BY_STATUS = {
    "environment.get": _ENV,
    "environment.list": _ENV,
    "identity.get": _REPORT, "local_filesystem.get": _REPORT, "networking.get": _REPORT,
    "interfaces.list": _REPORT, "routes.list": _REPORT,
    "guest_power.get": _GET, "tools.get": _GET,
    "guest_power.shutdown": {
        **_SOFT, "400": {"ALREADY_IN_DESIRED_STATE", "NOT_ALLOWED_IN_CURRENT_STATE", "UNSUPPORTED"}},
    "guest_power.reboot": {**_SOFT, "400": {"NOT_ALLOWED_IN_CURRENT_STATE", "UNSUPPORTED"}},
    "guest_power.standby": {
        **_SOFT, "400": {"ALREADY_IN_DESIRED_STATE", "NOT_ALLOWED_IN_CURRENT_STATE", "UNSUPPORTED"}},
    "power.get": {**_HARD, "500": {"ERROR", "RESOURCE_INACCESSIBLE"}},
    "power.start": {**_HARD, "400": {"ALREADY_IN_DESIRED_STATE", "UNSUPPORTED", "RESOURCE_IN_USE"},
                    "500": {"ERROR", "RESOURCE_BUSY", "UNABLE_TO_ALLOCATE_RESOURCE", "RESOURCE_INACCESSIBLE"}},
    "power.stop": {**_HARD, "400": {"ALREADY_IN_DESIRED_STATE"}},
    "power.suspend": {**_HARD, "400": {"ALREADY_IN_DESIRED_STATE", "NOT_ALLOWED_IN_CURRENT_STATE"}},
    "power.reset": {**_HARD, "400": {"NOT_ALLOWED_IN_CURRENT_STATE"}},
}
# the errors vCenter's runtime adds outside the operation (the rest are declared by the bindings)
RUNTIME_ERRORS = {
    "environment.get": {"INVALID_ARGUMENT", "UNAUTHORIZED"},
    "environment.list": {"INVALID_ARGUMENT", "UNAUTHORIZED"},
}

POWER_CHANGES = ["guest_power.shutdown", "guest_power.reboot", "guest_power.standby",
                 "power.start", "power.stop", "power.suspend", "power.reset"]

# schema -> (required, {property: type or $ref target})
SCHEMAS = {
    "Vcenter.Vm.Guest.Identity.Info": ({"name", "family", "full_name", "host_name"},
        {"name": "string", "family": "Vcenter.Vm.GuestOSFamily", "full_name": "Vapi.Std.LocalizableMessage",
         "host_name": "string", "ip_address": "string"}),
    "Vcenter.Vm.Guest.LocalFilesystem.Info": ({"capacity", "free_space"},
        {"capacity": "integer", "free_space": "integer", "filesystem": "string", "mappings": "array"}),
    "Vcenter.Vm.Guest.LocalFilesystem.VirtualDiskMapping": ({"disk"}, {"disk": "string"}),
    "Vcenter.Vm.Guest.Networking.Info": (set(), {"dns_values": "Vcenter.Vm.Guest.DnsAssignedValues",
                                                 "dns": "Vcenter.Vm.Guest.DnsConfigInfo"}),
    "Vcenter.Vm.Guest.DnsAssignedValues": ({"host_name", "domain_name"},
        {"host_name": "string", "domain_name": "string"}),
    "Vcenter.Vm.Guest.DnsConfigInfo": ({"ip_addresses", "search_domains"},
        {"ip_addresses": "array", "search_domains": "array"}),
    "Vcenter.Vm.Guest.DhcpConfigInfo": ({"ipv4_enabled", "ipv6_enabled"},
        {"ipv4_enabled": "boolean", "ipv6_enabled": "boolean"}),
    "Vcenter.Vm.Guest.Networking.Interfaces.Info": (set(),
        {"mac_address": "string", "ip": "Vcenter.Vm.Guest.Networking.Interfaces.IpConfigInfo",
         "dns": "Vcenter.Vm.Guest.DnsConfigInfo", "dns_values": "Vcenter.Vm.Guest.DnsAssignedValues",
         "wins_servers": "array", "nic": "string"}),
    "Vcenter.Vm.Guest.Networking.Interfaces.IpConfigInfo": ({"ip_addresses"},
        {"ip_addresses": "array", "dhcp": "Vcenter.Vm.Guest.DhcpConfigInfo"}),
    "Vcenter.Vm.Guest.Networking.Interfaces.IpAddressInfo": ({"ip_address", "prefix_length", "state"},
        {"ip_address": "string", "prefix_length": "integer",
         "origin": "Vcenter.Vm.Guest.Networking.Interfaces.IpAddressOrigin",
         "state": "Vcenter.Vm.Guest.Networking.Interfaces.IpAddressStatus"}),
    "Vcenter.Vm.Guest.Networking.Routes.Info": ({"network", "prefix_length"},
        {"network": "string", "prefix_length": "integer", "gateway_address": "string", "interface_index": "integer"}),
    "Vcenter.Vm.Guest.Power.Info": ({"state", "operations_ready"},
        {"state": "Vcenter.Vm.Guest.Power.State", "operations_ready": "boolean"}),
    "Vcenter.Vm.Power.Info": ({"state"}, {"state": "Vcenter.Vm.Power.State", "clean_power_off": "boolean"}),
    "Vcenter.Vm.Tools.Info": ({"auto_update_supported", "upgrade_policy", "run_state"},
        {"auto_update_supported": "boolean", "install_attempt_count": "integer", "error": "object",
         "version_number": "integer", "version": "string", "upgrade_policy": "Vcenter.Vm.Tools.UpgradePolicy",
         "version_status": "Vcenter.Vm.Tools.VersionStatus", "install_type": "Vcenter.Vm.Tools.ToolsInstallType",
         "run_state": "Vcenter.Vm.Tools.RunState", "guest_reboot_status": "Vcenter.Vm.Tools.GuestRebootStatus"}),
    "Vcenter.Vm.Tools.GuestRebootStatus": ({"reboot_requested"},
        {"reboot_requested": "boolean", "requesting_components": "array", "request_timestamp": "string"}),
    "Vcenter.Vm.Guest.Environment.GetRequestBody": ({"credentials"}, {"credentials": "Vcenter.Vm.Guest.Credentials"}),
    "Vcenter.Vm.Guest.Environment.ListRequestBody": ({"credentials", "names"},
        {"credentials": "Vcenter.Vm.Guest.Credentials", "names": "array"}),
}

ENUMS = {
    "Vcenter.Vm.GuestOSFamily": ["WINDOWS", "LINUX", "NETWARE", "SOLARIS", "DARWIN", "OTHER"],
    "Vcenter.Vm.Guest.Networking.Interfaces.IpAddressOrigin": ["OTHER", "MANUAL", "DHCP", "LINKLAYER", "RANDOM"],
    "Vcenter.Vm.Guest.Networking.Interfaces.IpAddressStatus":
        ["PREFERRED", "DEPRECATED", "INVALID", "INACCESSIBLE", "UNKNOWN", "TENTATIVE", "DUPLICATE"],
    "Vcenter.Vm.Guest.Power.State": ["RUNNING", "SHUTTING_DOWN", "RESETTING", "STANDBY", "NOT_RUNNING", "UNAVAILABLE"],
    "Vcenter.Vm.Tools.RunState": ["NOT_RUNNING", "RUNNING", "EXECUTING_SCRIPTS"],
    "Vcenter.Vm.Tools.UpgradePolicy": ["MANUAL", "UPGRADE_AT_POWER_CYCLE"],
    "Vcenter.Vm.Tools.VersionStatus": ["NOT_INSTALLED", "CURRENT", "UNMANAGED", "TOO_OLD_UNSUPPORTED",
                                       "SUPPORTED_OLD", "SUPPORTED_NEW", "TOO_NEW", "BLACKLISTED"],
    "Vcenter.Vm.Tools.ToolsInstallType": ["UNKNOWN", "MSI", "TAR", "OSP", "OPEN_VM_TOOLS"],
}
# fmt: on


def operation(doc: dict[str, Any], operation_id: str) -> dict[str, Any]:
    path, method, *_ = GS_OPERATIONS[operation_id]
    return doc["paths"][path][method]


@pytest.mark.parametrize("operation_id", GS_OPERATIONS)
def test_operation_sits_at_its_path_with_its_status_privileges_and_vapi_name(
    doc: dict[str, Any], operation_id: str
) -> None:
    _, _, status, privileges, service, name = GS_OPERATIONS[operation_id]
    op = operation(doc, operation_id)
    assert op["operationId"] == operation_id
    assert {s for s in op["responses"] if s.startswith("2")} == {status}
    assert op["x-vapi-privileges"] == privileges
    assert op["x-vcenter-guest-vapi"] == {"service": service, "operation": name}


@pytest.mark.parametrize("operation_id", GS_OPERATIONS)
def test_errors_sit_at_their_statuses_and_are_declared_or_added_by_the_runtime(
    doc: dict[str, Any], operation_id: str
) -> None:
    op = operation(doc, operation_id)
    found: dict[str, set[str]] = {}
    for status, response in op["responses"].items():
        if status.startswith("2"):
            continue
        refs = [alt["$ref"] for alt in response["content"]["application/json"]["schema"]["anyOf"]]
        found[status] = {doc["components"]["schemas"][r.rsplit("/", 1)[-1]]["x-vapi-error-type"] for r in refs}
    assert found == ERRORS_BY_STATUS[operation_id]
    runtime = RUNTIME_ERRORS.get(operation_id, set())
    assert set(op["x-vapi-runtime-errors"]) == runtime
    assert set(op["x-vapi-errors"]) == set().union(*found.values()) - runtime


@pytest.mark.parametrize("operation_id", GS_OPERATIONS)
def test_the_generic_error_comes_last_so_a_typed_error_is_read_as_its_type(
    doc: dict[str, Any], operation_id: str
) -> None:
    """`Vapi.Std.Errors.Error` accepts any error_type: before a specific schema it would shadow it."""
    for response in operation(doc, operation_id)["responses"].values():
        refs = [
            alt["$ref"]
            for alt in response.get("content", {}).get("application/json", {}).get("schema", {}).get("anyOf", [])
        ]
        if "#/components/schemas/Vapi.Std.Errors.Error" in refs:
            assert refs[-1] == "#/components/schemas/Vapi.Std.Errors.Error"


@pytest.mark.parametrize("operation_id", GS_OPERATIONS)
def test_power_changes_are_never_resent_and_every_other_new_operation_is_a_safe_read(
    doc: dict[str, Any], operation_id: str
) -> None:
    op = operation(doc, operation_id)
    expected = ("never", "changes-power") if operation_id in POWER_CHANGES else ("safe", "none")
    assert (op["x-vcenter-guest-resend"], op["x-vcenter-guest-effect"]) == expected


def test_only_environment_takes_guest_credentials_and_the_others_no_body(doc: dict[str, Any]) -> None:
    with_body = {op_id for op_id in GS_OPERATIONS if "requestBody" in operation(doc, op_id)}
    assert with_body == {"environment.get", "environment.list"}


def test_environment_values_are_kept_out_of_reprs(doc: dict[str, Any]) -> None:
    for op_id in ("environment.get", "environment.list"):
        schema = operation(doc, op_id)["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["x-vcenter-guest-sensitive"] is True


@pytest.mark.parametrize(("name", "expected"), SCHEMAS.items())
def test_schema_required_sets_and_property_types(
    doc: dict[str, Any], name: str, expected: tuple[set[str], dict[str, str]]
) -> None:
    schema = doc["components"]["schemas"][name]
    required, properties = expected
    assert set(schema.get("required", [])) == required
    found = {}
    for prop, body in schema["properties"].items():
        target = body["allOf"][0]["$ref"].rsplit("/", 1)[-1] if "allOf" in body else body["type"]
        found[prop] = target
    assert found == properties


@pytest.mark.parametrize(("name", "values"), ENUMS.items())
def test_enum_values(doc: dict[str, Any], name: str, values: list[str]) -> None:
    assert doc["components"]["schemas"][name]["enum"] == values
