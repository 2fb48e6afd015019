"""`vc.guest` (identity, filesystems, networking, interfaces, routes, environment, getenv, power,
shutdown, reboot, standby) and `vc.vms` (power, start, stop, suspend, reset, tools) against the mock
vCenter, in process and over loopback, sync and async, on POSIX and Windows guests."""

from __future__ import annotations

import copy
import random
from typing import Any

import anyio
import httpx
import pytest
from vcenter_guest import (
    Credentials,
    GuestFilesystem,
    GuestIdentity,
    GuestPower,
    ToolsInfo,
    VmPower,
    errors,
)
from vcenter_guest.mock import DEMO_INVENTORY, DEMO_VM

WINDOWS_VM = "vm-43"


def test_identity_tells_a_posix_guest_from_a_windows_one(server: Any) -> None:
    with server.client() as vc:
        linux, windows = vc.guest.identity(DEMO_VM), vc.guest.identity(WINDOWS_VM)
    assert isinstance(linux, GuestIdentity)
    assert (linux.posix, linux.windows, linux.host_name, linux.ip_address) == (True, False, "demo-linux", "192.0.2.44")
    assert (windows.posix, windows.windows, windows.family) == (False, True, "WINDOWS")
    assert windows.full_name == "Microsoft Windows Server 2022 (64-bit)"


def test_the_tools_reports_come_back_as_typed_values(server: Any) -> None:
    with server.client() as vc:
        [root] = vc.guest.filesystems(DEMO_VM)
        networking = vc.guest.networking(WINDOWS_VM)
        [nic] = vc.guest.interfaces(DEMO_VM)
        routes = vc.guest.routes(DEMO_VM)
    assert isinstance(root, GuestFilesystem)
    assert (root.mount, root.filesystem, root.disks) == ("/", "ext4", ("2000",))
    assert root.used == root.capacity - root.free_space
    assert (networking.host_name, networking.dns_servers, networking.search_domains) == (
        "demo-windows",
        ("192.0.2.53",),
        ("example.com",),
    )
    assert [(a.ip_address, a.prefix_length, a.origin, a.state) for a in nic.ip_addresses] == [
        ("192.0.2.44", 24, "DHCP", "PREFERRED"),
        ("fe80::250:56ff:feaa:bb2c", 64, "LINKLAYER", "PREFERRED"),
    ]
    assert (nic.dhcp_ipv4, nic.dhcp_ipv6, nic.nic) == (True, False, "4000")
    assert [(r.network, r.prefix_length, r.gateway_address, r.interface_index) for r in routes] == [
        ("0.0.0.0", 0, "192.0.2.1", 0),
        ("192.0.2.0", 24, None, 0),
    ]


def test_a_powered_off_vm_has_no_identity_its_tools_do_not_run(server: Any) -> None:
    with server.client() as vc, pytest.raises(errors.ServiceUnavailable, match="Tools are not running"):
        vc.guest.identity("vm-44")


def test_environment_and_getenv_read_the_guests_variables(server: Any, guest: Credentials) -> None:
    with server.client() as vc:
        chosen = vc.guest.environment(DEMO_VM, guest, ["HOME", "NOT_SET"])
        everything = vc.guest.environment(DEMO_VM, guest)
        path = vc.guest.getenv(DEMO_VM, guest, "PATH")
        windows = vc.guest.getenv(WINDOWS_VM, guest, "SystemRoot")
        with pytest.raises(errors.NotFound):
            vc.guest.getenv(DEMO_VM, guest, "NOT_SET")
    assert chosen == {"HOME": "/root"}
    assert everything["PATH"] == path
    assert windows == "C:\\Windows"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda vc, creds: vc.guest.environment(DEMO_VM, creds, "PATH"), "names must be a list"),
        (lambda vc, creds: vc.guest.getenv(DEMO_VM, creds, ""), "name must be a non-empty"),
        (lambda vc, creds: vc.vms.start(DEMO_VM, timeout=-1), "timeout must be a positive"),
        (lambda vc, creds: vc.guest.reboot(DEMO_VM, wait_ready="soon"), "wait_ready must be a positive"),
    ],
)
def test_bad_arguments_are_usage_errors_before_any_request(
    server: Any, guest: Credentials, call: Any, message: str
) -> None:
    with server.client() as vc, pytest.raises(errors.UsageError, match=message):
        call(vc, guest)


