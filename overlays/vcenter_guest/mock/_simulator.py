"""The state and behaviour of the mock vCenter, with no HTTP in it.

`Simulator` holds sessions, VMs and processes. Each rule of the API is a small method so that a
subclass can break exactly one of them (the fuzz tests build deliberately wrong servers this way),
and the HTTP layer (`_app`) only parses, validates, calls one public method and renders.

Time comes from an injectable monotonic `clock`: a process's end is computed from its start and
duration when someone looks (no timers, no threads per process), and tests move a fake clock
instead of sleeping.
"""

from __future__ import annotations

import datetime
import heapq
import hmac
import logging
import math
import ntpath
import posixpath
import random
import re
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._errors import MAX_ARG_LENGTH, MockError
from ._inventory import GuestUser, Inventory, Program, VmSpec, load_inventory

__all__ = ["CHALLENGE", "MAX_PATH_LENGTH", "TERMINATED_EXIT_CODE", "Process", "Session", "Simulator", "VmState"]

log = logging.getLogger("vcenter_guest.mock")

CHALLENGE = 'Basic realm="vCenter"'
# What a POSIX process killed by SIGTERM reports (128 + 15).
TERMINATED_EXIT_CODE = 143
MAX_PATH_LENGTH = 4096

_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


@attrs.define(eq=False)
class Session:
    """An API session. The id is a secret: it is kept out of the repr."""

    id: str = attrs.field(repr=False)
    user: str
    created: float
    last_accessed: float


@attrs.define(eq=False)
class Process:
    """A process in a guest. Started by create unless `exit_code` is None (an inventory process)."""

    pid: int
    name: str
    owner: str
    command: str
    started: float
    started_text: str = ""  # formatted when first shown: most processes are never looked at
    duration: float = math.inf
    exit_code: int | None = None
    ignores_term: bool = False
    terminated_at: float | None = None

    @property
    def from_create(self) -> bool:
        """Whether create started it (only those report `finished` and `exit_code`)."""
        return self.exit_code is not None

    def finished_at(self) -> float | None:
        """When it ended (monotonic seconds), or None while it runs."""
        end = self.started + self.duration if self.exit_code is not None else math.inf
        if self.terminated_at is not None and self.terminated_at < end:
            return self.terminated_at
        return end if end != math.inf else None

    def final_exit_code(self) -> int | None:
        """The exit code once finished: the program's own, or 143 if delete ended it first."""
        if self.exit_code is None:
            return None
        if self.terminated_at is not None and self.terminated_at < self.started + self.duration:
            return TERMINATED_EXIT_CODE
        return self.exit_code


@attrs.define(eq=False)
class VmState:
    """A VM at run time: its (replaceable) spec, its processes and its pid counter."""

    spec: VmSpec
    next_pid: int
    processes: dict[int, Process] = attrs.field(factory=dict)
    # (time the process may be forgotten, pid), earliest first: purging is O(log n) per process.
    expiries: list[tuple[float, int]] = attrs.field(factory=list)
    users: dict[str, GuestUser] = attrs.field(factory=dict)
    tokens: dict[str, GuestUser] = attrs.field(factory=dict)
    programs: dict[str, Program] = attrs.field(factory=dict)
    directories: frozenset[str] = frozenset()


