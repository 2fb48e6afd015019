"""What the VMware Tools report about the guest (`vc.guest.identity`, `filesystems`, `networking`,
`interfaces`, `routes`), its environment (`environment`, `getenv`) and its soft power operations
(`power`, `shutdown`, `reboot`, `standby`): VMware's Identity, LocalFilesystem, Networking (Interfaces,
Routes), Environment and guest Power services, written once for both clients (mixed into
`vms.Guest` and `vms.AsyncGuest`).

shutdown and standby wait (up to `timeout`) until the VM is powered off or suspended: VMware's
answer returns as soon as the guest has the request.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from vcenter_guest import errors
from vcenter_guest._engine import Call, Engine, Plan
from vcenter_guest._values import Credentials
from vcenter_guest.operations import operations

from .answers import no_content, reader, vm_call
from .base import driven
from .checks import check_credentials, check_power_timeout, check_run_timeout, check_vm
from .power import DEFAULT_POWER_TIMEOUT, wait_power

if TYPE_CHECKING:  # the values load on the first answer (see vcenter_guest._values.ON_FIRST_USE)
    from vcenter_guest._values import (
        GuestFilesystem,
        GuestIdentity,
        GuestInterface,
        GuestNetworking,
        GuestPower,
        GuestRoute,
        IpAddress,
    )

__all__ = ["GuestInfoService"]

T = TypeVar("T")


def _texts(value: object) -> tuple[str, ...]:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    return tuple(wire.array(value, wire.text))


def _enum_value(value: object) -> str:
    found = getattr(value, "value", None)
    if not isinstance(found, str):
        raise TypeError("not an enumeration")
    return found


def _identity(raw: Any) -> GuestIdentity:
    from vcenter_guest_client.models import IdentityInfo  # noqa: PLC0415 - loaded on the first request

    from vcenter_guest._values.guest import GuestIdentity  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = IdentityInfo.from_dict(raw)
    return GuestIdentity(
        name=wire.text(model.name),
        family=model.family.value,
        full_name=wire.text(model.full_name.default_message),
        host_name=wire.text(model.host_name),
        ip_address=wire.optional(model.ip_address, wire.text),
    )


def _filesystems(raw: Any) -> builtins.list[GuestFilesystem]:
    from vcenter_guest_client.models import LocalFilesystemInfo  # noqa: PLC0415

    from vcenter_guest._values.guest import GuestFilesystem  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    if not isinstance(raw, dict):
        raise TypeError("not an object")
    found = []
    for mount, item in raw.items():
        model = LocalFilesystemInfo.from_dict(item)
        mappings = wire.optional(model.mappings, lambda m: tuple(wire.text(d.disk) for d in m))  # type: ignore[attr-defined]
        found.append(
            GuestFilesystem(
                mount=wire.text(mount),
                capacity=wire.integer(model.capacity),
                free_space=wire.integer(model.free_space),
                filesystem=wire.optional(model.filesystem, wire.text),
                disks=mappings or (),
            )
        )
    return found


def _dns(model: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    found = wire.optional(model, lambda d: (_texts(d.ip_addresses), _texts(d.search_domains)))  # type: ignore[attr-defined]
    return found or ((), ())


def _names(model: Any) -> tuple[str | None, str | None]:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    found = wire.optional(model, lambda d: (wire.text(d.host_name), wire.text(d.domain_name)))  # type: ignore[attr-defined]
    return found or (None, None)


def _networking(raw: Any) -> GuestNetworking:
    from vcenter_guest_client.models import NetworkingInfo  # noqa: PLC0415

    from vcenter_guest._values.guest import GuestNetworking  # noqa: PLC0415 - loaded on the first answer

    model = NetworkingInfo.from_dict(raw)
    host, domain = _names(model.dns_values)
    servers, search = _dns(model.dns)
    return GuestNetworking(host_name=host, domain_name=domain, dns_servers=servers, search_domains=search)


def _address(model: Any) -> IpAddress:
    from vcenter_guest._values.guest import IpAddress  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    return IpAddress(
        ip_address=wire.text(model.ip_address),
        prefix_length=wire.integer(model.prefix_length),
        state=_enum_value(model.state),
        origin=wire.optional(model.origin, _enum_value),
    )


def _interface(item: Any) -> GuestInterface:
    from vcenter_guest_client.models import InterfaceInfo  # noqa: PLC0415

    from vcenter_guest._values.guest import GuestInterface  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = InterfaceInfo.from_dict(item)
    addresses: tuple[IpAddress, ...] = ()
    dhcp: tuple[bool | None, bool | None] = (None, None)
    ip = wire.optional(model.ip, lambda value: value)
    if ip is not None:
        addresses = tuple(_address(a) for a in ip.ip_addresses)  # type: ignore[attr-defined]
        dhcp = wire.optional(ip.dhcp, lambda d: (wire.boolean(d.ipv4_enabled), wire.boolean(d.ipv6_enabled))) or dhcp  # type: ignore[attr-defined]
    servers, search = _dns(model.dns)
    host, domain = _names(model.dns_values)
    return GuestInterface(
        mac_address=wire.optional(model.mac_address, wire.text),
        ip_addresses=addresses,
        dhcp_ipv4=dhcp[0],
        dhcp_ipv6=dhcp[1],
        dns_servers=servers,
        search_domains=search,
        host_name=host,
        domain_name=domain,
        wins_servers=wire.optional(model.wins_servers, _texts) or (),
        nic=wire.optional(model.nic, wire.text),
    )


def _interfaces(raw: Any) -> builtins.list[GuestInterface]:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    return wire.array(raw, _interface)


def _route(item: Any) -> GuestRoute:
    from vcenter_guest_client.models import RouteInfo  # noqa: PLC0415

    from vcenter_guest._values.guest import GuestRoute  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = RouteInfo.from_dict(item)
    return GuestRoute(
        network=wire.text(model.network),
        prefix_length=wire.integer(model.prefix_length),
        gateway_address=wire.optional(model.gateway_address, wire.text),
        interface_index=wire.optional(model.interface_index, wire.integer),
    )


def _routes(raw: Any) -> builtins.list[GuestRoute]:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    return wire.array(raw, _route)


def _guest_power(raw: Any) -> GuestPower:
    from vcenter_guest_client.models import GuestPowerInfo  # noqa: PLC0415

    from vcenter_guest._values.guest import GuestPower  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = GuestPowerInfo.from_dict(raw)
    return GuestPower(state=model.state.value, operations_ready=wire.boolean(model.operations_ready))


def _variables(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise TypeError("not an object of strings")
    return dict(raw)


def _variable(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError("not a string")
    return raw


def _names_argument(names: object) -> builtins.list[str]:
    if names is None:
        return []
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise errors.UsageError(f"names must be a list of variable names (e.g. names=['PATH']), not {names!r}")
    found = builtins.list(names)
    if not all(isinstance(name, str) and name for name in found):
        raise errors.UsageError("names must hold non-empty strings only")
    return builtins.list(dict.fromkeys(found))  # the API takes a set: each name once, in the caller's order


def _variable_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise errors.UsageError(f"name must be a non-empty variable name, not {name!r}")
    return name


class GuestInfoService:
    """What the sync and the async guest service share about the guest's reports, environment and
    soft power operations (mixed into GuestService)."""

    _engine: Engine

    def _read(self, operation_id: str, vm: str, what: str, convert: Callable[[Any], T]) -> Plan[T]:
        from vcenter_guest_client import api  # noqa: PLC0415 - the operation index, loaded on the first request

        endpoint = {
            "identity.get": api.identity_get,
            "local_filesystem.get": api.local_filesystem_get,
            "networking.get": api.networking_get,
            "interfaces.list": api.interfaces_list,
            "routes.list": api.routes_list,
            "guest_power.get": api.guest_power_get,
        }[operation_id]
        return self._engine.call(vm_call(operation_id, endpoint.request_kwargs, check_vm(vm), reader(what, convert)))

    @driven
    def identity(self, vm: str) -> Plan[GuestIdentity]:
        """What the guest operating system is (family, name, host name, an IP address), as its Tools
        last reported. Tools not running (the VM off, or still booting): errors.ServiceUnavailable.

        Example::

            vc.guest.identity("vm-42").family   # "LINUX"
        """
        return self._read("identity.get", vm, "an Identity.Info", _identity)

    @driven
    def filesystems(self, vm: str) -> Plan[builtins.list[GuestFilesystem]]:
        """The guest's local file systems (capacity and free space, in bytes), as its Tools last reported.

        Example::

            for fs in vc.guest.filesystems("vm-42"):
                print(fs.mount, fs.free_space)
        """
        return self._read("local_filesystem.get", vm, "an object of LocalFilesystem.Info", _filesystems)

    @driven
    def networking(self, vm: str) -> Plan[GuestNetworking]:
        """The guest's DNS name and resolver, as its Tools last reported.

        Example::

            vc.guest.networking("vm-42").dns_servers
        """
        return self._read("networking.get", vm, "a Networking.Info", _networking)

    @driven
    def interfaces(self, vm: str) -> Plan[builtins.list[GuestInterface]]:
        """The guest's network interfaces (MAC, IP addresses, DHCP), in the order the guest gives them.

        Example::

            [a.ip_address for nic in vc.guest.interfaces("vm-42") for a in nic.ip_addresses]
        """
        return self._read("interfaces.list", vm, "an array of Interfaces.Info", _interfaces)

    @driven
    def routes(self, vm: str) -> Plan[builtins.list[GuestRoute]]:
        """The guest's IP routes (`interface_index` points into `interfaces`).

        Example::

            vc.guest.routes("vm-42")
        """
        return self._read("routes.list", vm, "an array of Routes.Info", _routes)

    @driven
    def environment(
        self, vm: str, credentials: Credentials, names: Iterable[str] | None = None
    ) -> Plan[dict[str, str]]:
        """The guest's environment variables named in `names` (all of them for None or empty); a
        name that is not set is left out. Non-interactive credentials read the environment of the
        guest's system user; interactive ones, that of the user logged in at its desktop.

        Example::

            vc.guest.environment("vm-42", creds, ["PATH", "HOME"])
        """
        from vcenter_guest_client import api, models  # noqa: PLC0415

        vm, credentials = check_vm(vm), check_credentials(credentials)
        wanted = _names_argument(names)
        body = models.EnvironmentListBody(credentials=credentials._cached_generated(), names=wanted)
        build = functools.partial(api.environment_list.request_kwargs, vm, body=body)
        parse = reader("an object of strings", _variables)
        return self._engine.call(Call(operations()["environment.list"], build, parse, vm=vm))

    @driven
    def getenv(self, vm: str, credentials: Credentials, name: str) -> Plan[str]:
        """The value of one environment variable of the guest; errors.NotFound when it is not set.

        Example::

            vc.guest.getenv("vm-42", creds, "PATH")
        """
        from vcenter_guest_client import api, models  # noqa: PLC0415

        vm, credentials, name = check_vm(vm), check_credentials(credentials), _variable_name(name)
        body = models.EnvironmentGetBody(credentials=credentials._cached_generated())
        build = functools.partial(api.environment_get.request_kwargs, vm, name, body=body)
        return self._engine.call(Call(operations()["environment.get"], build, reader("a string", _variable), vm=vm))

    @driven
    def power(self, vm: str) -> Plan[GuestPower]:
        """The guest's power state (RUNNING, SHUTTING_DOWN, STANDBY, NOT_RUNNING...) and whether it
        takes shutdown, reboot and standby now.

        Example::

            vc.guest.power("vm-42").operations_ready
        """
        return self._read("guest_power.get", vm, "a Power.Info", _guest_power)

    def _soft(self, action: str, vm: str, reached: str | None, timeout: float | None) -> Plan[None]:
        from vcenter_guest_client import api  # noqa: PLC0415

        operation = f"guest_power.{action}"
        endpoint = {
            "shutdown": api.guest_power_shutdown,
            "reboot": api.guest_power_reboot,
            "standby": api.guest_power_standby,
        }[action]
        yield from self._engine.call(vm_call(operation, endpoint.request_kwargs, vm, no_content))
        if reached is not None and timeout != 0:
            yield from wait_power(self._engine, vm, reached, timeout, operation)

    @driven
    def shutdown(self, vm: str, *, timeout: float | None = DEFAULT_POWER_TIMEOUT) -> Plan[None]:
        """Asks the guest to shut down cleanly (through its Tools), then waits until the VM is powered
        off (`timeout` seconds; 0: not at all). Already off: errors.AlreadyInDesiredState; Tools not
        running: errors.ServiceUnavailable.

        Example::

            vc.guest.shutdown("vm-42", timeout=600)
        """
        return self._soft("shutdown", check_vm(vm), "POWERED_OFF", check_power_timeout(timeout))

    @driven
    def reboot(self, vm: str, *, wait_ready: float | None = None) -> Plan[None]:
        """Asks the guest to restart (through its Tools); with `wait_ready` seconds, then waits until
        it takes guest operations again. The VM stays powered on, so nothing else tells the reboot
        is over: without `wait_ready` this returns as soon as the guest has the request.

        Example::

            vc.guest.reboot("vm-42", wait_ready=600)
        """
        vm, ready = check_vm(vm), check_run_timeout(wait_ready, "wait_ready")
        return self._reboot(vm, ready)

    def _reboot(self, vm: str, ready: float | None) -> Plan[None]:
        yield from self._soft("reboot", vm, None, None)
        if ready is not None:
            from .readiness import wait_ready_plan  # noqa: PLC0415

            yield from wait_ready_plan(self._engine, vm, ready)

    @driven
    def standby(self, vm: str, *, timeout: float | None = DEFAULT_POWER_TIMEOUT) -> Plan[None]:
        """Asks the guest to go into standby (its Tools run its suspend script, then the host suspends
        the VM) and waits until the VM is suspended (`timeout` seconds; 0: not at all).

        Example::

            vc.guest.standby("vm-42")
        """
        return self._soft("standby", check_vm(vm), "SUSPENDED", check_power_timeout(timeout))
