"""Virtual machines: their run-time state, whether they can run guest operations, and their guest users."""

from __future__ import annotations

import hmac
import ntpath
import posixpath
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import MockError
from ._inventory import GuestUser, Program, VmSpec
from ._state import SimulatorState

if TYPE_CHECKING:
    from ._processes import Process

__all__ = ["VmState", "Vms"]

_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


@attrs.define(eq=False)
class VmState:
    """A VM at run time: its (replaceable) spec, its processes and its pid counter."""

    spec: VmSpec
    next_pid: int
    processes: dict[int, Process] = attrs.field(factory=dict)
    # (time the process may be forgotten, pid), earliest first: purging is O(log n) per process.
    expiries: list[tuple[float, int]] = attrs.field(factory=list)
    # Processes started by create that were running when last looked at (max_running_processes).
    started: dict[int, Process] = attrs.field(factory=dict)
    users: dict[str, GuestUser] = attrs.field(factory=dict)
    tokens: dict[str, GuestUser] = attrs.field(factory=dict)
    programs: dict[str, Program] = attrs.field(factory=dict)
    directories: frozenset[str] = frozenset()


class Vms(SimulatorState):
    """The simulator's VMs and the guest users who log in to them."""

    def _new_vm_state(self, spec: VmSpec) -> VmState:
        norm = self.normalize_path
        users = {u.name: u for u in spec.guest_users}
        directories = {norm(spec, d) for d in spec.directories}
        directories |= {norm(spec, u.home) for u in spec.guest_users}
        for path in spec.programs:
            parent = norm(spec, path)
            while True:
                parent = (ntpath if spec.windows else posixpath).dirname(parent)
                if parent in directories or not parent:
                    break
                directories.add(parent)
                if parent in {"/", "c:\\"} or parent.endswith(("/", "\\")):
                    break
        state = VmState(
            spec=spec,
            next_pid=spec.first_pid,
            users=users,
            tokens={u.saml_token: u for u in spec.guest_users if u.saml_token},
            programs={norm(spec, path): program for path, program in spec.programs.items()},
            directories=frozenset(directories),
        )
        from ._processes import Process  # noqa: PLC0415 - processes build on VMs, not the other way round

        boot = self.now()
        for p in spec.processes:
            state.processes[p.pid] = Process(p.pid, p.name, p.owner, p.command, boot, self.timestamp(boot))
        return state

    def update_vm(self, vm_id: str, **changes: Any) -> None:
        """Changes a VM's power state, tools, busy flag... at run time (its processes stay).

        >>> sim = Simulator({"users": [], "vms": [{"id": "vm-1"}]})
        >>> sim.update_vm("vm-1", tools="NOT_RUNNING")
        """
        with self._lock:
            vm = self._vms[vm_id]
            vm.spec = attrs.evolve(vm.spec, **changes)

    def vm_ids(self) -> list[str]:
        """The ids of the VMs in the inventory."""
        return list(self._vms)

    @staticmethod
    def normalize_path(vm: VmSpec, path: str) -> str:
        """A guest path as the guest's file system compares it (Windows: case-insensitive)."""
        if vm.windows:
            return ntpath.normcase(ntpath.normpath(path)) if path else path
        return posixpath.normpath(path) if path else path

    def is_absolute(self, vm: VmSpec, path: str) -> bool:
        """Whether `path` is an absolute path in the guest's OS."""
        return bool(_WINDOWS_ABSOLUTE.match(path)) if vm.windows else path.startswith("/")

    def find_vm(self, vm_id: str) -> VmState:
        """The VM, or NOT_FOUND."""
        vm = self._vms.get(vm_id)
        if vm is None:
            raise MockError(
                "NOT_FOUND", "com.vmware.vcenter.vm.not_found", "The virtual machine {0} was not found.", vm_id
            )
        return vm

    def check_vm_ready(self, vm: VmState) -> None:
        """Raises the error of a VM that cannot run guest operations now."""
        spec = vm.spec
        if spec.power_state != "POWERED_ON":
            raise MockError(
                "NOT_ALLOWED_IN_CURRENT_STATE",
                "com.vmware.vcenter.vm.guest.vm_not_running",
                "The virtual machine {0} is not running.",
                spec.id,
            )
        if spec.tools == "UNSUPPORTED":
            raise MockError(
                "UNSUPPORTED",
                "com.vmware.vcenter.vm.guest.operations_unsupported",
                "Guest operations are not supported by the VMware Tools in virtual machine {0}.",
                spec.id,
            )
        if spec.tools == "DISABLED":
            raise MockError(
                "UNSUPPORTED",
                "com.vmware.vcenter.vm.guest.operations_disabled",
                "Guest operations are disabled by the VMware Tools in virtual machine {0}.",
                spec.id,
            )
        if spec.tools != "RUNNING":
            # vCenter's own id and wording, as seen in a vCenter answer (ansible-collections/vmware.vmware_rest#179).
            raise MockError(
                "SERVICE_UNAVAILABLE",
                "com.vmware.api.vcenter.vm.guest.tools_not_running",
                "VMware Tools are not running in Virtual machine with identifier '{0}'.",
                spec.id,
            )
        if spec.busy:
            raise MockError(
                "RESOURCE_BUSY", "com.vmware.vcenter.vm.guest.vm_busy", "The virtual machine {0} is busy.", spec.id
            )

    def _invalid_credentials(self, kind: str, field: str) -> MockError:
        return MockError(
            "INVALID_ARGUMENT",
            "com.vmware.vcenter.vm.guest.credentials.missing_field",
            "Guest credentials of type {0} need the field {1}.",
            kind,
            field,
        )

    def invalid_guest_login(self, vm: VmState) -> MockError:
        """UNAUTHENTICATED for guest credentials that do not log in (never says which part is wrong)."""
        return MockError(
            "UNAUTHENTICATED",
            "com.vmware.vcenter.vm.guest.invalid_guest_login",
            "Failed to authenticate with the guest operating system of virtual machine {0} "
            "using the supplied credentials.",
            vm.spec.id,
        )

    def check_guest_credentials(self, vm: VmState, credentials: Mapping[str, Any]) -> GuestUser:
        """The guest user the credentials log in as; INVALID_ARGUMENT if malformed, UNAUTHENTICATED if wrong."""
        kind = credentials.get("type")
        name = credentials.get("user_name")
        if kind == "USERNAME_PASSWORD":
            for field in ("user_name", "password"):
                if not isinstance(credentials.get(field), str):
                    raise self._invalid_credentials(kind, field)
            user = vm.users.get(name) if isinstance(name, str) else None
            password = credentials["password"]
            if (
                user is None
                or user.password is None
                or not hmac.compare_digest(user.password.encode(), password.encode())
            ):
                raise self.invalid_guest_login(vm)
            return user
        if kind == "SAML_BEARER_TOKEN":
            token = credentials.get("saml_token")
            if not isinstance(token, str):
                raise self._invalid_credentials(kind, "saml_token")
            if credentials.get("interactive_session"):
                raise MockError(
                    "INVALID_ARGUMENT",
                    "com.vmware.vcenter.vm.guest.credentials.interactive_unsupported",
                    "Interactive sessions need credentials of type {0}.",
                    "USERNAME_PASSWORD",
                )
            user = vm.tokens.get(token)
            if user is None or (name is not None and name != user.name):
                raise self.invalid_guest_login(vm)
            return user
        raise self._invalid_credentials(str(kind), "type")
