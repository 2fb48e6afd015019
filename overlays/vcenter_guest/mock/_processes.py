"""Programs and processes in the guests (`com.vmware.vcenter.vm.guest.processes`).

Time comes from the simulator's injectable clock: a process's end is computed from its start and
duration when someone looks (no timers, no threads per process), and tests move a fake clock.
"""

from __future__ import annotations

import heapq
import io
import logging
import math
import ntpath
import posixpath
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs
from starlette.responses import Response

from ._argv import ARGV, run_argv
from ._cmd import CMD, run_cmd
from ._errors import MockError, shown
from ._filesystem import Account, Kind
from ._handlers import handles, json_response
from ._inventory import GuestUser, Program
from ._shell import DEFAULT_PATH, Outcome, command_line, command_names, plain_words, run_line
from ._vms import Vms, VmState, account

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from vcenter_guest.operations import Operation

    from ._app import MockApi

__all__ = ["KILLED_EXIT_CODE", "MAX_PATH_LENGTH", "TERMINATED_EXIT_CODE", "Process", "Processes"]

log = logging.getLogger("vcenter_guest.mock")

# What a POSIX process ended by SIGTERM reports (128 + 15), and one that ignored it and got the
# SIGKILL that delete sends next (128 + 9).
TERMINATED_EXIT_CODE = 143
KILLED_EXIT_CODE = 137
MAX_PATH_LENGTH = 4096
# A file the guest cannot execute (no execute permission for the user, or not a program the mock
# knows): bash reports it and exits 126 at once.
NOT_EXECUTABLE = Program(exit_code=126)
# Starts run on the event loop (no worker thread) when they are sure to be short (see Processes._quick).
QUICK_ARGUMENTS = 4096
QUICK_PARSE = 512
QUICK_UTILITIES = frozenset({"true", "false", "echo", "sleep"})
QUICK_BUILTINS = frozenset({"echo", "true", "false", ":", "cd", "exit", "export", "test", "["})
_PEEK = Account("(mock)", 0, True, "/")  # finds a program's file whoever may run it


def _quick_program(program: Program) -> bool:
    """A declared program of little output, or a utility that reads no file and starts nothing."""
    if program.utility is None:
        return program.output_bytes <= QUICK_ARGUMENTS
    return program.utility in QUICK_UTILITIES


# Characters of `arguments` read for the words a simulated program takes (a duration, an exit
# code): the shell's word splitting (shlex) is pure Python, and a megabyte of arguments took it 4 s
# of the event loop. Longer lines are split only this far (see _leading_words).
WORDS_SCAN = 1024


def _leading_words(arguments: str, count: int) -> list[str] | None:
    """The first `count` words of `arguments` as the guest's shell splits them (fewer if it has fewer);
    None if the shell rejects the line (an unbalanced quote).

    A line longer than WORDS_SCAN is split only that far: a word not complete by then is left out
    (no duration or exit code is that long), and a quote that is unbalanced past it goes unseen.

    >>> _leading_words("5 'a b' c", 2), _leading_words("'5", 1), _leading_words("5 " + "x" * 5000, 2)
    (['5', 'a b'], None, ['5'])
    """
    if len(arguments) <= WORDS_SCAN:
        try:
            return shlex.split(arguments)[:count]
        except ValueError:
            return None
    prefix = arguments[:WORDS_SCAN]
    stream = io.StringIO(prefix)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    try:
        while len(words) < count:
            word = lexer.get_token()
            if word is None:
                break  # nothing but blanks up to the cut
            # A word ends on the blank after it (which the lexer has read); one that ran into the cut
            # may go on past it, so it is not taken.
            if stream.tell() == len(prefix) and prefix[-1] not in lexer.whitespace:
                break
            words.append(word)
    except ValueError:  # a quote still open at the cut: that word is not complete
        pass
    return words


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
    unkillable: bool = False
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
            return KILLED_EXIT_CODE if self.ignores_term else TERMINATED_EXIT_CODE
        return self.exit_code


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
        if vm.spec.windows:
            return {
                "PATH": "C:\\Windows\\system32;C:\\Windows",
                "SystemRoot": "C:\\Windows",
                "USERNAME": user.name,
                "USERPROFILE": user.home,
                "TEMP": user.home + "\\AppData\\Local\\Temp",
            }
        return {
            "PATH": DEFAULT_PATH,
            "HOME": user.home,
            "USER": user.name,
            "LOGNAME": user.name,
            "SHELL": "/bin/bash",
        }

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
        return run_line(fs, who, path, arguments, env=env, cwd=cwd, pid=pid, budget=self.budget)

    def run_in_cmd(self, vm: VmState, user: GuestUser, spec: Mapping[str, Any]) -> Outcome:
        """Runs `cmd.exe ARGUMENTS` in a Windows guest (its `/c LINE` subset)."""
        env, cwd = self._surroundings(vm, user, spec)
        fs, who, arguments = self.filesystem(vm), account(user), spec.get("arguments") or ""
        return run_cmd(fs, who, arguments, env=env, cwd=cwd, budget=self.budget)

    def program_behaviour(self, program: Program, arguments: str) -> tuple[float, int]:
        """(duration in seconds, exit code) of one run of `program` with `arguments`."""
        duration, exit_code = program.duration, program.exit_code
        if not (program.duration_from_args or program.exit_code_from_args):
            return duration, exit_code
        words = _leading_words(arguments, int(program.duration_from_args) + int(program.exit_code_from_args))
        if words is None:
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
                node, _ = self.filesystem(vm).lookup(spec["path"], _PEEK)
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
            return _quick_program(program)
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
                        found, _ = fs.lookup(candidate, _PEEK)
                    except MockError:
                        continue
                    break
            if found is None or found.program is None or not _quick_program(found.program):
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
async def create(api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """Processes.create: the new pid."""
    body, _ = await api.guest_call(op, params, scope, receive)
    simulator, vm, credentials, spec = api.simulator, params["vm"], body["credentials"], body["spec"]
    if simulator.quick_start(vm, spec):
        pid = simulator.create_process(vm, credentials, spec)
    else:  # in a worker thread (at most Budget.concurrent_runs at once): the event loop serves the others
        pid = await anyio.to_thread.run_sync(simulator.create_process, vm, credentials, spec, limiter=api.runs)
    return json_response(pid, op.success_status)


@handles("processes.list")
async def list_(api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """Processes.list: an array of Processes.Summary."""
    body, _ = await api.guest_call(op, params, scope, receive)
    return json_response(api.simulator.list_processes(params["vm"], body["credentials"]), op.success_status)


@handles("processes.get")
async def get(api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """Processes.get: a Processes.Info."""
    body, pid = await api.guest_call(op, params, scope, receive)
    return json_response(api.simulator.get_process(params["vm"], pid, body["credentials"]), op.success_status)


@handles("processes.delete")
async def delete(api: MockApi, op: Operation, params: dict[str, str], scope: Scope, receive: Receive) -> Response:
    """Processes.delete: terminates the process."""
    body, pid = await api.guest_call(op, params, scope, receive)
    api.simulator.delete_process(params["vm"], pid, body["credentials"])
    return Response(status_code=op.success_status)