def test_start_waits_for_powered_on_and_then_for_the_guest_with_wait_ready(
    make_in_process_server: Any, clock: Any, guest: Credentials
) -> None:
    server = make_in_process_server(clock=clock)
    with server.client(clock=clock, sleep=clock.sleep, rng=random.Random(0)) as vc:
        vc.vms.stop(DEMO_VM)
        assert vc.vms.power(DEMO_VM) == VmPower("POWERED_OFF", clean_power_off=False)
        started = clock.now
        vc.vms.start(DEMO_VM, wait_ready=60)
        # The demo guest's Tools take 1 s to start: wait_ready follows the power-on until they do.
        assert 1.0 <= clock.now - started <= 1.5
        assert vc.processes.run(DEMO_VM, guest, "/bin/true").exit_code == 0


def test_wait_ready_after_start_times_out_when_the_tools_never_come(
    make_in_process_server: Any, clock: Any, demo_inventory: dict[str, Any]
) -> None:
    demo_inventory["vms"][0].update(power_state="POWERED_OFF", tools="NOT_RUNNING")
    server = make_in_process_server(demo_inventory, clock=clock)
    with server.client(clock=clock, sleep=clock.sleep) as vc, pytest.raises(errors.TimedOut, match="within 5 s"):
        vc.vms.start(DEMO_VM, wait_ready=5)


def test_the_guests_shutdown_waits_until_the_vm_is_off(make_in_process_server: Any, clock: Any) -> None:
    server = make_in_process_server(clock=clock)
    with server.client(clock=clock, sleep=clock.sleep) as vc:
        vc.guest.shutdown(DEMO_VM)
        assert vc.vms.power(DEMO_VM) == VmPower("POWERED_OFF", clean_power_off=True)
        assert vc.guest.power(DEMO_VM) == GuestPower("NOT_RUNNING", False)
        with pytest.raises(errors.AlreadyInDesiredState):
            vc.guest.shutdown(DEMO_VM)


def test_shutdown_with_timeout_zero_returns_while_the_guest_shuts_down(make_in_process_server: Any, clock: Any) -> None:
    server = make_in_process_server(clock=clock)
    with server.client(clock=clock, sleep=clock.sleep) as vc:
        vc.guest.shutdown(DEMO_VM, timeout=0)
        assert vc.guest.power(DEMO_VM).state == "SHUTTING_DOWN"


def test_a_shutdown_that_never_ends_times_out_naming_the_state(
    make_in_process_server: Any, clock: Any, demo_inventory: dict[str, Any]
) -> None:
    demo_inventory["vms"][0]["shutdown_seconds"] = 3600
    server = make_in_process_server(demo_inventory, clock=clock)
    expected = r"did not reach POWERED_OFF within 10 s \(still POWERED_ON\)"
    with server.client(clock=clock, sleep=clock.sleep) as vc, pytest.raises(errors.TimedOut, match=expected):
        vc.guest.shutdown(DEMO_VM, timeout=10)


def test_suspend_standby_reset_and_reboot(make_in_process_server: Any, clock: Any, guest: Credentials) -> None:
    server = make_in_process_server(clock=clock)
    with server.client(clock=clock, sleep=clock.sleep) as vc:
        vc.vms.suspend(DEMO_VM)
        assert vc.vms.power(DEMO_VM).state == "SUSPENDED"
        with pytest.raises(errors.NotAllowedInCurrentState):
            vc.vms.reset(DEMO_VM)
        vc.vms.start(DEMO_VM, wait_ready=30)
        vc.guest.standby(DEMO_VM)
        assert vc.vms.power(DEMO_VM).state == "SUSPENDED"
        vc.vms.start(DEMO_VM, wait_ready=30)
        vc.vms.reset(DEMO_VM, wait_ready=30)
        vc.guest.reboot(DEMO_VM, wait_ready=30)
        assert vc.processes.run(DEMO_VM, guest, "/bin/true").exit_code == 0


