"""What the VMware Tools report about the guest: Identity (`com.vmware.vcenter.vm.guest.identity`),
LocalFilesystem, Networking with its Interfaces and Routes, and the guest's Environment.

The reports come from the inventory (`guest_os`, `host_name`, `filesystems`, `nics`, `routes`,
`environment`), or are derived from the VM's family and id where it says nothing. They are answered
only while the Tools run (`power.PowerRules.check_tools_reporting`); the Environment is a guest
operation (credentials, readiness), as VMware's is.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope

from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._handlers import Api, handles, handles_read, json_response, part
from vcenter_guest.mock._records import GuestNic, GuestRoute, GuestUser, VmSpec
from vcenter_guest.operations import Operation

from .power import PowerRules

__all__ = ["GuestReports"]

# Identity.name and its full name by family, for an inventory that names no guest_os.
_DEFAULT_OS = {
    "LINUX": ("DEBIAN_12_64", "Debian GNU/Linux 12 (64-bit)"),
    "WINDOWS": ("WINDOWS_SERVER_2021", "Microsoft Windows Server 2022 (64-bit)"),
    "SOLARIS": ("SOLARIS_11_64", "Oracle Solaris 11 (64-bit)"),
    "OTHER": ("OTHER_64", "Other (64-bit)"),
}


def _index(vm_id: str) -> int:
    """A small number from the VM's id (vm-42 -> 42), for addresses that differ from VM to VM."""
    digits = re.sub(r"\D", "", vm_id)
    return int(digits[-6:]) % 250 + 2 if digits else 2


def host_name(spec: VmSpec) -> str:
    """The guest's host name: the inventory's, else the VM's name, else its id."""
    return spec.host_name or spec.name or spec.id


def nics(spec: VmSpec) -> tuple[GuestNic, ...]:
    """The guest's NICs: the inventory's, else one with 192.0.2.x/24 and a link-local IPv6 address."""
    if spec.nics is not None:
        return spec.nics
    n = _index(spec.id)
    return (
        GuestNic(f"00:50:56:aa:bb:{n:02x}", (f"192.0.2.{n}/24", f"fe80::250:56ff:feaa:bb{n:02x}/64"), True, "4000"),
    )


def routes(spec: VmSpec) -> tuple[GuestRoute, ...]:
    """The guest's routes: the inventory's, else each NIC's connected network and one default route."""
    if spec.routes is not None:
        return spec.routes
    found: list[GuestRoute] = []
    for index, nic in enumerate(nics(spec)):
        for text in nic.addresses:
            interface = ipaddress.ip_interface(text)
            if interface.version == 4:
                network = interface.network
                if not found:
                    found.append(GuestRoute("0.0.0.0", 0, str(network.network_address + 1), index))  # noqa: S104
                found.append(GuestRoute(str(network.network_address), network.prefixlen, None, index))
    return tuple(found)


def ipv4_address(spec: VmSpec) -> str | None:
    """The first IPv4 address of the first NIC that has one (Identity's `ip_address`), or None."""
    for nic in nics(spec):
        for text in nic.addresses:
            address = ipaddress.ip_interface(text)
            if address.version == 4:
                return str(address.ip)
    return None


def environment(spec: VmSpec, user: GuestUser | None) -> dict[str, str]:
    """The system user's environment (None), or an interactive user's: HOME and the user's name set."""
    if spec.environment is not None:
        base = dict(spec.environment)
    elif spec.windows:
        base = {
            "COMPUTERNAME": host_name(spec).upper(),
            "ComSpec": "C:\\Windows\\system32\\cmd.exe",
            "OS": "Windows_NT",
            "Path": "C:\\Windows\\system32;C:\\Windows",
            "SystemRoot": "C:\\Windows",
            "TEMP": "C:\\Windows\\TEMP",
            "USERNAME": "SYSTEM",
        }
    else:
        base = {
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "LOGNAME": "root",
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "SHELL": "/bin/sh",
            "USER": "root",
        }
    if user is not None:
        if spec.windows:
            base.update(USERNAME=user.name, USERPROFILE=user.home)
        else:
            base.update(HOME=user.home, USER=user.name, LOGNAME=user.name)
    return base


def _interface(nic: GuestNic, spec: VmSpec) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if nic.mac_address is not None:
        info["mac_address"] = nic.mac_address
    addresses = []
    for text in nic.addresses:
        address = ipaddress.ip_interface(text)
        link_local = address.ip.is_link_local
        origin = "LINKLAYER" if link_local else ("DHCP" if nic.dhcp else "MANUAL")
        addresses.append(
            {
                "ip_address": str(address.ip),
                "prefix_length": address.network.prefixlen,
                "origin": origin,
                "state": "PREFERRED",
            }
        )
    info["ip"] = {"ip_addresses": addresses}
    if nic.dhcp:
        info["ip"]["dhcp"] = {"ipv4_enabled": True, "ipv6_enabled": False}
    info["dns_values"] = {"host_name": host_name(spec), "domain_name": spec.domain_name}
    if nic.nic is not None:
        info["nic"] = nic.nic
    return info


