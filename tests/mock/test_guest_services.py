"""The mock's guest services (issue 27): the Tools' reports (Identity, LocalFilesystem, Networking,
Interfaces, Routes), Environment, guest Power, VM Power and Tools, with VMware's error for each state
(shared/vsphere-guest-services-facts.md). Every answer is checked against the document (conftest)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from vcenter_guest.mock import DEMO_INVENTORY

from .conftest import CREDS

VM = "/api/vcenter/vm/{vm}"
TOOLS_DOWN = "com.vmware.api.vcenter.vm.guest.tools_not_running"
REPORTS = ["identity", "local-filesystem", "networking", "networking/interfaces", "routes"]


def _get(api: Any, route: str, vm: str = "vm-42") -> Any:
    if not api.session_id:
        api.login()
    route = "networking/routes" if route == "routes" else route
    return api.request("GET", VM.replace("{vm}", vm) + route, headers=api.headers())


def _post(api: Any, route: str, vm: str = "vm-42", **kwargs: Any) -> Any:
    if not api.session_id:
        api.login()
    return api.request("POST", VM.replace("{vm}", vm) + route, headers=api.headers(), **kwargs)


def _inventory(**changes: Any) -> dict[str, Any]:
    inventory = copy.deepcopy(DEMO_INVENTORY)
    inventory["vms"][0].update(changes)
    return inventory


def test_identity_reports_a_linux_and_a_windows_guest_by_family_host_name_and_address(api: Any) -> None:
    linux = _get(api, "/guest/identity").json()
    windows = _get(api, "/guest/identity", "vm-43").json()
    assert (linux["family"], linux["host_name"], linux["ip_address"]) == ("LINUX", "demo-linux", "192.0.2.44")
    assert linux["full_name"]["default_message"].startswith("Debian")
    assert (windows["family"], windows["name"]) == ("WINDOWS", "WINDOWS_SERVER_2021")


def test_the_inventory_names_the_os_host_disks_nics_and_routes(make_api: Any) -> None:
    api = make_api(
        _inventory(
            guest_os="UBUNTU_64",
            host_name="web-01",
            filesystems={"/data": {"capacity": 1000, "free_space": 400, "filesystem": "xfs", "disks": ["2001"]}},
            nics=[{"mac_address": "00:50:56:00:00:01", "addresses": ["10.1.2.3/16", "2001:db8::5/64"], "nic": "4001"}],
            routes=[{"network": "10.1.0.0", "prefix_length": 16, "interface_index": 0}],
        )
    )
    identity = _get(api, "/guest/identity").json()
    assert (identity["name"], identity["host_name"], identity["ip_address"]) == ("UBUNTU_64", "web-01", "10.1.2.3")
    disks = _get(api, "/guest/local-filesystem").json()
    assert disks == {
        "/data": {"capacity": 1000, "free_space": 400, "filesystem": "xfs", "mappings": [{"disk": "2001"}]}
    }
    [nic] = _get(api, "/guest/networking/interfaces").json()
    addresses = [(a["ip_address"], a["prefix_length"], a["origin"]) for a in nic["ip"]["ip_addresses"]]
    assert addresses == [("10.1.2.3", 16, "MANUAL"), ("2001:db8::5", 64, "MANUAL")]
    assert "dhcp" not in nic["ip"]
    assert nic["nic"] == "4001"
    assert _get(api, "/guest/networking/routes").json() == [
        {"network": "10.1.0.0", "prefix_length": 16, "interface_index": 0}
    ]


def test_the_local_filesystem_shows_what_files_written_through_the_api_take(api: Any) -> None:
    before = _get(api, "/guest/local-filesystem").json()["/"]
    api.upload("/tmp/big", b"x" * 100_000)
    after = _get(api, "/guest/local-filesystem").json()["/"]
    assert after["capacity"] == before["capacity"]
    assert 100_000 <= before["free_space"] - after["free_space"] <= 100_000 + 1024  # the file, and its entry


def test_default_routes_lead_through_the_first_network_of_each_nic(api: Any) -> None:
    routes = _get(api, "/guest/networking/routes", "vm-43").json()
    assert routes == [
        {"network": "0.0.0.0", "prefix_length": 0, "gateway_address": "192.0.2.1", "interface_index": 0},
        {"network": "192.0.2.0", "prefix_length": 24, "interface_index": 0},
    ]
    assert _get(api, "/guest/networking", "vm-43").json()["dns_values"] == {
        "host_name": "demo-windows",
        "domain_name": "example.com",
    }


@pytest.mark.parametrize("route", REPORTS)
@pytest.mark.parametrize("vm", ["vm-44", "vm-45", "vm-46"], ids=["powered-off", "suspended", "tools-not-running"])
def test_the_tools_reports_are_service_unavailable_while_the_tools_do_not_run(api: Any, route: str, vm: str) -> None:
    path = f"/guest/{route}" if route != "routes" else "/guest/networking/routes"
    api.expect_error(_get(api, path, vm), 503, "SERVICE_UNAVAILABLE", TOOLS_DOWN, args=[vm])


@pytest.mark.parametrize("route", REPORTS)
def test_an_unknown_vm_has_no_reports(api: Any, route: str) -> None:
    path = f"/guest/{route}" if route != "routes" else "/guest/networking/routes"
    api.expect_error(_get(api, path, "vm-404"), 404, "NOT_FOUND", "com.vmware.vcenter.vm.not_found")


def test_environment_list_gives_the_names_asked_for_and_leaves_out_unset_ones(api: Any) -> None:
    body = {"credentials": CREDS, "names": ["HOME", "NOT_SET", "PATH"]}
    found = _post(api, "/guest/environment?action=list", json=body).json()
    assert set(found) == {"HOME", "PATH"}
    everything = _post(api, "/guest/environment?action=list", json={"credentials": CREDS, "names": []}).json()
    assert everything["USER"] == "root"
    assert len(everything) >= 5


def test_environment_get_reads_one_variable_and_is_not_found_when_unset(api: Any) -> None:
    path = _post(api, "/guest/environment/PATH?action=get", json={"credentials": CREDS})
    assert path.status_code == 200
    assert "/usr/bin" in path.json()
    unset = _post(api, "/guest/environment/NOT_SET?action=get", json={"credentials": CREDS})
    api.expect_error(unset, 404, "NOT_FOUND", "com.vmware.vcenter.vm.guest.environment.not_found")


def test_windows_environment_names_ignore_case(api: Any) -> None:
    windows = {**CREDS}
    value = _post(api, "/guest/environment/path?action=get", "vm-43", json={"credentials": windows}).json()
    assert value.startswith("C:\\Windows")


def test_environment_is_a_guest_operation_wrong_credentials_and_a_stopped_vm_fail(api: Any) -> None:
    wrong = {**CREDS, "password": "nope"}
    api.expect_error(
        _post(api, "/guest/environment/PATH?action=get", json={"credentials": wrong}),
        401,
        "UNAUTHENTICATED",
        "com.vmware.vcenter.vm.guest.invalid_guest_login",
    )
    api.expect_error(
        _post(api, "/guest/environment/PATH?action=get", "vm-44", json={"credentials": CREDS}),
        400,
        "NOT_ALLOWED_IN_CURRENT_STATE",
        "com.vmware.vcenter.vm.guest.vm_not_running",
    )


def test_an_interactive_session_reads_the_logged_in_users_environment(api: Any) -> None:
    svc = {**CREDS, "user_name": "svc", "password": "svc-pass", "interactive_session": True}
    system = {**svc, "interactive_session": False}
    body = {"names": ["HOME", "USER"]}
    assert _post(api, "/guest/environment?action=list", json={**body, "credentials": svc}).json() == {
        "HOME": "/home/svc",
        "USER": "svc",
    }
    assert _post(api, "/guest/environment?action=list", json={**body, "credentials": system}).json()["USER"] == "root"


def test_environment_needs_the_query_privilege(api: Any) -> None:
    api.login("operator@vsphere.local", "Oper!23")
    api.expect_error(
        _post(api, "/guest/environment?action=list", json={"credentials": CREDS, "names": []}),
        403,
        "UNAUTHORIZED",
        "vapi.security.authorization.invalid",
    )


def _power(api: Any, vm: str = "vm-42") -> dict[str, Any]:
    response = _get(api, "/power", vm)
    assert response.status_code == 200
    state: dict[str, Any] = response.json()
    return state


def test_a_power_cycle_walks_the_states_and_the_tools_take_their_boot_time(api: Any) -> None:
    assert _post(api, "/power?action=stop").status_code == 204
    assert _power(api) == {"state": "POWERED_OFF", "clean_power_off": False}
    assert _get(api, "/tools").json()["run_state"] == "NOT_RUNNING"
    assert _post(api, "/power?action=start").status_code == 204
    assert _power(api) == {"state": "POWERED_ON"}
    # The demo VMs' Tools start a second after a power-on: until then they report nothing.
    api.expect_error(_get(api, "/guest/identity"), 503, "SERVICE_UNAVAILABLE", TOOLS_DOWN)
    assert _get(api, "/guest/power").json() == {"state": "UNAVAILABLE", "operations_ready": False}
    assert _get(api, "/guest/operations").json()["guest_operations_ready"] is False
    api.clock.advance(1.0)
    assert _get(api, "/tools").json()["run_state"] == "RUNNING"
    assert _get(api, "/guest/identity").status_code == 200
    assert _get(api, "/guest/power").json() == {"state": "RUNNING", "operations_ready": True}


@pytest.mark.parametrize(
    ("vm", "action", "error_type"),
    [
        ("vm-42", "start", "ALREADY_IN_DESIRED_STATE"),
        ("vm-44", "stop", "ALREADY_IN_DESIRED_STATE"),
        ("vm-45", "suspend", "ALREADY_IN_DESIRED_STATE"),
        ("vm-44", "suspend", "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("vm-44", "reset", "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("vm-45", "reset", "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("vm-47", "stop", "RESOURCE_BUSY"),
    ],
)
def test_vm_power_answers_vmwares_error_for_each_state(api: Any, vm: str, action: str, error_type: str) -> None:
    status = 500 if error_type == "RESOURCE_BUSY" else 400
    api.expect_error(
        _post(api, f"/power?action={action}", vm),
        status,
        error_type,
        f"com.vmware.vcenter.vm.power.{error_type.lower()}",
    )


def test_a_suspended_vm_starts_and_an_on_vm_suspends(api: Any) -> None:
    assert _post(api, "/power?action=start", "vm-45").status_code == 204
    assert _power(api, "vm-45")["state"] == "POWERED_ON"
    assert _post(api, "/power?action=suspend", "vm-45").status_code == 204
    assert _power(api, "vm-45")["state"] == "SUSPENDED"


def test_a_template_cannot_be_powered_on(make_api: Any) -> None:
    api = make_api(_inventory(power_state="POWERED_OFF", template=True))
    api.expect_error(_post(api, "/power?action=start"), 400, "UNSUPPORTED", "com.vmware.vcenter.vm.power.unsupported")


def test_power_changes_need_the_interact_privileges_and_reading_the_state_does_not(api: Any) -> None:
    api.login("auditor@vsphere.local", "Audit!23")
    assert _power(api)["state"] == "POWERED_ON"
    for action in ("start", "stop", "suspend", "reset"):
        api.expect_error(
            _post(api, f"/power?action={action}"), 403, "UNAUTHORIZED", "vapi.security.authorization.invalid"
        )


def test_a_reset_ends_the_guests_programs_and_restarts_its_tools(api: Any) -> None:
    pid = api.create("/bin/sleep", arguments="100")
    assert _post(api, "/power?action=reset").status_code == 204
    assert _power(api)["state"] == "POWERED_ON"
    assert _get(api, "/tools").json()["run_state"] == "NOT_RUNNING"
    api.clock.advance(1.0)
    listed = api.op("list").json()
    assert pid not in [p["pid"] for p in listed]


def test_a_guest_shutdown_takes_its_time_then_the_vm_is_cleanly_off(api: Any) -> None:
    assert _post(api, "/guest/power?action=shutdown").status_code == 204
    assert _get(api, "/guest/power").json() == {"state": "SHUTTING_DOWN", "operations_ready": False}
    api.expect_error(
        _post(api, "/guest/power?action=reboot"), 500, "RESOURCE_BUSY", "com.vmware.vcenter.vm.power.resource_busy"
    )
    assert _power(api)["state"] == "POWERED_ON"
    api.clock.advance(0.5)
    assert _power(api) == {"state": "POWERED_OFF", "clean_power_off": True}
    assert _get(api, "/guest/power").json() == {"state": "NOT_RUNNING", "operations_ready": False}


def test_a_guest_reboot_keeps_the_vm_on_and_restarts_the_tools(api: Any) -> None:
    assert _post(api, "/guest/power?action=reboot").status_code == 204
    assert _get(api, "/guest/power").json()["state"] == "RESETTING"
    api.clock.advance(0.5)
    assert _power(api)["state"] == "POWERED_ON"
    assert _get(api, "/tools").json()["run_state"] == "NOT_RUNNING"
    api.clock.advance(1.0)
    assert _get(api, "/tools").json()["run_state"] == "RUNNING"


def test_a_guest_standby_suspends_the_vm(api: Any) -> None:
    assert _post(api, "/guest/power?action=standby").status_code == 204
    api.clock.advance(0.5)
    assert _power(api)["state"] == "SUSPENDED"


@pytest.mark.parametrize(
    ("vm", "action", "error_type"),
    [
        ("vm-44", "shutdown", "ALREADY_IN_DESIRED_STATE"),
        ("vm-44", "reboot", "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("vm-44", "standby", "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("vm-45", "shutdown", "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("vm-45", "reboot", "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("vm-45", "standby", "ALREADY_IN_DESIRED_STATE"),
        ("vm-46", "shutdown", "SERVICE_UNAVAILABLE"),
        ("vm-46", "reboot", "SERVICE_UNAVAILABLE"),
        ("vm-47", "standby", "RESOURCE_BUSY"),
    ],
)
def test_guest_power_answers_vmwares_error_for_each_state(api: Any, vm: str, action: str, error_type: str) -> None:
    status = {"SERVICE_UNAVAILABLE": 503, "RESOURCE_BUSY": 500}.get(error_type, 400)
    response = _post(api, f"/guest/power?action={action}", vm)
    assert response.status_code == status, response.text
    assert response.json()["error_type"] == error_type


def test_tools_report_open_vm_tools_on_linux_and_msi_on_windows(api: Any) -> None:
    linux, windows = _get(api, "/tools").json(), _get(api, "/tools", "vm-43").json()
    assert (linux["install_type"], linux["version_status"], linux["version_number"]) == (
        "OPEN_VM_TOOLS",
        "UNMANAGED",
        12448,
    )
    assert (windows["install_type"], windows["run_state"]) == ("MSI", "RUNNING")
    assert _get(api, "/tools", "vm-46").json()["run_state"] == "NOT_RUNNING"


@pytest.mark.parametrize(
    ("route", "allow"),
    [
        ("/power", "GET"),
        ("/power?action=start", "POST"),
        ("/guest/power", "GET"),
        ("/guest/power?action=reboot", "POST"),
    ],
)
def test_a_method_the_path_key_lacks_is_405_naming_the_methods_of_that_key(api: Any, route: str, allow: str) -> None:
    """The document lists methods per path key: `.../power` is GET only, though POST `?action=` shares its path."""
    api.login()
    response = api.request("PUT", VM.replace("{vm}", "vm-42") + route, headers=api.headers())
    assert response.status_code == 405
    assert response.headers["allow"] == allow


def test_get_with_the_action_of_a_post_of_the_same_path_is_405_not_power_get(api: Any) -> None:
    """`GET .../power?action=start` names POST's path key: it is not Power.get with a stray query."""
    api.login()
    response = api.request("GET", VM.replace("{vm}", "vm-42") + "/power?action=start", headers=api.headers())
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert _get(api, "/power?unrelated=1").status_code == 200
