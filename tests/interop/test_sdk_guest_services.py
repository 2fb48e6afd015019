"""Issue 27's guest services through the official SDK's default client (vAPI JSON-RPC on `POST /api`),
as an SDK user writes them: `client.vcenter.vm.guest.Identity.get(vm)`, `client.vcenter.vm.Power.start(vm)`,
the stubs `create_vsphere_client` builds, nothing switched or patched. Each answer is checked as the
SDK's binding types it (its structures, enums, optional fields, lists and maps), each error by the
exception class the SDK raises and its `error_type`: the errors the document gives the operation."""

from __future__ import annotations

from typing import Any

import pytest
from com.vmware.vapi.std import errors_client as std
from com.vmware.vcenter import vm_client
from com.vmware.vcenter.vm import guest_client
from com.vmware.vcenter.vm.guest import networking_client
from com.vmware.vcenter.vm.guest_client import Credentials
from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_VM
from vmware.vapi.vsphere.client import create_vsphere_client

ROOT = Credentials(
    interactive_session=False,
    type=Credentials.Type.USERNAME_PASSWORD,
    user_name=DEMO_GUEST_USER,
    password=DEMO_GUEST_PASSWORD,
)
WRONG = Credentials(
    interactive_session=False, type=Credentials.Type.USERNAME_PASSWORD, user_name=DEMO_GUEST_USER, password="nope"
)
OTHER = "vm-43"  # powered on, Tools running, not the one other tests lean on
POWERED_OFF = "vm-44"
SUSPENDED = "vm-45"
TOOLS_NOT_RUNNING = "vm-46"
BUSY = "vm-47"
TOOLS_UNSUPPORTED = "vm-48"
UNKNOWN = "vm-nope"


@pytest.fixture
def client(sdk_mock: Any) -> Any:
    """The SDK's vSphere client, logged in to the mock as its administrator."""
    return create_vsphere_client(sdk_mock.server, DEMO_API_USER, DEMO_API_PASSWORD, session=sdk_mock.http())


@pytest.fixture
def operator(sdk_mock: Any) -> Any:
    """The SDK's client logged in as a user who may execute in guests but not query them."""
    return create_vsphere_client(sdk_mock.server, "operator@vsphere.local", "Oper!23", session=sdk_mock.http())


@pytest.fixture
def auditor(sdk_mock: Any) -> Any:
    """The SDK's client logged in as a user who may only query (no power changes)."""
    return create_vsphere_client(sdk_mock.server, "auditor@vsphere.local", "Audit!23", session=sdk_mock.http())


def raises(kind: type[Exception], error_type: str) -> Any:
    class _Check:
        def __enter__(self) -> None:
            self.inner = pytest.raises(kind)
            self.info = self.inner.__enter__()

        def __exit__(self, *exc: Any) -> bool:
            handled = bool(self.inner.__exit__(*exc))  # raises itself when the class is not `kind`
            assert str(self.info.value.error_type) == error_type, self.info.value
            return handled

    return _Check()


# -- environment -------------------------------------------------------------------------------------------


def test_environment_list_and_get_answer_the_guest_variables_as_a_map_and_a_string(client: Any) -> None:
    environment = client.vcenter.vm.guest.Environment
    everything = environment.list(DEMO_VM, ROOT, set())
    assert isinstance(everything, dict)
    assert everything["USER"] == "root"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in everything.items())
    assert environment.list(DEMO_VM, ROOT, {"HOME", "USER"}) == {"HOME": "/root", "USER": "root"}
    assert environment.get(DEMO_VM, ROOT, "PATH") == everything["PATH"]


@pytest.mark.parametrize(
    ("vm", "kind", "error_type"),
    [
        (UNKNOWN, std.NotFound, "NOT_FOUND"),
        (TOOLS_NOT_RUNNING, std.ServiceUnavailable, "SERVICE_UNAVAILABLE"),
        (BUSY, std.ResourceBusy, "RESOURCE_BUSY"),
        (TOOLS_UNSUPPORTED, std.Unsupported, "UNSUPPORTED"),
    ],
    ids=["vm-not-found", "tools-not-running", "busy", "tools-unsupported"],
)  # fmt: skip
def test_environment_list_and_get_raise_the_class_of_each_error(
    client: Any, vm: str, kind: type[Exception], error_type: str
) -> None:
    with raises(kind, error_type):
        client.vcenter.vm.guest.Environment.list(vm, ROOT, set())
    with raises(kind, error_type):
        client.vcenter.vm.guest.Environment.get(vm, ROOT, "PATH")


def test_environment_errors_of_credentials_privileges_and_unknown_variables(client: Any, operator: Any) -> None:
    environment = client.vcenter.vm.guest.Environment
    with raises(std.NotFound, "NOT_FOUND"):
        environment.get(DEMO_VM, ROOT, "NO_SUCH_VARIABLE")
    with raises(std.Unauthenticated, "UNAUTHENTICATED"):
        environment.list(DEMO_VM, WRONG, set())
    with raises(std.Unauthorized, "UNAUTHORIZED"):
        operator.vcenter.vm.guest.Environment.get(DEMO_VM, ROOT, "PATH")


