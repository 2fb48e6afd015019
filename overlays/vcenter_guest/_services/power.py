"""A VM's power and Tools (`vc.vms.power`, `start`, `stop`, `suspend`, `reset`, `tools`): VMware's VM
Power and Tools services, written once for both clients (mixed into `vms.Vms` and `vms.AsyncVms`).

start, stop and suspend wait (up to `timeout`) until the VM reports the state asked for: VMware's
answer does not say whether its 204 comes before or after the change. start and reset then wait for
the guest's operations when `wait_ready` gives the seconds to allow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vcenter_guest._engine import Call, Engine, Plan
from vcenter_guest._engine.waiting import wait_until

from .answers import no_content, reader, vm_call
from .base import driven
from .checks import check_power_timeout, check_run_timeout, check_vm
from .readiness import wait_ready_plan

if TYPE_CHECKING:  # the values load on the first answer (see vcenter_guest._values.ON_FIRST_USE)
    from vcenter_guest._values import ToolsInfo, VmPower

__all__ = ["DEFAULT_POWER_TIMEOUT", "PowerService", "power_call", "wait_power"]

DEFAULT_POWER_TIMEOUT = 300.0
"""Seconds `start`, `stop`, `suspend` and the guest's `shutdown` wait for the state they asked for."""


def _vm_power(raw: Any) -> VmPower:
    from vcenter_guest_client.models import PowerInfo  # noqa: PLC0415 - loaded on the first request

    from vcenter_guest._values.guest import VmPower  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = PowerInfo.from_dict(raw)
    clean = wire.optional(model.clean_power_off, wire.boolean)
    return VmPower(state=wire.text(model.state.value), clean_power_off=clean)


def _tools(raw: Any) -> ToolsInfo:
    from vcenter_guest_client.models import ToolsInfo as Model  # noqa: PLC0415

    from vcenter_guest._values.guest import ToolsInfo  # noqa: PLC0415 - loaded on the first answer
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = Model.from_dict(raw)
    error = wire.optional(model.error, lambda e: e.to_dict())  # type: ignore[attr-defined]
    reboot = wire.optional(model.guest_reboot_status, lambda s: wire.boolean(s.reboot_requested))  # type: ignore[attr-defined]
    return ToolsInfo(
        run_state=model.run_state.value,
        upgrade_policy=model.upgrade_policy.value,
        auto_update_supported=wire.boolean(model.auto_update_supported),
        version=wire.optional(model.version, wire.text),
        version_number=wire.optional(model.version_number, wire.integer),
        version_status=wire.optional(model.version_status, lambda v: v.value),  # type: ignore[attr-defined]
        install_type=wire.optional(model.install_type, lambda v: v.value),  # type: ignore[attr-defined]
        install_attempt_count=wire.optional(model.install_attempt_count, wire.integer),
        error=error,
        reboot_requested=reboot,
    )


def power_call(vm: str) -> Call[VmPower]:
    """Power.get."""
    from vcenter_guest_client import api  # noqa: PLC0415 - the operation index, loaded on the first request

    return vm_call("power.get", api.power_get.request_kwargs, vm, reader("a Power.Info", _vm_power))


def wait_power(engine: Engine, vm: str, state: str, timeout: float | None, operation: str) -> Plan[None]:
    """Waits until the VM reports the power `state` (after `operation` asked for it)."""
    last: list[str] = []

    def check() -> Plan[bool]:
        found: VmPower = yield from engine.call(power_call(vm))
        last[:] = [found.state]
        return found.state == state

    def what(timeout: float) -> str:
        return f"the VM did not reach {state} within {timeout:g} s (still {last[0] if last else 'unknown'})"

    return wait_until(engine, check, timeout, what=what, operation=operation, vm=vm)


class PowerService:
    """What the sync and the async VM service share about power and Tools (mixed into VmsService)."""

    _engine: Engine

    @driven
    def power(self, vm: str) -> Plan[VmPower]:
        """The VM's power state (POWERED_ON, POWERED_OFF, SUSPENDED), and whether a powered-off VM
        went down cleanly.

        Example::

            vc.vms.power("vm-42").state   # "POWERED_ON"
        """
        return self._engine.call(power_call(check_vm(vm)))

    def _change(
        self, action: str, vm: str, reached: str | None, timeout: float | None, wait_ready: float | None
    ) -> Plan[None]:
        from vcenter_guest_client import api  # noqa: PLC0415

        operation = f"power.{action}"
        endpoints = {"start": api.power_start, "stop": api.power_stop, "suspend": api.power_suspend}
        build = {**endpoints, "reset": api.power_reset}[action].request_kwargs
        yield from self._engine.call(vm_call(operation, build, vm, no_content))
        if reached is not None and timeout != 0:
            yield from wait_power(self._engine, vm, reached, timeout, operation)
        if wait_ready is not None:
            yield from wait_ready_plan(self._engine, vm, wait_ready)

    @driven
    def start(
        self, vm: str, *, timeout: float | None = DEFAULT_POWER_TIMEOUT, wait_ready: float | None = None
    ) -> Plan[None]:
        """Powers the VM on (from off or suspended) and waits until it reports POWERED_ON (`timeout`
        seconds; 0: not at all); with `wait_ready` seconds, then until its guest takes guest
        operations (its Tools have started). Already on: errors.AlreadyInDesiredState.

        Example::

            vc.vms.start("vm-42", wait_ready=300)
            vc.processes.run("vm-42", creds, "/bin/true")
        """
        return self._change("start", check_vm(vm), "POWERED_ON", check_power_timeout(timeout), _ready(wait_ready))

    @driven
    def stop(self, vm: str, *, timeout: float | None = DEFAULT_POWER_TIMEOUT) -> Plan[None]:
        """Powers the VM off at once, without asking the guest (`vc.guest.shutdown` asks it), and waits
        until it reports POWERED_OFF (`timeout` seconds; 0: not at all). Already off:
        errors.AlreadyInDesiredState.

        Example::

            vc.vms.stop("vm-42")
        """
        return self._change("stop", check_vm(vm), "POWERED_OFF", check_power_timeout(timeout), None)

    @driven
    def suspend(self, vm: str, *, timeout: float | None = DEFAULT_POWER_TIMEOUT) -> Plan[None]:
        """Suspends the powered-on VM and waits until it reports SUSPENDED (`timeout` seconds; 0: not
        at all). Already suspended: errors.AlreadyInDesiredState; powered off: errors.NotAllowedInCurrentState.

        Example::

            vc.vms.suspend("vm-42")
        """
        return self._change("suspend", check_vm(vm), "SUSPENDED", check_power_timeout(timeout), None)

    @driven
    def reset(self, vm: str, *, wait_ready: float | None = None) -> Plan[None]:
        """Resets the powered-on VM, as its reset button would (the power state stays POWERED_ON, so
        there is nothing to wait for but the guest: `wait_ready` seconds for its guest operations).

        Example::

            vc.vms.reset("vm-42", wait_ready=300)
        """
        return self._change("reset", check_vm(vm), None, None, _ready(wait_ready))

    @driven
    def tools(self, vm: str) -> Plan[ToolsInfo]:
        """The VM's VMware Tools: whether they run, their version and upgrade policy.

        Example::

            vc.vms.tools("vm-42").running
        """
        from vcenter_guest_client import api  # noqa: PLC0415

        return self._engine.call(
            vm_call("tools.get", api.tools_get.request_kwargs, check_vm(vm), reader("a Tools.Info", _tools))
        )


def _ready(value: object) -> float | None:
    return check_run_timeout(value, "wait_ready")