class Simulator:
    """The mock vCenter's state and rules; `create_app(simulator_cls=...)` accepts subclasses.

    >>> from vcenter_guest.mock import DEMO_INVENTORY, DEMO_VM
    >>> sim = Simulator(DEMO_INVENTORY)
    >>> creds = {"type": "USERNAME_PASSWORD", "interactive_session": False,
    ...          "user_name": "root", "password": "vmware"}
    >>> pid = sim.create_process(DEMO_VM, creds, {"path": "/bin/true"})
    >>> sim.get_process(DEMO_VM, pid, creds)["exit_code"]
    0
    """

    def __init__(
        self,
        inventory: Inventory | Mapping[str, Any] | str | Any,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.inventory = load_inventory(inventory)
        self.clock = clock
        self._mono0 = clock()
        self._wall0 = wall_clock()
        self._lock = threading.RLock()
        self._sessions: dict[str, Session] = {}
        self._session_creations = 0
        self._vms: dict[str, VmState] = {}
        self._fault_rngs: dict[str, random.Random] = {}
        for spec in self.inventory.vms.values():
            self._vms[spec.id] = self._new_vm_state(spec)

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        """Monotonic seconds, from the injected clock."""
        return self.clock()

    def timestamp(self, t: float) -> str:
        """An ISO 8601 UTC date-time for monotonic time `t`, e.g. `2026-11-27T10:15:30.000Z`."""
        wall = self._wall0 + (t - self._mono0)
        text = datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")

    # -- VMs ----------------------------------------------------------------------------------

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
            raise MockError(
                "SERVICE_UNAVAILABLE",
                "com.vmware.vcenter.vm.guest.tools_not_running",
                "VMware Tools are not running in the guest of virtual machine {0}.",
                spec.id,
            )
        if spec.busy:
            raise MockError(
                "RESOURCE_BUSY", "com.vmware.vcenter.vm.guest.vm_busy", "The virtual machine {0} is busy.", spec.id
            )

    # -- API sessions ---------------------------------------------------------------------------

    def new_session_id(self) -> str:
        """A fresh, unguessable session id."""
        return secrets.token_hex(16)

    def check_api_credentials(self, user_name: str, password: str) -> str:
        """The user's name if the credentials are right, else UNAUTHENTICATED (no hint which part is wrong)."""
        user = self.inventory.users.get(user_name)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            raise self.unauthenticated()
        return user.name

    def unauthenticated(self) -> MockError:
        """The error for a missing, unknown or expired session, or wrong basic credentials."""
        return MockError(
            "UNAUTHENTICATED",
            "com.vmware.vapi.endpoint.method.authentication.required",
            "Authentication required.",
            challenge=CHALLENGE,
        )

    def create_session(self, user_name: str, password: str) -> str:
        """Logs in an API user; returns the new session id."""
        with self._lock:
            name = self.check_api_credentials(user_name, password)
            now = self.now()
            self._session_creations += 1
            if self._session_creations % 256 == 0:
                self._purge_sessions(now)
            session = Session(self.new_session_id(), name, now, now)
            self._sessions[session.id] = session
            log.info("API session created for %s", name)
            return session.id

    def _purge_sessions(self, now: float) -> None:
        timeout = self.inventory.session_idle_timeout
        for key in [k for k, s in self._sessions.items() if now - s.last_accessed >= timeout]:
            del self._sessions[key]

    def session(self, session_id: str | None) -> Session:
        """The live session with this id (marked as used now), or UNAUTHENTICATED."""
        with self._lock:
            session = self._sessions.get(session_id) if session_id else None
            if session is None:
                raise self.unauthenticated()
            now = self.now()
            if now - session.last_accessed >= self.inventory.session_idle_timeout:
                del self._sessions[session.id]
                log.info("API session of %s expired", session.user)
                raise self.unauthenticated()
            session.last_accessed = now
            return session

    def session_info(self, session: Session) -> dict[str, Any]:
        """`Cis.Session.Info` of a session."""
        return {
            "user": session.user,
            "created_time": self.timestamp(session.created),
            "last_accessed_time": self.timestamp(session.last_accessed),
        }

    def delete_session(self, session: Session) -> None:
        """Logs out."""
        with self._lock:
            self._sessions.pop(session.id, None)
            log.info("API session of %s deleted", session.user)

    def authorize(self, session: Session, privilege: str) -> None:
        """UNAUTHORIZED unless the session's user holds `privilege`."""
        user = self.inventory.users.get(session.user)
        if user is None or privilege not in user.privileges:
            raise MockError(
                "UNAUTHORIZED",
                "vapi.security.authorization.invalid",
                "Unable to authorize user {0}: the privilege {1} is required.",
                session.user,
                privilege,
            )

    # -- faults ---------------------------------------------------------------------------------

    def fault(self, operation: str) -> MockError | None:
        """The error a configured fault rule injects into this call of `operation`, if any.

        One random stream per operation, seeded from the inventory's seed: the n-th call of an
        operation gets the same verdict whatever other operations ran in between.
        """
        rules = [r for r in self.inventory.faults.rules if r.operation == operation]
        if not rules:
            return None
        with self._lock:
            rng = self._fault_rngs.get(operation)
            if rng is None:
                rng = self._fault_rngs[operation] = random.Random(f"{self.inventory.faults.seed}:{operation}")  # noqa: S311
            for rule in rules:
                if rng.random() < rule.rate:
                    log.debug("injecting %s into %s", rule.error_type, operation)
                    return MockError(
                        rule.error_type,
                        "vcenter_guest.mock.injected_fault",
                        "The mock vCenter injected the fault {0} into the operation {1}.",
                        rule.error_type,
                        operation,
                        challenge=CHALLENGE if rule.error_type == "UNAUTHENTICATED" else None,
                    )
        return None

    def latency(self, operation: str) -> float:
        """Seconds to delay the response of `operation` (the inventory's `faults.latency_ms`)."""
        return self.inventory.faults.latency_ms / 1000.0

    # -- guest credentials and programs -----------------------------------------------------------

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

    def _file_error(self, error_type: str, message_id: str, text: str, path: str, reason: str) -> MockError:
        shown = path if len(path) <= MAX_ARG_LENGTH else path[: MAX_ARG_LENGTH - 3] + "..."
        return MockError(error_type, message_id, text, path, data={"reason": reason, "file_path": shown})

    def resolve_program(self, vm: VmState, path: str, user: GuestUser) -> Program:
        """The program at `path` that `user` may run, or the documented path error."""
        spec = vm.spec
        if len(path) > MAX_PATH_LENGTH:
            raise self._file_error(
                "INVALID_ARGUMENT",
                "com.vmware.vcenter.vm.guest.processes.path_too_long",
                "The program path {0} is too long.",
                path,
                "PATH_TOO_LONG",
            )
        if not self.is_absolute(spec, path):
            raise self._file_error(
                "INVALID_ARGUMENT",
                "com.vmware.vcenter.vm.guest.processes.invalid_path",
                "The program path {0} is not a valid path.",
                path,
                "NOT_A_FILE",
            )
        key = self.normalize_path(spec, path)
        program = vm.programs.get(key)
        if program is None:
            if key in vm.directories:
                raise self._file_error(
                    "INVALID_ARGUMENT",
                    "com.vmware.vcenter.vm.guest.processes.not_a_file",
                    "The program path {0} is a directory, not a file.",
                    path,
                    "NOT_A_FILE",
                )
            raise self._file_error(
                "NOT_FOUND",
                "com.vmware.vcenter.vm.guest.processes.program_not_found",
                "The program {0} was not found.",
                path,
                "FILE_NOT_FOUND",
            )
        if program.allowed_users is not None and user.name not in program.allowed_users:
            raise MockError(
                "UNAUTHORIZED",
                "com.vmware.vcenter.vm.guest.processes.access_denied",
                "The guest user {0} may not run {1}.",
                user.name,
                path,
            )
        return program

    def check_working_directory(self, vm: VmState, directory: str | None, user: GuestUser) -> str:
        """The directory the program starts in (the user's home if unset or empty), or INVALID_ARGUMENT."""
        if not directory:
            return user.home
        if not self.is_absolute(vm.spec, directory) or self.normalize_path(vm.spec, directory) not in vm.directories:
            raise self._file_error(
                "INVALID_ARGUMENT",
                "com.vmware.vcenter.vm.guest.processes.invalid_working_directory",
                "The working directory {0} is not a valid directory.",
                directory,
                "NOT_A_DIRECTORY",
            )
        return directory

    def program_behaviour(self, program: Program, arguments: str) -> tuple[float, int]:
        """(duration in seconds, exit code) of one run of `program` with `arguments`."""
        duration, exit_code = program.duration, program.exit_code
        if not (program.duration_from_args or program.exit_code_from_args):
            return duration, exit_code
        try:
            words = shlex.split(arguments)
        except ValueError:
            return 0.0, 2  # the shell rejects unbalanced quotes before the program runs
        if program.duration_from_args:
            # Like sleep(1): a missing or bad operand makes it exit 1 at once.
            try:
                duration = float(words.pop(0))
            except (IndexError, ValueError):
                return 0.0, 1
            if math.isnan(duration) or duration < 0:
                return 0.0, 1
        if program.exit_code_from_args:
            try:
                exit_code = int(words.pop(0)) % 256
            except (IndexError, ValueError):
                exit_code = 2
        return duration, exit_code

    # -- processes --------------------------------------------------------------------------------

    def allocate_pid(self, vm: VmState) -> int:
        """A pid no visible process of the VM has (pids are never reused)."""
        pid = vm.next_pid
        vm.next_pid += 1
        return pid

    def purge(self, vm: VmState) -> None:
        """Forgets processes that finished longer than `process_retention` ago."""
        now, retention = self.now(), self.inventory.process_retention
        expiries = vm.expiries
        while expiries and expiries[0][0] <= now:
            _, pid = heapq.heappop(expiries)
            process = vm.processes.get(pid)
            if process is not None:
                finished = process.finished_at()
                if finished is not None and finished + retention <= now:
                    del vm.processes[pid]

    def _schedule_expiry(self, vm: VmState, process: Process) -> None:
        finished = process.finished_at()
        if finished is not None:
            heapq.heappush(vm.expiries, (finished + self.inventory.process_retention, process.pid))

    def _ready_vm(self, vm_id: str, credentials: Mapping[str, Any]) -> tuple[VmState, GuestUser]:
        vm = self.find_vm(vm_id)
        self.check_vm_ready(vm)
        user = self.check_guest_credentials(vm, credentials)
        self.purge(vm)
        return vm, user

    def create_process(self, vm_id: str, credentials: Mapping[str, Any], spec: Mapping[str, Any]) -> int:
        """Starts a program (Processes.create); returns its pid."""
        with self._lock:
            vm, user = self._ready_vm(vm_id, credentials)
            path: str = spec["path"]
            program = self.resolve_program(vm, path, user)
            if spec.get("start_minimized") and not vm.spec.windows:
                raise MockError(
                    "INVALID_ARGUMENT",
                    "com.vmware.vcenter.vm.guest.processes.start_minimized_unsupported",
                    "start_minimized is only supported on Windows guests; virtual machine {0} runs {1}.",
                    vm.spec.id,
                    vm.spec.guest_os_family,
                )
            self.check_working_directory(vm, spec.get("working_directory"), user)
            if program.fails_to_start:
                raise MockError(
                    "UNABLE_TO_ALLOCATE_RESOURCE",
                    "com.vmware.vcenter.vm.guest.processes.start_failed",
                    "The program {0} failed to start.",
                    path,
                )
            arguments: str = spec.get("arguments") or ""
            duration, exit_code = self.program_behaviour(program, arguments)
            pid = self.allocate_pid(vm)
            now = self.now()
            name = (ntpath if vm.spec.windows else posixpath).basename(path) or path
            process = Process(
                pid=pid,
                name=name,
                owner=user.name,
                command=f'"{path}" {arguments}' if arguments else f'"{path}"',
                started=now,
                duration=duration,
                exit_code=exit_code,
                ignores_term=program.ignores_term,
            )
            vm.processes[pid] = process
            self._schedule_expiry(vm, process)
            log.debug("started %s as pid %d in %s for guest user %s", path, pid, vm_id, user.name)
            return pid

    def _started_text(self, process: Process) -> str:
        process.started_text = self.timestamp(process.started)
        return process.started_text

    def summary(self, process: Process) -> dict[str, Any]:
        """`Processes.Summary` of a process."""
        return {
            "name": process.name,
            "pid": process.pid,
            "owner": process.owner,
            "command": process.command,
            "started": process.started_text or self._started_text(process),
        }

    def info(self, process: Process) -> dict[str, Any]:
        """`Processes.Info` of a process: `finished` and `exit_code` once a create-started one ended."""
        info: dict[str, Any] = {
            "name": process.name,
            "owner": process.owner,
            "command": process.command,
            "started": process.started_text or self._started_text(process),
        }
        finished = process.finished_at()
        if process.from_create and finished is not None and finished <= self.now():
            info["finished"] = self.timestamp(finished)
            info["exit_code"] = process.final_exit_code()
        return info

    def list_processes(self, vm_id: str, credentials: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Processes.list: running processes plus recently finished create-started ones."""
        with self._lock:
            vm, _ = self._ready_vm(vm_id, credentials)
            return [self.summary(p) for p in vm.processes.values()]

    def find_process(self, vm: VmState, pid: int) -> Process:
        """The visible process with this pid, or NOT_FOUND with ProcessErrorDetails."""
        process = vm.processes.get(pid)
        if process is None:
            raise MockError(
                "NOT_FOUND",
                "com.vmware.vcenter.vm.guest.processes.not_found",
                "The process {0} was not found in virtual machine {1}.",
                pid,
                vm.spec.id,
                data={"pid": pid},
            )
        return process

    def get_process(self, vm_id: str, pid: int, credentials: Mapping[str, Any]) -> dict[str, Any]:
        """Processes.get."""
        with self._lock:
            vm, _ = self._ready_vm(vm_id, credentials)
            return self.info(self.find_process(vm, pid))

    def may_terminate(self, user: GuestUser, process: Process) -> bool:
        """Whether `user` may end `process` (its owner or a guest administrator)."""
        return user.admin or user.name == process.owner

    def terminate(self, vm: VmState, process: Process) -> None:
        """Sends the process SIGTERM: it ends now (exit 143) unless it ignores it. Ended ones stay as they are."""
        now = self.now()
        finished = process.finished_at()
        if (finished is not None and finished <= now) or process.ignores_term:
            return
        if not process.from_create:
            del vm.processes[process.pid]  # nothing to report about it once gone
            return
        process.terminated_at = now
        self._schedule_expiry(vm, process)

    def delete_process(self, vm_id: str, pid: int, credentials: Mapping[str, Any]) -> None:
        """Processes.delete: terminates a process."""
        with self._lock:
            vm, user = self._ready_vm(vm_id, credentials)
            process = self.find_process(vm, pid)
            if not self.may_terminate(user, process):
                raise MockError(
                    "UNAUTHORIZED",
                    "com.vmware.vcenter.vm.guest.processes.terminate_denied",
                    "The guest user {0} may not terminate the process {1}.",
                    user.name,
                    pid,
                )
            self.terminate(vm, process)
            log.debug("terminated pid %d in %s for guest user %s", pid, vm_id, user.name)