@part
class GuestReports(PowerRules):
    """The simulator's answers from the Tools' reports, and the guest's environment."""

    def _reporting(self, vm_id: str) -> VmSpec:
        vm = self.settled(vm_id)
        self.check_tools_reporting(vm)
        return vm.spec

    def identity(self, vm_id: str) -> dict[str, Any]:
        """Identity.Info."""
        with self._lock:
            spec = self._reporting(vm_id)
        name, full = _DEFAULT_OS[spec.guest_os_family]
        if spec.guest_os:
            name = full = spec.guest_os
        info: dict[str, Any] = {
            "name": name,
            "family": spec.guest_os_family,
            "full_name": {"id": f"vmsg.guestos.{name.lower()}.label", "default_message": full, "args": []},
            "host_name": host_name(spec),
        }
        address = ipv4_address(spec)
        if address is not None:
            info["ip_address"] = address
        return info

    def local_filesystems(self, vm_id: str) -> dict[str, Any]:
        """LocalFilesystem.get: the inventory's file systems, or the guest's simulated one."""
        with self._lock:
            spec = self._reporting(vm_id)
            if spec.filesystems is not None:
                found: dict[str, Any] = {}
                for name, disk in spec.filesystems.items():
                    info: dict[str, Any] = {"capacity": disk.capacity, "free_space": disk.free_space or 0}
                    if disk.filesystem is not None:
                        info["filesystem"] = disk.filesystem
                    if disk.disks:
                        info["mappings"] = [{"disk": d} for d in disk.disks]
                    found[name] = info
                return found
            fs = self.filesystem(self.find_vm(vm_id))
            free = max(0, fs.capacity - fs.taken())
            root = "C:\\" if spec.windows else "/"
            kind = "NTFS" if spec.windows else "ext4"
            return {
                root: {"capacity": fs.capacity, "free_space": free, "filesystem": kind, "mappings": [{"disk": "2000"}]}
            }

    def networking(self, vm_id: str) -> dict[str, Any]:
        """Networking.Info."""
        with self._lock:
            spec = self._reporting(vm_id)
        return {
            "dns_values": {"host_name": host_name(spec), "domain_name": spec.domain_name},
            "dns": {"ip_addresses": list(spec.dns_servers), "search_domains": [spec.domain_name]},
        }

    def interfaces(self, vm_id: str) -> list[dict[str, Any]]:
        """Interfaces.list."""
        with self._lock:
            spec = self._reporting(vm_id)
        return [_interface(nic, spec) for nic in nics(spec)]

    def routes(self, vm_id: str) -> list[dict[str, Any]]:
        """Routes.list."""
        with self._lock:
            spec = self._reporting(vm_id)
        found = []
        for route in routes(spec):
            info: dict[str, Any] = {"network": route.network, "prefix_length": route.prefix_length}
            if route.gateway_address is not None:
                info["gateway_address"] = route.gateway_address
            if route.interface_index is not None:
                info["interface_index"] = route.interface_index
            found.append(info)
        return found

    def read_environment(self, vm_id: str, credentials: Mapping[str, Any], names: list[str] | None) -> dict[str, str]:
        """Environment.list (names None or empty: every variable); the guest operation's checks first."""
        with self._lock:
            vm = self.settled(vm_id)
            _, user = self.guest_login(vm_id, credentials)
            variables = environment(vm.spec, user if credentials.get("interactive_session") else None)
        if not names:
            return variables
        if vm.spec.windows:  # Windows' variable names ignore case
            folded = {key.upper(): (key, value) for key, value in variables.items()}
            return {folded[n.upper()][0]: folded[n.upper()][1] for n in names if n.upper() in folded}
        return {name: variables[name] for name in names if name in variables}

    def read_variable(self, vm_id: str, credentials: Mapping[str, Any], name: str) -> str:
        """Environment.get: the value, or NOT_FOUND when the variable is not set."""
        found = self.read_environment(vm_id, credentials, [name])
        if not found:
            raise MockError(
                "NOT_FOUND",
                "com.vmware.vcenter.vm.guest.environment.not_found",
                "The environment variable {0} is not set in virtual machine {1}.",
                name,
                vm_id,
            )
        return next(iter(found.values()))


handles_read("identity.get", GuestReports.identity)
handles_read("local_filesystem.get", GuestReports.local_filesystems)
handles_read("networking.get", GuestReports.networking)
handles_read("interfaces.list", GuestReports.interfaces)
handles_read("routes.list", GuestReports.routes)


@handles("environment.get")
async def environment_get(
    api: Api[GuestReports], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """Environment.get: the variable's value, a JSON string."""
    body, _ = await api.guest_call(op, params, scope, receive)
    value = api.simulator.read_variable(params["vm"], body["credentials"], params["name"])
    return json_response(value, op.success_status)


@handles("environment.list")
async def environment_list(
    api: Api[GuestReports], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """Environment.list: the variables named (all of them for none), name -> value."""
    body, _ = await api.guest_call(op, params, scope, receive)
    return json_response(
        api.simulator.read_environment(params["vm"], body["credentials"], body["names"]), op.success_status
    )
