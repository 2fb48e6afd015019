"""The VM's Power (`com.vmware.vcenter.vm.power`), the guest's Power (`com.vmware.vcenter.vm.guest.power`)
and the VM's Tools (`com.vmware.vcenter.vm.tools`): power transitions and the Tools that start after them.

A power-on, a reset or a guest reboot leaves the Tools down for the VM's `boot_seconds`: guest
operations and the Tools' reports (Identity, LocalFilesystem, Networking) fail as a booting guest's
do until then. A soft power operation (shutdown, reboot, standby) takes the guest `shutdown_seconds`
to carry out; meanwhile the guest is SHUTTING_DOWN or RESETTING and takes no second one. The errors
are VMware's for each state (shared/vsphere-guest-services-facts.md §5-§7).
"""

from __future__ import annotations

from typing import Any

from vcenter_guest.mock._errors import MockError
from vcenter_guest.mock._handlers import handles_change, handles_read, part
from vcenter_guest.mock._state import VmState
from vcenter_guest.mock._vms import Vms

__all__ = ["PowerRules", "PowerStates"]

_ON, _OFF, _SUSPENDED = "POWERED_ON", "POWERED_OFF", "SUSPENDED"
# What a soft power operation leaves the VM in, and what the guest is doing meanwhile.
_SOFT = {"shutdown": (_OFF, "SHUTTING_DOWN"), "reboot": (_ON, "RESETTING"), "standby": (_SUSPENDED, "STANDBY")}


def _state_error(error_type: str, vm: str, text: str) -> MockError:
    return MockError(error_type, f"com.vmware.vcenter.vm.power.{error_type.lower()}", "{0}: " + text, vm)


class PowerRules(Vms):
    """What the power services and the Tools' reports share: soft power operations carried out when
    due, and whether the Tools run (a base of both parts, not a part itself: parts are siblings)."""

    def settled(self, vm_id: str) -> VmState:
        """The VM (or NOT_FOUND), a soft power operation that is due carried out."""
        vm = self.find_vm(vm_id)
        if vm.pending_power is not None and self.now() >= vm.pending_power[1]:
            action = vm.pending_power[0]
            vm.pending_power = None
            target, _ = _SOFT[action]
            if action == "reboot":
                self._restart(vm)
            else:
                self._switch(vm, target, clean=True)
        return vm

    def _switch(self, vm: VmState, state: str, *, clean: bool) -> None:
        """Moves the VM to a power state: a power-off or a suspension ends what the guest was doing."""
        if state == _OFF:
            vm.clean_power_off = clean
        self.update_vm(vm.spec.id, power_state=state)
        if state == _ON:
            vm.ready_at = self.now() + vm.spec.boot_seconds
        else:
            self._forget_programs(vm)

    def _restart(self, vm: VmState) -> None:
        """A reset or a reboot: the guest's programs end and its Tools start again after `boot_seconds`."""
        self._forget_programs(vm)
        vm.ready_at = self.now() + vm.spec.boot_seconds
        for transfer in vm.transfers.values():
            transfer.aborted = True
        vm.transfers.clear()

    def _forget_programs(self, vm: VmState) -> None:
        vm.processes = {pid: p for pid, p in vm.processes.items() if not p.from_create}
        vm.started.clear()
        vm.expiries.clear()

    def tools_running(self, vm: VmState) -> bool:
        """Whether the VM's Tools run now: powered on, not disabled by the inventory, booted."""
        return vm.spec.power_state == _ON and vm.spec.tools != "NOT_RUNNING" and self.now() >= vm.ready_at

    def check_tools_reporting(self, vm: VmState) -> None:
        """SERVICE_UNAVAILABLE (vCenter's own message) while the Tools are not running or have not reported."""
        if not self.tools_running(vm):
            raise MockError(
                "SERVICE_UNAVAILABLE",
                "com.vmware.api.vcenter.vm.guest.tools_not_running",
                "VMware Tools are not running in Virtual machine with identifier '{0}'.",
                vm.spec.id,
            )