def test_tools_say_whether_they_run(server: Any) -> None:
    with server.client() as vc:
        linux, stopped = vc.vms.tools(DEMO_VM), vc.vms.tools("vm-46")
    assert isinstance(linux, ToolsInfo)
    assert (linux.running, linux.install_type, linux.version, linux.reboot_requested) == (
        True,
        "OPEN_VM_TOOLS",
        "12.5.0",
        False,
    )
    assert not stopped.running


def test_a_user_without_the_power_privilege_is_unauthorized(server: Any) -> None:
    with server.client(user="auditor@vsphere.local", password="Audit!23") as vc:
        assert vc.vms.power(DEMO_VM).powered_on
        with pytest.raises(errors.Unauthorized):
            vc.vms.stop(DEMO_VM)


@pytest.mark.anyio
async def test_the_async_client_has_the_same_methods(server: Any, guest: Credentials) -> None:
    async with server.async_client() as vc:
        identity, tools = await vc.guest.identity(WINDOWS_VM), await vc.vms.tools(WINDOWS_VM)
        variables = await vc.guest.environment(WINDOWS_VM, guest, ["OS"])
        await vc.vms.suspend("vm-50")
        suspended = await vc.vms.power("vm-50")
        routes = await vc.guest.routes(DEMO_VM)
    assert identity.windows
    assert tools.install_type == "MSI"
    assert variables == {"OS": "Windows_NT"}
    assert suspended.state == "SUSPENDED"
    assert len(routes) == 2


def _answering(payload: Any) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/session":
            return httpx.Response(201, json="session-id-xyz")
        return httpx.Response(200, json=payload)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("call", "payload"),
    [
        (lambda vc: vc.guest.identity(DEMO_VM), {"name": "X", "family": "BEOS", "full_name": {}, "host_name": "h"}),
        (lambda vc: vc.guest.identity(DEMO_VM), {"name": 5, "family": "LINUX", "host_name": "h"}),
        (lambda vc: vc.guest.filesystems(DEMO_VM), {"/": {"capacity": "big", "free_space": 1}}),
        (lambda vc: vc.guest.filesystems(DEMO_VM), ["not", "an", "object"]),
        (lambda vc: vc.guest.interfaces(DEMO_VM), [{"ip": {"ip_addresses": [{"ip_address": "x"}]}}]),
        (lambda vc: vc.guest.routes(DEMO_VM), [{"network": "0.0.0.0", "prefix_length": True}]),
        (lambda vc: vc.vms.power(DEMO_VM), {"state": "ON"}),
        (lambda vc: vc.vms.tools(DEMO_VM), {"run_state": "RUNNING"}),
        (lambda vc: vc.guest.power(DEMO_VM), {"state": "RUNNING", "operations_ready": "yes"}),
    ],
)
def test_an_answer_of_the_wrong_shape_is_an_unexpected_response(call: Any, payload: Any) -> None:
    from vcenter_guest import Client

    with (
        Client("https://vc.test", user="u", password="p", transport=_answering(payload)) as vc,
        pytest.raises(errors.UnexpectedResponse),
    ):
        call(vc)


def test_environment_values_never_reach_an_error_message(guest: Credentials) -> None:
    from vcenter_guest import Client

    secret = "token-sk-ABCDEF0123456789"
    payload = {"AWS_SECRET": secret, "N": 5}  # not an object of strings
    with (
        Client("https://vc.test", user="u", password="p", transport=_answering(payload)) as vc,
        pytest.raises(errors.UnexpectedResponse) as caught,
    ):
        vc.guest.environment(DEMO_VM, guest)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


def test_windows_and_posix_vms_of_an_inventory_both_answer_every_read(make_server: Any) -> None:
    inventory = copy.deepcopy(DEMO_INVENTORY)
    server = make_server(inventory)
    with server.client() as vc:
        for vm in (DEMO_VM, WINDOWS_VM, "vm-50"):
            assert vc.guest.identity(vm).host_name
            assert vc.guest.filesystems(vm)
            assert vc.guest.interfaces(vm)
            assert vc.guest.power(vm).running
            assert vc.vms.tools(vm).running


def test_anyio_runs_the_async_methods(server: Any) -> None:
    async def main() -> str:
        async with server.async_client() as vc:
            return (await vc.vms.power(DEMO_VM)).state

    assert anyio.run(main) == "POWERED_ON"
