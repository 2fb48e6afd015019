"""VM lookup (`vc.vms`: VM.list, by name; power and Tools from `power`) and the guest (`vc.guest`:
Operations.get, waiting for it; the Tools' reports, environment and guest power from `guestinfo`),
written once for both clients (see `base`)."""

from __future__ import annotations

import builtins
import functools
import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from vcenter_guest import errors
from vcenter_guest._engine import Call, Engine, Plan
from vcenter_guest.operations import operations

from .answers import reader
from .base import AsyncService, ServiceClient, SyncService, driven
from .checks import check_run_timeout, check_vm
from .guestinfo import GuestInfoService
from .power import PowerService
from .readiness import readiness_call, wait_ready_plan

if TYPE_CHECKING:  # the values load on the first answer (see vcenter_guest._values.ON_FIRST_USE)
    from vcenter_guest._values import GuestReadiness, VmSummary

__all__ = ["AsyncGuest", "AsyncVms", "Guest", "GuestService", "Vms", "VmsService"]


@functools.cache
def _filters() -> tuple[str, ...]:
    """VM.list's filters, as the document names them (the generated `request_kwargs`' keywords)."""
    from vcenter_guest_client import api  # noqa: PLC0415 - the operation index, loaded on the first request

    return tuple(inspect.signature(api.vm_list.request_kwargs).parameters)


@functools.cache
def _power_states() -> tuple[str, ...]:
    """The power states the document names (`Vcenter.Vm.PowerState`)."""
    from vcenter_guest_client.models import PowerState  # noqa: PLC0415

    return tuple(state.value for state in PowerState)


def _summary(item: Any) -> VmSummary:
    from vcenter_guest_client.models import VMSummary  # noqa: PLC0415

    from vcenter_guest._values.files import VmSummary  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = VMSummary.from_dict(item)
    return VmSummary(
        vm=wire.text(model.vm),
        name=wire.text(model.name),
        power_state=wire.text(model.power_state.value),
        cpu_count=wire.optional(model.cpu_count, wire.integer),
        memory_size_mib=wire.optional(model.memory_size_mi_b, wire.integer),
    )


def _summaries(raw: Any) -> builtins.list[VmSummary]:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    return wire.array(raw, _summary)


def _strings(value: object, name: str) -> builtins.list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise errors.UsageError(f"{name} must be a list of strings (e.g. {name}=['a', 'b']), not {value!r}")
    items = builtins.list(value)
    if not all(isinstance(item, str) and item for item in items):
        raise errors.UsageError(f"{name} must hold non-empty strings only, got {items!r}")
    return items


