"""VM lookup (`vc.vms`: VM.list, by name) and guest readiness (`vc.guest`: Operations.get, waiting for it),
written once for both clients (see `base`)."""

from __future__ import annotations

import builtins
import functools
import inspect
from collections.abc import Iterable
from typing import Any

import httpx

from vcenter_guest import errors
from vcenter_guest._engine import Call, Engine, Plan, Sleep
from vcenter_guest._engine.polling import poll_offsets
from vcenter_guest._values import GuestReadiness, VmSummary
from vcenter_guest.operations import operations

from .base import AsyncService, ServiceClient, SyncService, driven
from .checks import check_run_timeout, check_vm

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


def _summaries(raw: Any) -> builtins.list[VmSummary]:
    from vcenter_guest_client.models import VMSummary  # noqa: PLC0415

    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    if not isinstance(raw, builtins.list):
        raise TypeError("not an array")
    found = []
    for item in raw:
        model = VMSummary.from_dict(item)
        found.append(
            VmSummary(
                vm=wire.text(model.vm),
                name=wire.text(model.name),
                power_state=wire.text(model.power_state.value),
                cpu_count=wire.optional(model.cpu_count, wire.integer),
                memory_size_mib=wire.optional(model.memory_size_mi_b, wire.integer),
            )
        )
    return found


def _readiness(raw: Any) -> GuestReadiness:
    from vcenter_guest_client.models import GuestOperationsInfo  # noqa: PLC0415

    model = GuestOperationsInfo.from_dict(raw)
    ready, interactive = model.guest_operations_ready, model.interactive_guest_operations_ready
    if not isinstance(ready, bool) or not isinstance(interactive, bool):
        raise TypeError("not a boolean")
    return GuestReadiness(ready, interactive)


def _strings(value: object, name: str) -> builtins.list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise errors.UsageError(f"{name} must be a list of strings (e.g. {name}=['a', 'b']), not {value!r}")
    items = builtins.list(value)
    if not all(isinstance(item, str) and item for item in items):
        raise errors.UsageError(f"{name} must hold non-empty strings only, got {items!r}")
    return items


class VmsService:
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

        from vcenter_guest._wire import responses as wire  # noqa: PLC0415

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

        def parse(response: httpx.Response, call: Call[builtins.list[VmSummary]]) -> builtins.list[VmSummary]:
            return wire.read(response, call, "an array of VM.Summary", _summaries)

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


class GuestService:
    """What the sync and the async guest service share."""

    def __init__(self, client: ServiceClient) -> None:
        super().__init__(client)  # type: ignore[call-arg] # SyncService or AsyncService
        self._engine: Engine = client.engine

    def readiness_call(self, vm: str) -> Call[GuestReadiness]:
        """Operations.get."""
        from vcenter_guest_client import api  # noqa: PLC0415 - the operation index, loaded on the first request

        from vcenter_guest._wire import responses as wire  # noqa: PLC0415

        build = functools.partial(api.operations_get.request_kwargs, vm)

        def parse(response: httpx.Response, call: Call[GuestReadiness]) -> GuestReadiness:
            return wire.read(response, call, "a GuestOperationsInfo", _readiness)

        return Call(operations()["operations.get"], build, parse, vm=vm)

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
        engine = self._engine
        clock = engine.clock
        start = clock()
        for offset in poll_offsets(engine.rng):
            due = start + offset
            if timeout is not None:
                due = min(due, start + timeout)
            pause = due - clock()
            if pause > 0:
                yield Sleep(pause)
            state: GuestReadiness = yield from engine.call(self.readiness_call(vm))
            if state.interactive_guest_operations_ready if interactive else state.guest_operations_ready:
                return
            if timeout is not None and clock() >= start + timeout:
                raise errors.TimedOut(
                    f"{vm}: the guest did not become ready for guest operations within {timeout:g} s "
                    "(are VMware Tools running?)",
                    operation="operations.get",
                    vm=vm,
                )
        raise AssertionError("poll_offsets() never ends")  # pragma: no cover


class Vms(VmsService, SyncService):
    """Virtual machines (`vc.vms`): list with filters, find by name."""


class AsyncVms(VmsService, AsyncService):
    """Virtual machines of an AsyncClient (`vc.vms`): list with filters, find by name, awaited."""


class Guest(GuestService, SyncService):
    """Guest readiness (`vc.guest`): readiness, wait_ready."""


class AsyncGuest(GuestService, AsyncService):
    """Guest readiness of an AsyncClient (`vc.guest`): readiness, wait_ready, awaited."""