# -- identity, local file systems, networking ---------------------------------------------------------------


def test_identity_get_answers_the_guest_os_with_its_enums_and_localizable_full_name(client: Any) -> None:
    info = client.vcenter.vm.guest.Identity.get(DEMO_VM)
    assert isinstance(info, guest_client.Identity.Info)
    assert str(info.family) == "LINUX"
    assert str(info.name) == "DEBIAN_12_64"
    assert info.full_name.default_message == "Debian GNU/Linux 12 (64-bit)"
    assert info.host_name == "demo-linux"
    assert info.ip_address == "192.0.2.44"


def test_local_filesystem_get_answers_a_map_of_mount_points_to_structures_with_disk_mappings(client: Any) -> None:
    mounts = client.vcenter.vm.guest.LocalFilesystem.get(DEMO_VM)
    assert isinstance(mounts, dict)
    root = mounts["/"]
    assert isinstance(root, guest_client.LocalFilesystem.Info)
    assert root.capacity >= root.free_space > 0
    assert root.filesystem == "ext4"
    assert [mapping.disk for mapping in root.mappings] == ["2000"]
    assert all(isinstance(m, guest_client.LocalFilesystem.VirtualDiskMapping) for m in root.mappings)


def test_networking_get_answers_the_guest_dns(client: Any) -> None:
    info = client.vcenter.vm.guest.Networking.get(DEMO_VM)
    assert isinstance(info, guest_client.Networking.Info)
    assert info.dns_values.host_name == "demo-linux"
    assert info.dns.ip_addresses == ["192.0.2.53"]
    assert info.dns.search_domains == ["example.com"]


def test_interfaces_list_answers_a_list_of_structures_with_ip_addresses_and_their_enums(client: Any) -> None:
    interfaces = client.vcenter.vm.guest.networking.Interfaces.list(DEMO_VM)
    assert len(interfaces) == 1
    (nic,) = interfaces
    assert isinstance(nic, networking_client.Interfaces.Info)
    assert nic.nic == "4000"
    assert nic.mac_address == "00:50:56:aa:bb:2c"
    assert nic.dns is None  # an optional field left unset
    addresses = {a.ip_address: a for a in nic.ip.ip_addresses}
    assert addresses["192.0.2.44"].prefix_length == 24
    assert addresses["192.0.2.44"].origin == networking_client.Interfaces.IpAddressOrigin.DHCP
    assert addresses["fe80::250:56ff:feaa:bb2c"].state == networking_client.Interfaces.IpAddressStatus.PREFERRED
    assert nic.ip.dhcp.ipv4_enabled is True


def test_routes_list_answers_routes_with_and_without_a_gateway(client: Any) -> None:
    routes = client.vcenter.vm.guest.networking.Routes.list(DEMO_VM)
    assert all(isinstance(route, networking_client.Routes.Info) for route in routes)
    default = next(route for route in routes if route.prefix_length == 0)
    assert default.network == "0.0.0.0"
    assert default.gateway_address == "192.0.2.1"
    assert any(route.gateway_address is None for route in routes)


@pytest.mark.parametrize(
    ("vm", "kind", "error_type"),
    [
        (UNKNOWN, std.NotFound, "NOT_FOUND"),
        (TOOLS_NOT_RUNNING, std.ServiceUnavailable, "SERVICE_UNAVAILABLE"),
        (POWERED_OFF, std.ServiceUnavailable, "SERVICE_UNAVAILABLE"),
    ],
    ids=["vm-not-found", "tools-not-running", "powered-off"],
)  # fmt: skip
def test_identity_local_filesystem_networking_interfaces_and_routes_raise_the_class_of_each_error(
    client: Any, vm: str, kind: type[Exception], error_type: str
) -> None:
    guest = client.vcenter.vm.guest
    with raises(kind, error_type):
        guest.Identity.get(vm)
    with raises(kind, error_type):
        guest.LocalFilesystem.get(vm)
    with raises(kind, error_type):
        guest.Networking.get(vm)
    with raises(kind, error_type):
        guest.networking.Interfaces.list(vm)
    with raises(kind, error_type):
        guest.networking.Routes.list(vm)


# -- guest power ---------------------------------------------------------------------------------------------


def test_guest_power_get_answers_the_guest_state_and_whether_it_takes_operations(client: Any) -> None:
    power = client.vcenter.vm.guest.Power
    running = power.get(DEMO_VM)
    assert isinstance(running, guest_client.Power.Info)
    assert running.state == guest_client.Power.State.RUNNING
    assert running.operations_ready is True
    off = power.get(POWERED_OFF)
    assert off.state == guest_client.Power.State.NOT_RUNNING
    assert not off.operations_ready
    with raises(std.NotFound, "NOT_FOUND"):
        power.get(UNKNOWN)


def test_guest_power_reboot_and_standby_are_accepted_by_a_running_guest(client: Any) -> None:
    power = client.vcenter.vm.guest.Power
    assert power.reboot(OTHER) is None
    assert power.standby(DEMO_VM) is None