class VmsService(PowerService):
    """What the sync and the async VM service share."""

    def __init__(self, client: ServiceClient) -> None:
        super().__init__(client)  # type: ignore[call-arg] # SyncService or AsyncService
        self._engine: Engine = client.engine

    @driven
    def list(
        self,
        *,
        vms: Iterable[str] | None = None,
        names: Iterable[str] | None = None,
        folders: Iterable[str] | None = None,
        datacenters: Iterable[str] | None = None,
        hosts: Iterable[str] | None = None,
        clusters: Iterable[str] | None = None,
        resource_pools: Iterable[str] | None = None,
        power_states: Iterable[str] | None = None,
    ) -> Plan[builtins.list[VmSummary]]:
        """The VMs matching every filter given: `vms`, `names`, `folders`, `datacenters`, `hosts`,
        `clusters`, `resource_pools` (lists of ids or names) and `power_states` (POWERED_ON,
        POWERED_OFF, SUSPENDED). More than 4,000 matches: errors.UnableToAllocateResource (narrow it).

        Example::

            web = vc.vms.list(names=["web-1", "web-2"], power_states=["POWERED_ON"])
        """
        values = (vms, names, folders, datacenters, hosts, clusters, resource_pools, power_states)
        from vcenter_guest_client import api  # noqa: PLC0415 - the operation index, loaded on the first request
        from vcenter_guest_client.models import PowerState  # noqa: PLC0415

        given = dict(zip(_filters(), values, strict=True))
        checked = {name: _strings(value, name) for name, value in given.items()}
        states = checked.get("power_states") or []
        bad = [s for s in states if s not in _power_states()]
        if bad:
            known = ", ".join(_power_states())
            raise errors.UsageError(f"power_states must be among {known}, not {', '.join(bad)}")
        arguments: dict[str, Any] = {k: v for k, v in checked.items() if v is not None}
        if "power_states" in arguments:
            arguments["power_states"] = [PowerState(s) for s in arguments["power_states"]]
        build = functools.partial(api.vm_list.request_kwargs, **arguments)
        parse = reader("an array of VM.Summary", _summaries)
        return self._engine.call(Call(operations()["vm.list"], build, parse))

    @driven
    def find(self, name_or_id: str) -> Plan[str]:
        """The id of the VM with this name (or this id, as it is): errors.NotFound when there is none,
        errors.UsageError listing them when several VMs have that name.

        Example::

            vm = vc.vms.find("web-1")   # "vm-42"
        """
        wanted = check_vm(name_or_id)
        return self._find(wanted)

    def _find(self, wanted: str) -> Plan[str]:
        plan: Plan[builtins.list[VmSummary]] = VmsService.list.plan(self, names=[wanted])
        found = yield from plan
        if not found:
            by_id = yield from VmsService.list.plan(self, vms=[wanted])
            if by_id:
                return by_id[0].vm
            raise errors.NotFound(f"no virtual machine is named {wanted!r} (nor has that id)", operation="vm.list")
        if len(found) > 1:
            ids = ", ".join(f"{s.vm} ({s.power_state.lower().replace('_', ' ')})" for s in found)
            raise errors.UsageError(f"{len(found)} virtual machines are named {wanted!r}: {ids}; use the id")
        return found[0].vm


class GuestService(GuestInfoService):
    """What the sync and the async guest service share."""

    def __init__(self, client: ServiceClient) -> None:
        super().__init__(client)  # type: ignore[call-arg] # SyncService or AsyncService
        self._engine: Engine = client.engine

    def readiness_call(self, vm: str) -> Call[GuestReadiness]:
        """Operations.get."""
        return readiness_call(vm)

    @driven
    def readiness(self, vm: str) -> Plan[GuestReadiness]:
        """Whether the guest of `vm` takes guest operations now (and interactive ones)."""
        return self._engine.call(self.readiness_call(check_vm(vm)))

    @driven
    def wait_ready(self, vm: str, *, timeout: float | None = None, interactive: bool = False) -> Plan[None]:
        """Waits until the guest of `vm` takes guest operations (after a boot: the tools start), polling
        Operations.get as `run` polls a program; errors.TimedOut after `timeout` seconds.

        Example::

            vc.guest.wait_ready("vm-42", timeout=300)
        """
        return self.wait_plan(check_vm(vm), check_run_timeout(timeout), interactive=bool(interactive))

    def wait_plan(self, vm: str, timeout: float | None, *, interactive: bool = False) -> Plan[None]:
        """The plan of `wait_ready` (checked arguments); `run(wait_ready=...)` runs it first."""
        return wait_ready_plan(self._engine, vm, timeout, interactive=interactive)


class Vms(VmsService, SyncService):
    """Virtual machines (`vc.vms`): list with filters, find by name; power, start, stop, suspend,
    reset; tools."""


class AsyncVms(VmsService, AsyncService):
    """Virtual machines of an AsyncClient (`vc.vms`): list with filters, find by name; power, start,
    stop, suspend, reset; tools; awaited."""


class Guest(GuestService, SyncService):
    """The guest (`vc.guest`): readiness, wait_ready; identity, environment, getenv, filesystems,
    networking, interfaces, routes; power, shutdown, reboot, standby."""


class AsyncGuest(GuestService, AsyncService):
    """The guest of an AsyncClient (`vc.guest`): readiness, wait_ready; identity, environment,
    getenv, filesystems, networking, interfaces, routes; power, shutdown, reboot, standby; awaited."""
