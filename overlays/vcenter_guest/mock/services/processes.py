"""The processes service (`com.vmware.vcenter.vm.guest.processes`): starting programs in the guests,
listing, reading and ending their processes.

Time comes from the simulator's injectable clock: a process's end is computed from its start and
duration when someone looks (no timers, no threads per process), and tests move a fake clock. How a
program behaves once started is the guest's side (`_processes`, `_shell`, `_cmd`, `_argv`).
"""

from __future__ import annotations

import heapq
import logging
import ntpath
import posixpath
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope

from vcenter_guest.mock._argv import ARGV, run_argv
from vcenter_guest.mock._cmd import CMD, run_cmd
from vcenter_guest.mock._errors import MockError, shown
from vcenter_guest.mock._filesystem import Kind
from vcenter_guest.mock._handlers import Api, handles, json_response, part
from vcenter_guest.mock._processes import (
    MAX_PATH_LENGTH,
    NOT_EXECUTABLE,
    PEEK,
    QUICK_ARGUMENTS,
    QUICK_BUILTINS,
    QUICK_PARSE,
    default_environment,
    program_behaviour,
    quick_program,
)
from vcenter_guest.mock._records import GuestUser, Program
from vcenter_guest.mock._shell import (
    DEFAULT_PATH,
    Machine,
    Outcome,
    command_line,
    command_names,
    plain_words,
    run_line,
)
from vcenter_guest.mock._state import Process, VmState, account
from vcenter_guest.mock._vms import Vms
from vcenter_guest.operations import Operation

__all__ = ["Processes"]

log = logging.getLogger("vcenter_guest.mock")


