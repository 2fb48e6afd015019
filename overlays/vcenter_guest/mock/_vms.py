"""Virtual machines: their run-time state, whether they can run guest operations, their guest users and
file systems: the core part every guest operation meets (VM.list and Operations.get are `services.vms`)."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._errors import MockError
from ._filesystem import Account, GuestFilesystem, Kind
from ._inventory import InventoryError
from ._records import GuestUser, VmSpec
from ._state import Process, SimulatorState, VmState, account

__all__ = ["VmState", "Vms", "account", "build_filesystem"]

_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
_PROGRAM_BYTES = b"\x7fELF vcenter-guest mock program\n"


def build_filesystem(spec: VmSpec, clock: Callable[[], float] | None = None) -> GuestFilesystem:
    """A VM's file system as the inventory describes it; InventoryError if the description contradicts itself."""
    fs = GuestFilesystem(windows=spec.windows, capacity=2**63, clock=clock)
    root = Account("(inventory)", 0, True, "/")
    owners = {u.name: u for u in spec.guest_users}

    def directory(path: str, mode: int = 0o755) -> None:
        if not fs.exists(path, root):
            fs.make_directory(path, root, mode=mode, parents=True)
        elif fs.lookup(path, root)[0].kind is not Kind.DIRECTORY:
            raise InventoryError(f"{spec.id}: {path} is both a directory and a file")

    def parent_of(path: str) -> None:
        parent = fs.parent_path(path)
        if not fs.exists(parent, root):
            directory(parent)

    try:
        if spec.windows:
            for path in ("C:\\Windows", "C:\\Windows\\Temp", "C:\\Users"):
                directory(path)
        else:
            directory("/tmp", 0o1777)  # noqa: S108 - a guest path
            directory("/root", 0o700)
        for user in spec.guest_users:
            if not fs.exists(user.home, root):
                parent_of(user.home)
                home = fs.make_directory(user.home, root, mode=0o750 if not spec.windows else 0o777)
                home.owner = home.group = account(user).uid
            if spec.windows:
                fs.make_directory(fs.join([*fs.split(user.home), "AppData", "Local", "Temp"]), root, parents=True)
        for path in sorted(spec.directories):
            directory(path)
        for path, target in spec.symlinks.items():
            parent_of(path)
            fs.symlink(path, target, root)
        for path, program in spec.programs.items():
            parent_of(path)
            node = fs.write_file(path, _PROGRAM_BYTES, root, overwrite=False, mode=0o755)
            node.program = program
        for path, guest_file in spec.files.items():
            parent_of(path)
            node = fs.write_file(path, guest_file.data(), root, overwrite=False, mode=guest_file.mode or 0o644)
            if guest_file.owner is not None:
                node.owner = node.group = account(owners[guest_file.owner]).uid
            node.hidden, node.read_only = guest_file.hidden, guest_file.read_only
    except MockError as error:
        raise InventoryError(f"{spec.id}: the guest's files cannot be laid out: {error.text}") from None
    fs.capacity = fs.taken() + spec.disk_bytes
    return fs


def _layout(spec: VmSpec) -> tuple[Any, ...]:
    # What build_filesystem reads: VMs with the same layout need to be checked once.
    return (
        spec.windows,
        tuple(sorted(spec.directories)),
        tuple(spec.programs),
        tuple(spec.files),
        tuple(spec.symlinks.items()),
        tuple((u.name, u.home) for u in spec.guest_users),
    )


class Vms(SimulatorState):
    """The simulator's VMs and the guest users who log in to them."""

    def check_layouts(self) -> None:
        """Builds one file system per distinct layout of the inventory, so that a bad one fails at start."""
        seen: set[tuple[Any, ...]] = set()
        for spec in self.inventory.vms.values():
            key = _layout(spec)
            if key not in seen:
                seen.add(key)
                build_filesystem(spec)

    def wall(self) -> float:
        """Wall-clock seconds now, from the injected clock (file times)."""
        return self._wall0 + (self.now() - self._mono0)

    def filesystem(self, vm: VmState) -> GuestFilesystem:
        """The VM's file system (built on first use)."""
        if vm.fs is None:
            fs = build_filesystem(vm.spec, self.wall)
            fs.lock = self._lock
            fs.max_depth = self.budget.tree_depth
            vm.fs = fs
        return vm.fs

    def _new_vm_state(self, spec: VmSpec) -> VmState:
        state = VmState(
            spec=spec,
            next_pid=spec.first_pid,
            users={u.name: u for u in spec.guest_users},
            tokens={u.saml_token: u for u in spec.guest_users if u.saml_token},
            ready_at=self.now() + spec.ready_after,
        )
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
            old = vm.spec
            vm.spec = attrs.evolve(old, **changes)
            if (old.power_state, old.tools) != (vm.spec.power_state, vm.spec.tools):
                vm.ready_at = self.now() + vm.spec.ready_after
            if old.power_state != vm.spec.power_state:
                for transfer in vm.transfers.values():
                    transfer.aborted = True  # a power change ends every transfer, running ones too
                vm.transfers.clear()

    def vm_ids(self) -> list[str]:
        """The ids of the VMs in the inventory."""
        return list(self._vms)

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
        if self.now() < vm.ready_at:
            # What vCenter answers while the guest boots and vmtoolsd has not started its guest operations.
            raise MockError(
                "SERVICE_UNAVAILABLE",
                "com.vmware.vcenter.vm.guest.agent_unreachable",
                "The guest operations agent could not be contacted.",
            )

    def guest_login(self, vm_id: str, credentials: Mapping[str, Any]) -> tuple[VmState, GuestUser]:
        """What every guest operation checks first, in vCenter's order: the VM, its state, the credentials."""
        vm = self.find_vm(vm_id)
        self.check_vm_ready(vm)
        return vm, self.check_guest_credentials(vm, credentials)

    def guest_files(
        self, vm_id: str, credentials: Mapping[str, Any]
    ) -> tuple[VmState, GuestUser, GuestFilesystem, Account]:
        """The ready VM, the guest user the credentials log in as, its file system and the user's account."""
        vm, user = self.guest_login(vm_id, credentials)
        return vm, user, self.filesystem(vm), account(user)

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