@part
class PowerStates(PowerRules):
    """The simulator's power rules: the VM's power state, the guest's, and its Tools'."""

    # -- VM power

    def power_info(self, vm_id: str) -> dict[str, Any]:
        """Power.Info: the state, and whether a powered-off VM went down cleanly."""
        with self._lock:
            vm = self.settled(vm_id)
            info: dict[str, Any] = {"state": vm.spec.power_state}
            if vm.spec.power_state == _OFF:
                info["clean_power_off"] = vm.clean_power_off
            return info

    def _check_not_busy(self, vm: VmState) -> None:
        if vm.spec.busy or vm.pending_power is not None:
            raise _state_error("RESOURCE_BUSY", vm.spec.id, "the virtual machine is performing another operation.")

    def _check_not_template(self, vm: VmState) -> None:
        if vm.spec.template:
            raise _state_error("UNSUPPORTED", vm.spec.id, "a template cannot be powered on.")

    def power_change(self, vm_id: str, action: str) -> None:
        """Power.start, stop, suspend or reset, with VMware's error for each state."""
        with self._lock:
            vm = self.settled(vm_id)
            state, vm_name = vm.spec.power_state, vm.spec.id
            if action == "start":
                self._check_not_template(vm)
                if state == _ON:
                    raise _state_error(
                        "ALREADY_IN_DESIRED_STATE", vm_name, "the virtual machine is already powered on."
                    )
            elif action == "stop" and state == _OFF:
                raise _state_error("ALREADY_IN_DESIRED_STATE", vm_name, "the virtual machine is already powered off.")
            elif action == "suspend" and state != _ON:
                if state == _SUSPENDED:
                    raise _state_error("ALREADY_IN_DESIRED_STATE", vm_name, "the virtual machine is already suspended.")
                raise _state_error("NOT_ALLOWED_IN_CURRENT_STATE", vm_name, "the virtual machine is powered off.")
            elif action == "reset" and state != _ON:
                raise _state_error("NOT_ALLOWED_IN_CURRENT_STATE", vm_name, "the virtual machine is not powered on.")
            self._check_not_busy(vm)
            if action == "reset":
                self._restart(vm)
            else:
                self._switch(vm, {"start": _ON, "stop": _OFF, "suspend": _SUSPENDED}[action], clean=False)

    # -- guest power

    def guest_power_info(self, vm_id: str) -> dict[str, Any]:
        """guest Power.Info: what the guest is doing, and whether it takes soft power operations now."""
        with self._lock:
            vm = self.settled(vm_id)
            if vm.pending_power is not None:
                return {"state": _SOFT[vm.pending_power[0]][1], "operations_ready": False}
            if vm.spec.power_state == _OFF:
                return {"state": "NOT_RUNNING", "operations_ready": False}
            if vm.spec.power_state == _SUSPENDED:
                return {"state": "STANDBY", "operations_ready": False}
            if not self.tools_running(vm):
                return {"state": "UNAVAILABLE", "operations_ready": False}
            return {"state": "RUNNING", "operations_ready": True}

    def guest_power_change(self, vm_id: str, action: str) -> None:
        """guest Power.shutdown, reboot or standby: the guest starts carrying it out (`shutdown_seconds`)."""
        with self._lock:
            vm = self.settled(vm_id)
            state, vm_name = vm.spec.power_state, vm.spec.id
            self._check_not_template(vm)
            if state == _OFF:
                error = "ALREADY_IN_DESIRED_STATE" if action == "shutdown" else "NOT_ALLOWED_IN_CURRENT_STATE"
                raise _state_error(error, vm_name, "the virtual machine is not powered on.")
            if state == _SUSPENDED:
                error = "ALREADY_IN_DESIRED_STATE" if action == "standby" else "NOT_ALLOWED_IN_CURRENT_STATE"
                raise _state_error(error, vm_name, "the virtual machine is suspended.")
            self._check_not_busy(vm)
            self.check_tools_reporting(vm)
            vm.pending_power = (action, self.now() + vm.spec.shutdown_seconds)
        self.settled(vm_id)

    # -- Tools

    def tools_info(self, vm_id: str) -> dict[str, Any]:
        """Tools.Info: open-vm-tools on POSIX guests, the MSI-installed Tools on Windows."""
        with self._lock:
            vm = self.settled(vm_id)
            spec = vm.spec
            old = spec.tools == "UNSUPPORTED"
            running = self.tools_running(vm) and vm.pending_power is None
            version_number = (10 << 10) if old else (12 << 10) + (5 << 5)
            info: dict[str, Any] = {
                "auto_update_supported": spec.windows,
                "version_number": version_number,
                "version": "10.0.0" if old else "12.5.0",
                "upgrade_policy": "MANUAL",
                "version_status": "TOO_OLD_UNSUPPORTED" if old else ("CURRENT" if spec.windows else "UNMANAGED"),
                "install_type": "MSI" if spec.windows else "OPEN_VM_TOOLS",
                "run_state": "RUNNING" if running else "NOT_RUNNING",
            }
            if spec.power_state == _ON:
                info["guest_reboot_status"] = {"reboot_requested": False}
            return info


handles_read("power.get", PowerStates.power_info)
for _action in ("start", "stop", "suspend", "reset"):
    handles_change(f"power.{_action}", PowerStates.power_change)
handles_read("guest_power.get", PowerStates.guest_power_info)
for _action in _SOFT:
    handles_change(f"guest_power.{_action}", PowerStates.guest_power_change)
handles_read("tools.get", PowerStates.tools_info)