@part
class Processes(Vms):
    """The simulator's programs and processes."""

    def _file_error(self, error_type: str, message_id: str, text: str, path: str, reason: str) -> MockError:
        return MockError(error_type, message_id, text, path, data={"reason": reason, "file_path": shown(path)})

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
        fs, who = self.filesystem(vm), account(user)
        try:
            node, _ = fs.lookup(path, who)
        except MockError as error:
            if error.error_type == "UNAUTHORIZED":
                raise self._may_not_run(user, path) from None
            node = None
        if node is None or node.kind is Kind.SYMLINK:
            raise self._file_error(
                "NOT_FOUND",
                "com.vmware.vcenter.vm.guest.processes.program_not_found",
                "The program {0} was not found.",
                path,
                "FILE_NOT_FOUND",
            )
        if node.kind is Kind.DIRECTORY:
            raise self._file_error(
                "INVALID_ARGUMENT",
                "com.vmware.vcenter.vm.guest.processes.not_a_file",
                "The program path {0} is a directory, not a file.",
                path,
                "NOT_A_FILE",
            )
        program = node.program
        if program is None or not fs.may(node, who, 1, path):
            # bash starts it and refuses: "Permission denied" (not executable) or "cannot execute" (no program).
            return NOT_EXECUTABLE
        if program.allowed_users is not None and user.name not in program.allowed_users:
            raise self._may_not_run(user, path)
        return program

    def _may_not_run(self, user: GuestUser, path: str) -> MockError:
        return MockError(
            "UNAUTHORIZED",
            "com.vmware.vcenter.vm.guest.processes.access_denied",
            "The guest user {0} may not run {1}.",
            user.name,
            path,
        )

    def check_working_directory(self, vm: VmState, directory: str | None, user: GuestUser) -> str:
        """The directory the program starts in (the user's home if unset or empty), or INVALID_ARGUMENT."""
        if not directory:
            return user.home
        try:
            self.filesystem(vm).directory(directory, account(user))
        except MockError:
            raise self._file_error(
                "INVALID_ARGUMENT",
                "com.vmware.vcenter.vm.guest.processes.invalid_working_directory",
                "The working directory {0} is not a valid directory.",
                directory,
                "NOT_A_DIRECTORY",
            ) from None
        return directory

    def default_environment(self, vm: VmState, user: GuestUser) -> dict[str, str]:
        """The environment a program gets when create sets none (a login's, as vmtoolsd gives it)."""
        return default_environment(vm.spec.windows, user)

    def _surroundings(self, vm: VmState, user: GuestUser, spec: Mapping[str, Any]) -> tuple[dict[str, str], str]:
        """The environment and working directory a created program gets: the spec's, else the user's."""
        env = spec.get("environment_variables")
        environment = dict(env) if env is not None else self.default_environment(vm, user)
        return environment, spec.get("working_directory") or user.home

    def run_in_shell(self, vm: VmState, user: GuestUser, spec: Mapping[str, Any], *, pid: int) -> Outcome:
        """Runs `path arguments` through the guest's simulated /bin/bash (Linux and Solaris guests)."""
        env, cwd = self._surroundings(vm, user, spec)
        path, arguments = spec["path"], spec.get("arguments") or ""
        fs, who = self.filesystem(vm), account(user)
        return run_line(
            fs, who, path, arguments, env=env, cwd=cwd, pid=pid, budget=self.budget, machine=self.machine(vm)
        )

    def machine(self, vm: VmState) -> Machine:
        """What the guest's programs know of it besides its files: its kernel, when it booted (when
        its guest operations started to wait for tools), its users' names."""
        booted = self.wall() - (self.now() - (vm.ready_at - vm.spec.ready_after))
        users = {0: "root", **{u.uid: u.name for u in vm.spec.guest_users}}
        return Machine("SunOS" if vm.spec.guest_os_family == "SOLARIS" else "Linux", booted, users)

    def run_in_cmd(self, vm: VmState, user: GuestUser, spec: Mapping[str, Any]) -> Outcome:
        """Runs `cmd.exe ARGUMENTS` in a Windows guest (its `/c LINE` subset)."""
        env, cwd = self._surroundings(vm, user, spec)
        fs, who, arguments = self.filesystem(vm), account(user), spec.get("arguments") or ""
        return run_cmd(fs, who, arguments, env=env, cwd=cwd, budget=self.budget)

    def program_behaviour(self, program: Program, arguments: str) -> tuple[float, int]:
        """(duration in seconds, exit code) of one run of `program` with `arguments`."""
        return program_behaviour(program, arguments)

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

    def _forget_oldest_finished(self, vm: VmState, keep: int) -> None:
        """Forgets finished processes, oldest first, until the VM keeps at most `max_processes` started
        by create (the inventory's own do not count); never `keep`, the one just started."""
        limit = self.inventory.max_processes
        if len(vm.processes) <= limit:
            return
        own = sum(1 for p in vm.processes.values() if p.from_create)
        now, retention, expiries = self.now(), self.inventory.process_retention, vm.expiries
        while own > limit and expiries:
            expires, pid = expiries[0]
            process = vm.processes.get(pid)
            finished = None if process is None else process.finished_at()
            current = finished is not None and finished + retention == expires
            if (current and finished is not None and finished > now) or pid == keep:
                return  # the earliest to finish still runs (or is the new one): none other has finished
            heapq.heappop(expiries)
            if current:
                del vm.processes[pid]
                own -= 1

    def _running_started(self, vm: VmState) -> int:
        """How many processes started by create run now (those that ended are dropped from the count)."""
        now, started = self.now(), vm.started
        for pid, process in list(started.items()):
            finished = process.finished_at()
            if (finished is not None and finished <= now) or vm.processes.get(pid) is not process:
                del started[pid]
        return len(started)

    def _schedule_expiry(self, vm: VmState, process: Process) -> None:
        finished = process.finished_at()
        if finished is not None:
            heapq.heappush(vm.expiries, (finished + self.inventory.process_retention, process.pid))
        if len(vm.expiries) > 2 * len(vm.processes) + 64:
            # Entries of forgotten processes, and the first ones of terminated processes (rescheduled
            # earlier), are dropped only when they reach the top: rebuild before they pile up.
            retention = self.inventory.process_retention
            vm.expiries = [
                (end + retention, pid) for pid, p in vm.processes.items() if (end := p.finished_at()) is not None
            ]
            heapq.heapify(vm.expiries)

    def _ready_vm(self, vm_id: str, credentials: Mapping[str, Any]) -> tuple[VmState, GuestUser]:
        vm, user = self.guest_login(vm_id, credentials)
        self.purge(vm)
        return vm, user

    def create_process(self, vm_id: str, credentials: Mapping[str, Any], spec: Mapping[str, Any]) -> int:
        """Starts a program (Processes.create); returns its pid.

        The program runs without the simulator's lock (its file operations take it one at a time), so
        that the create handler can run a start that may take long (see `quick_start`) in a worker
        thread while the event loop serves the others; the budget bounds what it costs."""
        with self._lock:
            vm, user, program, pid = self._start(vm_id, credentials, spec)
        duration, exit_code, ignores_term, unkillable = self._simulate(vm, user, program, spec, pid)
        with self._lock:
            self._record(
                vm,
                user,
                spec,
                pid,
                duration=duration,
                exit_code=exit_code,
                ignores_term=ignores_term,
                unkillable=unkillable,
            )
        log.debug("started %s as pid %d in %s for guest user %s", spec["path"], pid, vm_id, user.name)
        return pid

    def quick_start(self, vm_id: str, spec: Mapping[str, Any]) -> bool:
        """Whether create of `spec` is sure to be short enough for the event loop (a worker thread's
        hand-over costs more than it); True too when it is sure to fail (create then says why)."""
        with self._lock:
            vm = self._vms.get(vm_id)
            if vm is None or not self.is_absolute(vm.spec, spec["path"]):
                return True
            try:
                node, _ = self.filesystem(vm).lookup(spec["path"], PEEK)
            except MockError:
                return True
            return node.program is not None and self._quick(vm, node.program, spec)

    def _quick(self, vm: VmState, program: Program, spec: Mapping[str, Any]) -> bool:
        """A short command line that runs only builtins, declared programs and the utilities that read
        no file and start nothing; on Windows, anything but cmd.exe."""
        arguments: str = spec.get("arguments") or ""
        if len(arguments) > QUICK_ARGUMENTS:
            return False
        if vm.spec.windows:
            return program.utility != CMD
        if plain_words(arguments) is not None:
            return quick_program(program)
        # bashlex takes about 30 us a character: a short line only
        names = command_names(command_line(spec["path"], arguments)) if len(arguments) <= QUICK_PARSE else None
        return names is not None and self._quick_names(vm, names, spec)

    def _quick_names(self, vm: VmState, names: list[str], spec: Mapping[str, Any]) -> bool:
        """Whether each command name is a builtin or a quick program (see `_quick_program`)."""
        env = spec.get("environment_variables") or {}
        search = [d or "." for d in env.get("PATH", DEFAULT_PATH).split(":")]
        fs = self.filesystem(vm)
        for name in names:
            if name in QUICK_BUILTINS:
                continue
            candidates = [name] if "/" in name else [f"{d.rstrip('/')}/{name}" for d in search]
            found = None
            for candidate in candidates:
                if candidate.startswith("/"):
                    try:
                        found, _ = fs.lookup(candidate, PEEK)
                    except MockError:
                        continue
                    break
            if found is None or found.program is None or not quick_program(found.program):
                return False
        return True

    def _start(
        self, vm_id: str, credentials: Mapping[str, Any], spec: Mapping[str, Any]
    ) -> tuple[VmState, GuestUser, Program, int]:
        """The checks of create, under the lock: the VM, user and program, and the pid the process gets."""
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
        if program.fails_to_start or self._running_started(vm) >= self.inventory.max_running_processes:
            raise MockError(
                "UNABLE_TO_ALLOCATE_RESOURCE",
                "com.vmware.vcenter.vm.guest.processes.start_failed",
                "The program {0} failed to start.",
                path,
            )
        return vm, user, program, self.allocate_pid(vm)

    def _simulate(
        self, vm: VmState, user: GuestUser, program: Program, spec: Mapping[str, Any], pid: int
    ) -> tuple[float, int, bool, bool]:
        """What the program does when started: (duration, exit code, ignores SIGTERM, unkillable)."""
        arguments: str = spec.get("arguments") or ""
        ignores_term, unkillable = program.ignores_term, program.unkillable
        if vm.spec.windows and program.utility == CMD:
            outcome = self.run_in_cmd(vm, user, spec)
            duration, exit_code = outcome.duration, outcome.status
        elif vm.spec.windows and program.utility == ARGV:  # no shell: it splits its command line itself
            env, _ = self._surroundings(vm, user, spec)
            with self._lock:  # run_argv is quick: one file read at most
                outcome = run_argv(self.filesystem(vm), account(user), arguments, env=env)
            duration, exit_code = outcome.duration, outcome.status  # its stdout: no console reads it
        elif vm.spec.windows:  # no shell: the program itself, with its arguments
            duration, exit_code = self.program_behaviour(program, arguments)
        else:
            outcome = self.run_in_shell(vm, user, spec, pid=pid)
            duration, exit_code = outcome.duration, outcome.status
            ignores_term, unkillable = outcome.ignores_term, outcome.unkillable
        return duration, exit_code, ignores_term, unkillable

    def _record(
        self,
        vm: VmState,
        user: GuestUser,
        spec: Mapping[str, Any],
        pid: int,
        *,
        duration: float,
        exit_code: int,
        ignores_term: bool,
        unkillable: bool,
    ) -> None:
        """Keeps the started process (under the lock)."""
        path: str = spec["path"]
        arguments: str = spec.get("arguments") or ""
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
            ignores_term=ignores_term,
            unkillable=unkillable,
        )
        vm.processes[pid] = process
        vm.started[pid] = process
        self._schedule_expiry(vm, process)
        self._forget_oldest_finished(vm, keep=pid)

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
        """Sends SIGTERM, then SIGKILL if that does not end it (as vCenter does on POSIX guests).

        The process ends now: exit 143, or 137 if it ignores SIGTERM. Only an unkillable one (stuck in
        the kernel) keeps running. Ended ones stay as they are.
        """
        now = self.now()
        finished = process.finished_at()
        if (finished is not None and finished <= now) or process.unkillable:
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