def test_guest_power_shutdown_is_accepted_by_a_running_guest(client: Any) -> None:
    assert client.vcenter.vm.guest.Power.shutdown(OTHER) is None


@pytest.mark.parametrize(
    ("operation", "vm", "kind", "error_type"),
    [
        # VMware's binding (guest_client.Power): shutdown of a powered-off guest is already done, of a
        # suspended one not allowed; standby the other way round; reboot of either is not allowed.
        ("shutdown", POWERED_OFF, std.AlreadyInDesiredState, "ALREADY_IN_DESIRED_STATE"),
        ("shutdown", SUSPENDED, std.NotAllowedInCurrentState, "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("reboot", POWERED_OFF, std.NotAllowedInCurrentState, "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("reboot", SUSPENDED, std.NotAllowedInCurrentState, "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("standby", POWERED_OFF, std.NotAllowedInCurrentState, "NOT_ALLOWED_IN_CURRENT_STATE"),
        ("standby", SUSPENDED, std.AlreadyInDesiredState, "ALREADY_IN_DESIRED_STATE"),
        *[
            (operation, vm, kind, error_type)
            for operation in ("shutdown", "reboot", "standby")
            for vm, kind, error_type in (
                (UNKNOWN, std.NotFound, "NOT_FOUND"),
                (TOOLS_NOT_RUNNING, std.ServiceUnavailable, "SERVICE_UNAVAILABLE"),
                (BUSY, std.ResourceBusy, "RESOURCE_BUSY"),
            )
        ],
    ],
)  # fmt: skip
def test_guest_power_shutdown_reboot_and_standby_raise_the_class_of_each_error(
    client: Any, operation: str, vm: str, kind: type[Exception], error_type: str
) -> None:
    with raises(kind, error_type):
        getattr(client.vcenter.vm.guest.Power, operation)(vm)


def test_guest_power_operations_leave_the_guest_busy_until_they_are_done(client: Any) -> None:
    power = client.vcenter.vm.guest.Power
    power.reboot(OTHER)
    with raises(std.ResourceBusy, "RESOURCE_BUSY"):
        power.shutdown(OTHER)


# -- VM power ---------------------------------------------------------------------------------------------


def test_vm_power_start_stop_suspend_reset_move_the_state_power_get_reports(client: Any) -> None:
    power, state = client.vcenter.vm.Power, vm_client.Power.State
    assert isinstance(power.get(OTHER), vm_client.Power.Info)
    assert power.get(OTHER).state == state.POWERED_ON
    power.stop(OTHER)
    stopped = power.get(OTHER)
    assert stopped.state == state.POWERED_OFF
    assert stopped.clean_power_off is not None
    power.start(OTHER)
    assert power.get(OTHER).state == state.POWERED_ON
    power.suspend(OTHER)
    assert power.get(OTHER).state == state.SUSPENDED
    power.start(OTHER)
    assert power.get(OTHER).state == state.POWERED_ON
    power.reset(OTHER)
    assert power.get(OTHER).state == state.POWERED_ON


def test_vm_power_operations_raise_the_class_of_each_error(client: Any, auditor: Any) -> None:
    power = client.vcenter.vm.Power
    with raises(std.AlreadyInDesiredState, "ALREADY_IN_DESIRED_STATE"):
        power.start(DEMO_VM)
    with raises(std.AlreadyInDesiredState, "ALREADY_IN_DESIRED_STATE"):
        power.stop(POWERED_OFF)
    with raises(std.AlreadyInDesiredState, "ALREADY_IN_DESIRED_STATE"):
        power.suspend(SUSPENDED)
    with raises(std.NotAllowedInCurrentState, "NOT_ALLOWED_IN_CURRENT_STATE"):
        power.reset(POWERED_OFF)
    with raises(std.ResourceBusy, "RESOURCE_BUSY"):
        power.stop(BUSY)
    for call in (power.get, power.start, power.stop, power.suspend, power.reset):
        with raises(std.NotFound, "NOT_FOUND"):
            call(UNKNOWN)
    with raises(std.Unauthorized, "UNAUTHORIZED"):
        auditor.vcenter.vm.Power.stop(DEMO_VM)
    assert client.vcenter.vm.Power.get(DEMO_VM).state == vm_client.Power.State.POWERED_ON


# -- Tools ------------------------------------------------------------------------------------------------


def test_tools_get_answers_the_tools_state_with_its_enums_and_optional_fields(client: Any) -> None:
    tools = client.vcenter.vm.Tools
    info = tools.get(DEMO_VM)
    assert isinstance(info, vm_client.Tools.Info)
    assert info.run_state == vm_client.Tools.RunState.RUNNING
    assert info.version == "12.5.0"
    assert info.version_number == 12448
    assert info.upgrade_policy == vm_client.Tools.UpgradePolicy.MANUAL
    assert info.install_type == vm_client.Tools.ToolsInstallType.OPEN_VM_TOOLS
    assert info.error is None
    assert tools.get(TOOLS_NOT_RUNNING).run_state == vm_client.Tools.RunState.NOT_RUNNING
    with raises(std.NotFound, "NOT_FOUND"):
        tools.get(UNKNOWN)