# --- the HTTP side: one handler per operation of the processes service --------------------------------


@handles("processes.create")
async def create(
    api: Api[Processes], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """Processes.create: the new pid."""
    body, _ = await api.guest_call(op, params, scope, receive)
    simulator, vm, credentials, spec = api.simulator, params["vm"], body["credentials"], body["spec"]
    if simulator.quick_start(vm, spec):
        pid = simulator.create_process(vm, credentials, spec)
    else:  # in a worker thread (at most Budget.concurrent_runs at once): the event loop serves the others
        pid = await anyio.to_thread.run_sync(simulator.create_process, vm, credentials, spec, limiter=api.runs)
    return json_response(pid, op.success_status)


@handles("processes.list")
async def list_(api: Api[Processes], op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """Processes.list: an array of Processes.Summary."""
    body, _ = await api.guest_call(op, params, scope, receive)
    return json_response(api.simulator.list_processes(params["vm"], body["credentials"]), op.success_status)


@handles("processes.get")
async def get(api: Api[Processes], op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """Processes.get: a Processes.Info."""
    body, pid = await api.guest_call(op, params, scope, receive)
    return json_response(api.simulator.get_process(params["vm"], pid, body["credentials"]), op.success_status)


@handles("processes.delete")
async def delete(
    api: Api[Processes], op: Operation, params: dict[str, str], scope: Scope, receive: Receive
) -> Response:
    """Processes.delete: terminates the process."""
    body, pid = await api.guest_call(op, params, scope, receive)
    api.simulator.delete_process(params["vm"], pid, body["credentials"])
    return Response(status_code=op.success_status)
