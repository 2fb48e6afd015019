"""The guest processes service (`vc.processes`): its calls, and the methods users call, written once.

The calls build requests with the generated `request_kwargs` of each operation and read responses
with the generated models' `from_dict` (both loaded on the first request), then check the types and
convert to the overlay's values. The methods check their arguments and return plans; `Processes`
(sync) and `AsyncProcesses` (async) run them (see `base`).
"""

from __future__ import annotations

import builtins
import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

import httpx

from vcenter_guest import errors
from vcenter_guest._engine import Call, Engine, Plan
from vcenter_guest._engine.waiting import poll_until_exit, run_program
from vcenter_guest._values import CreateSpec, Credentials, ProcessInfo, ProcessResult, ProcessSummary
from vcenter_guest.operations import operations

from .answers import no_content, reader
from .base import AsyncService, ServiceClient, SyncService, driven
from .capture import CaptureRun, GuestLayout, run_captured
from .checks import (
    check_credentials,
    check_flag,
    check_pid,
    check_run_timeout,
    check_spec,
    check_terminate,
    check_vm,
    program_spec,
    windows_path,
)
from .files import FilesService
from .layouts import GuestLayouts
from .runoptions import RunKeywords, RunOptions
from .scripts import script_preparer
from .vms import GuestService

if TYPE_CHECKING:
    from typing_extensions import Unpack
    from vcenter_guest_client.models import ProcessesCredentialsBody

__all__ = ["AsyncProcesses", "Processes", "ProcessesService", "RunOutcome"]

RunOutcome = ProcessResult | errors.VcenterGuestError
"""One VM's outcome in `run_many`: its ProcessResult, or the exception that VM's run raised."""


# --- reading responses -------------------------------------------------------------------------------


def _pid(raw: object) -> int:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415 - loaded on the first request

    pid = wire.integer(raw)
    if pid < 0:
        raise ValueError("negative")
    return pid


_parse_create = reader("a pid (a non-negative JSON integer)", _pid)


def _summary(raw: Any) -> ProcessSummary:
    from vcenter_guest_client.models import ProcessSummary as Model  # noqa: PLC0415

    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    model = Model.from_dict(raw)
    return ProcessSummary(
        pid=wire.integer(model.pid),
        name=wire.text(model.name),
        owner=wire.text(model.owner),
        command=wire.text(model.command),
        started=wire.aware(model.started),
    )


def _summaries(raw: Any) -> builtins.list[ProcessSummary]:
    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    return wire.array(raw, _summary)


_parse_list = reader("an array of Processes.Summary", _summaries)


def _parse_get(response: httpx.Response, call: Call[ProcessInfo]) -> ProcessInfo:
    # The call `run` repeats: one from_dict, then plain type checks (no helper per field).
    from vcenter_guest_client.models import ProcessInfo as Model  # noqa: PLC0415
    from vcenter_guest_client.types import Unset  # noqa: PLC0415

    from vcenter_guest._wire import responses as wire  # noqa: PLC0415

    raw = wire.json_body(response, call, "a Processes.Info")
    try:
        if not isinstance(raw, dict):
            raise TypeError("not an object")
        model = Model.from_dict(raw)
        name, owner, command, started = model.name, model.owner, model.command, model.started
        if not (isinstance(name, str) and isinstance(owner, str) and isinstance(command, str)):
            raise TypeError("not a string")
        finished, exit_code = model.finished, model.exit_code
        return ProcessInfo(
            pid=call.pid if call.pid is not None else -1,
            name=name,
            owner=owner,
            command=command,
            started=wire.aware(started),
            finished=None if isinstance(finished, Unset) else wire.aware(finished),
            exit_code=None if isinstance(exit_code, Unset) else wire.integer(exit_code),
        )
    except wire.PARSE_FAILURES:
        raise wire.unexpected(response, call, "the body is not a Processes.Info") from None


class ProcessesClient(ServiceClient, Protocol):
    """The client, as the processes service sees it: also its files service (a run's directory) and its
    guest service (`wait_ready`)."""

    @property
    def files(self) -> FilesService: ...
    @property
    def guest(self) -> GuestService: ...


class ProcessesService:
    """What the sync and the async processes service share: the calls, and the methods as plans."""

    def __init__(self, client: ProcessesClient) -> None:
        super().__init__(client)  # type: ignore[call-arg] # SyncService or AsyncService
        self._owner = client
        self._engine: Engine = client.engine
        self._guests = GuestLayouts(lambda vm: GuestService.identity.plan(client.guest, vm))
        self._capture_refused = False  # a run's output was refused to this client's API user

    # --- the calls (also what `run` makes: see _engine.waiting.ProcessCalls) -----------------------------

    def create_call(self, vm: str, credentials: Credentials, spec: CreateSpec) -> Call[int]:
        """Processes.create."""
        from vcenter_guest_client import api  # noqa: PLC0415 - the operation index, loaded on the first request
        from vcenter_guest_client.models import ProcessesCreateBody  # noqa: PLC0415

        body = ProcessesCreateBody(credentials=credentials._cached_generated(), spec=spec._cached_generated())
        build = functools.partial(api.processes_create.request_kwargs, vm, body=body)
        return Call(operations()["processes.create"], build, _parse_create, vm=vm, credentials=credentials)

    def list_call(self, vm: str, credentials: Credentials) -> Call[builtins.list[ProcessSummary]]:
        """Processes.list."""
        from vcenter_guest_client import api  # noqa: PLC0415

        build = functools.partial(api.processes_list.request_kwargs, vm, body=self._credentials_body(credentials))
        return Call(operations()["processes.list"], build, _parse_list, vm=vm, credentials=credentials)

    def get_call(self, vm: str, credentials: Credentials, pid: int) -> Call[ProcessInfo]:
        """Processes.get."""
        from vcenter_guest_client import api  # noqa: PLC0415

        build = functools.partial(api.processes_get.request_kwargs, vm, pid, body=self._credentials_body(credentials))
        return Call(operations()["processes.get"], build, _parse_get, vm=vm, pid=pid, credentials=credentials)

    def delete_call(self, vm: str, credentials: Credentials, pid: int) -> Call[None]:
        """Processes.delete."""
        from vcenter_guest_client import api  # noqa: PLC0415

        body = self._credentials_body(credentials)
        build = functools.partial(api.processes_delete.request_kwargs, vm, pid, body=body)
        return Call(operations()["processes.delete"], build, no_content, vm=vm, pid=pid, credentials=credentials)

    @staticmethod
    def _credentials_body(credentials: Credentials) -> ProcessesCredentialsBody:
        from vcenter_guest_client.models import ProcessesCredentialsBody  # noqa: PLC0415

        return ProcessesCredentialsBody(credentials=credentials._cached_generated())

    # --- the methods users call --------------------------------------------------------------------------

    @driven
    def create(self, vm: str, credentials: Credentials, spec: CreateSpec | str) -> Plan[int]:
        """Starts a program in the guest; returns its pid. Never sent twice (see RetryPolicy).

        Example::

            pid = vc.processes.create("vm-42", creds, CreateSpec("/bin/sleep", arguments="30"))
        """
        return self._engine.call(self.create_call(check_vm(vm), check_credentials(credentials), check_spec(spec)))

    @driven
    def start(
        self,
        vm: str,
        credentials: Credentials,
        program: str,
        *args: str,
        arguments: str | None = None,
        working_directory: str | None = None,
        environment_variables: Mapping[str, str] | None = None,
    ) -> Plan[int]:
        """Starts a program without waiting for it (govc's guest.start): its pid. `args` are quoted as
        `run` quotes them (`arguments=` is sent verbatim instead); its output is not captured. Follow
        it with `wait`, `get` or `delete`. Never sent twice (see RetryPolicy).

        Example::

            pid = vc.processes.start("vm-42", creds, "/opt/app/job", "--serve")
        """
        spec = program_spec(program, args, arguments, working_directory, environment_variables)
        return self._engine.call(self.create_call(check_vm(vm), check_credentials(credentials), spec))

    @driven
    def list(self, vm: str, credentials: Credentials) -> Plan[builtins.list[ProcessSummary]]:
        """The guest's processes, plus those started by create that ended in the last 5 minutes."""
        return self._engine.call(self.list_call(check_vm(vm), check_credentials(credentials)))

    @driven
    def get(self, vm: str, credentials: Credentials, pid: int) -> Plan[ProcessInfo]:
        """One process; `finished` and `exit_code` are set once a process started by create has exited."""
        return self._engine.call(self.get_call(check_vm(vm), check_credentials(credentials), check_pid(pid)))

    @driven
    def delete(self, vm: str, credentials: Credentials, pid: int) -> Plan[None]:
        """Terminates a process (SIGTERM, then SIGKILL, on POSIX guests)."""
        return self._engine.call(self.delete_call(check_vm(vm), check_credentials(credentials), check_pid(pid)))

    @driven
    def wait(
        self,
        vm: str,
        credentials: Credentials,
        pid: int,
        *,
        timeout: float | None = None,
        terminate_on_timeout: bool = False,
        check: bool = False,
    ) -> Plan[ProcessResult]:
        """Waits for a process started earlier (by `create`, or a `run` that timed out) to exit, polling
        `get` on run's schedule: its exit code. After `timeout` seconds: errors.ProcessTimeout (having
        terminated it if `terminate_on_timeout=True`); a process the server does not know (or has
        forgotten: it keeps exit codes about 5 minutes): errors.ProcessVanished."""
        target, creds, number = check_vm(vm), check_credentials(credentials), check_pid(pid)
        limit = check_run_timeout(timeout)
        terminate = check_terminate(terminate_on_timeout, limit, "wait")
        return poll_until_exit(
            self._engine,
            self,
            target,
            creds,
            number,
            "the process",
            began=self._engine.clock(),
            timeout=limit,
            terminate_on_timeout=terminate,
            check=check_flag(check, "check"),
        )

    @driven
    def run(
        self, vm: str, credentials: Credentials, program: str | CreateSpec, *args: str, **options: Unpack[RunKeywords]
    ) -> Plan[ProcessResult]:
        """Runs a program to its end: its exit code, and what it printed.

        Example::

            result = vc.processes.run("vm-42", creds, "/bin/ls", "-l", "/tmp", timeout=60)
            print(result.exit_code, result.stdout_text)
            vc.processes.run("vm-42", creds, "uname", "-a", guest_os="linux")  # no path: through /bin/sh -c

        `args` are quoted for the guest's POSIX shell, or for a Windows program (its path is
        `C:\\...`) with mslex for CommandLineToArgvW (and for cmd.exe too, with capture), one argument
        each, so each reaches the program unchanged; `arguments=` is passed verbatim instead (shell
        syntax: on POSIX with capture, `a; b` or `a && b` has every command's output captured, the
        line running as `/bin/sh -c '{ PATH ARGUMENTS ... }'`; on Windows with capture, cmd's
        syntax, where only the program's own output is). A program named without a path (`uname`)
        runs as govc runs it: through `/bin/sh -c` on POSIX guests, cmd.exe on Windows guests (its
        arguments quoted exactly as above). `working_directory=` and `environment_variables=` (the
        program's whole environment) go into its CreateSpec. A non-zero exit code is a
        result unless `check=True` (then errors.ProcessFailed). After `timeout` seconds:
        errors.ProcessTimeout, having terminated the process if `terminate_on_timeout=True`; with
        capture, the output must have arrived within `timeout` plus the client's timeout (a grace for
        fetching it; else errors.ResponseNotReceived), and the run directory's removal after that is
        one more call (within the client's timeout and retry policy). Ctrl-C or
        a cancelled task terminates the program. If the server forgot the process before its exit
        was seen: errors.ProcessVanished (with capture, the exit code the run recorded is used).

        Capture (default): `result.stdout` / `result.stderr` hold the output, at most
        `max_output_bytes` of each (then `stdout_truncated` / `stderr_truncated`); `stdout=` /
        `stderr=` binary file objects get a stream instead, whole, in constant memory; `stdin=`
        (bytes, or a binary file object read to its end, in constant memory) is what the program
        reads on its standard input; `encoding`
        names the codec of `stdout_text` / `stderr_text` (default UTF-8, bad bytes replaced; on
        Windows, UTF-16 when the output looks like it, else the OEM code page cp437). The output
        goes through a private run directory in the guest's temporary directory, removed however the
        run ends (see `vcenter_guest._services.capture`). The guest's OS is the caller's
        `guest_os=` if given, else what this client learnt of the VM: from the Identity service,
        asked once per VM when a run first needs it (one exchange), or from an earlier run's
        directory. On a POSIX guest the command line makes the run directory: 4 exchanges besides
        the polls (6 when stderr is not empty), 5 (7) on the client's first run on the VM, Identity
        included. When Identity cannot tell (an error, Tools not running, a body that is not an
        Identity.Info, a family neither Windows nor POSIX) nothing is guessed: the server makes the
        directory first, 5 (7) besides the Identity exchange. `stdin=` adds an upload (2 exchanges)
        and the server's directory. On Windows guests the program runs through cmd.exe and stderr
        is always fetched: 6 exchanges, 7 the first time as a guest user (the server's directory
        tells the user's temporary directory), 8 when that is the VM's first run too (Identity); 2
        more when stdout was cut before the line that holds the exit code (its record is fetched).
        An API user without the privilege to fetch the output (VirtualMachine.GuestOperations.Modify)
        gets errors.Unauthorized after the first such run (the program ran; the error names the
        directory left); the client's later runs are refused before anything runs.
        `capture=False`: only the exit code, 1 exchange besides the polls. `wait_ready=SECONDS` first
        waits (as `vc.guest.wait_ready`) until the guest takes guest operations. `guest_os=` (`linux`,
        `posix`, `solaris`, `darwin`, `windows`: the Identity service's families, any case) says
        what the guest is, when the caller knows (Identity is then not asked). Without capture,
        Identity is asked only for a program named without a path (sh or cmd runs it).
        """
        checked = RunOptions.checked("run", options)
        plan = self.run_planner(checked, program=_program(program, args, options, checked.capture))
        return plan(check_vm(vm), check_credentials(credentials))

    @driven
    def run_script(
        self,
        vm: str,
        credentials: Credentials,
        script: str | bytes | os.PathLike[str],
        *args: str,
        interpreter: str | None = None,
        **options: Unpack[RunKeywords],
    ) -> Plan[ProcessResult]:
        """Runs a script as one call: it is uploaded into the run's private directory, run with `args`,
        and its output and exit code come back as from `run` (every keyword of `run` applies, but
        `capture` and `arguments`).

        `script` is the script's text (str), its bytes, or a local file (a `pathlib.Path`; no size
        limit but the guest's disk). The interpreter is `interpreter` (e.g. "/usr/bin/python3") if
        given, else the script's `#!` line, else /bin/bash.

        On a Windows guest (its run directory is a `C:\\...` path) the script is `script.cmd`, run
        by cmd.exe (text is written in the OEM code page cp437 with CRLF line ends, as cmd reads
        batch files); with `interpreter` naming PowerShell ("powershell", or a path ending in
        powershell.exe or pwsh.exe) it is `script.ps1` (text in UTF-8 with a BOM), run as
        `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File script.ps1 ARGS`;
        any other `interpreter` path runs as `INTERPRETER script ARGS`. 7 exchanges besides the
        polls on POSIX guests, 9 on Windows (stderr is always fetched there).

        Example::

            result = vc.processes.run_script("vm-42", creds, "set -e\\ncd /srv\\n./deploy.sh", timeout=600)
            result = vc.processes.run_script("vm-42", creds, Path("scripts/report.py"), "--json")
        """
        target, creds = check_vm(vm), check_credentials(credentials)
        checked = RunOptions.checked("run_script", options, refused=("capture", "arguments"))
        fields = RunOptions.spec_keywords(options)
        # The checks of run's arguments, directory and environment (the spec's program comes later).
        directory = cast("str | None", fields.get("working_directory"))
        base = program_spec("/bin/true", args, None, directory, cast("Any", fields.get("environment_variables")))
        prepare = script_preparer(self._owner.files, target, creds, base, script, args, interpreter)
        return self.run_planner(checked, script=prepare)(target, creds)

    def layout(self, vm: str, credentials: Credentials, windows: bool | None) -> GuestLayout | None:
        """The guest's layout for a captured run, if this client knows it (see `layouts.GuestLayouts`)."""
        return self._guests.known(vm, credentials, windows)

    def run_planner(
        self,
        options: RunOptions,
        *,
        program: Callable[[bool | None], CreateSpec] | None = None,
        script: Callable[[str], Plan[CreateSpec]] | None = None,
    ) -> Callable[[str, Credentials], Plan[ProcessResult]]:
        """A function of (vm, credentials) giving a run's plan, with `options` (checked once): what `run`
        and each VM of `run_many` drive. `program(windows)` gives the spec for a guest that is
        Windows or not (None: not known); `script(directory)` prepares a run directory."""
        planned = self._captured(options, program, script) if options.capture else self._uncaptured(options, program)
        ready_within = options.wait_ready
        if ready_within is None:
            return planned
        guest = self._owner.guest

        def ready_first(vm: str, credentials: Credentials) -> Plan[ProcessResult]:
            yield from guest.wait_plan(vm, ready_within)
            return (yield from planned(vm, credentials))

        return ready_first

    def _uncaptured(
        self, options: RunOptions, program: Callable[[bool | None], CreateSpec] | None
    ) -> Callable[[str, Credentials], Plan[ProcessResult]]:
        if program is None:
            raise errors.UsageError("a script runs with capture=True only (its run directory holds it)")

        # The guest's OS matters only to a program named without a path (sh or cmd runs it).
        matters = options.windows is None and program(True) != program(False)

        def planned(vm: str, credentials: Credentials) -> Plan[ProcessResult]:
            windows = options.windows
            layout = self.layout(vm, credentials, windows)
            if layout is not None:
                windows = layout.windows
            elif matters:
                windows = yield from self._guests.family(vm)
            spec = program(windows)
            return (
                yield from run_program(
                    self._engine,
                    self,
                    vm,
                    credentials,
                    spec,
                    timeout=options.timeout,
                    terminate_on_timeout=options.terminate_on_timeout,
                    check=options.check,
                )
            )

        return planned

    def _captured(
        self,
        options: RunOptions,
        program: Callable[[bool | None], CreateSpec] | None,
        script: Callable[[str], Plan[CreateSpec]] | None,
    ) -> Callable[[str, Credentials], Plan[ProcessResult]]:
        files = self._owner.files

        # The command line makes its run directory only when nothing must be uploaded into it first.
        made = script is None and options.stdin is None

        def refused() -> None:
            self._capture_refused = True

        def planned(vm: str, credentials: Credentials) -> Plan[ProcessResult]:
            if self._capture_refused or not self._guests.makes_lines(vm):
                # The server's directory: refused (again) before anything runs; or a guest whose
                # line cannot make its own (no /bin/mkdir).
                layout = None
            elif made:
                layout = yield from self._guests.asked(vm, credentials, options.windows)
            else:
                layout = self.layout(vm, credentials, options.windows)
            spec: CreateSpec | Callable[[str], Plan[CreateSpec]]
            if script is not None:
                spec = script
            elif program is not None and layout is not None:
                spec = program(layout.windows)
            else:
                assert program is not None
                spec = _for_directory(program)
            run = CaptureRun(self._engine, self, files, vm, credentials, options)
            learn = functools.partial(self._guests.learn, vm, credentials)
            unmade = functools.partial(self._guests.cannot_make_lines, vm)
            return (yield from run_captured(run, spec, layout, learn, refused=refused, unmade=unmade))

        return planned


def _program(
    program: object, args: tuple[object, ...], keywords: Mapping[str, Any], capture: bool
) -> Callable[[bool | None], CreateSpec]:
    """`run`'s program as a function of whether the guest is Windows (None: not known), its arguments
    checked now, before anything is sent."""
    fields = RunOptions.spec_keywords(keywords)

    def spec(windows: bool | None) -> CreateSpec:
        return program_spec(
            program,
            args,
            cast("str | None", fields.get("arguments")),
            cast("str | None", fields.get("working_directory")),
            cast("Mapping[str, str] | None", fields.get("environment_variables")),
            through_cmd=capture,
            windows=windows,
        )

    spec(None)
    return spec


def _for_directory(program: Callable[[bool | None], CreateSpec]) -> Callable[[str], Plan[CreateSpec]]:
    """The spec as a function of the run directory the server made (its path tells a Windows guest)."""

    def prepare(directory: str) -> Plan[CreateSpec]:
        spec = program(windows_path(directory))
        yield from ()  # a plan that sends nothing
        return spec

    return prepare


class Processes(ProcessesService, SyncService):
    """The guest processes service (`vc.processes`), as in the official SDK, plus `run`.

    Example::

        pid = vc.processes.create("vm-42", creds, CreateSpec("/bin/sleep", arguments="30"))
        assert vc.processes.get("vm-42", creds, pid).running
        vc.processes.delete("vm-42", creds, pid)
    """


def _vm_list(vms: object) -> builtins.list[str]:
    if isinstance(vms, str) or not isinstance(vms, Iterable):
        raise errors.UsageError("vms must be a list of VM identifiers such as ['vm-1', 'vm-2'], not a single string")
    return [check_vm(vm) for vm in vms]


class AsyncProcesses(ProcessesService, AsyncService):
    """The guest processes service of an AsyncClient (`vc.processes`): awaitable methods, plus `run_many`.

    Example::

        pid = await vc.processes.create("vm-42", creds, CreateSpec("/bin/sleep", arguments="30"))
        info = await vc.processes.get("vm-42", creds, pid)
        results = await vc.processes.run_many(["vm-1", "vm-2"], creds, "/bin/true")
    """

    async def run_many(
        self,
        vms: Iterable[str],
        credentials: Credentials,
        program: str | CreateSpec,
        *args: str,
        concurrency: int = 50,
        on_result: Callable[[str, RunOutcome], None] | None = None,
        **options: Unpack[RunKeywords],
    ) -> builtins.list[RunOutcome]:
        """Runs one program on many VMs, at most `concurrency` at a time; one outcome per VM, in input order.

        Each outcome is the VM's ProcessResult, or the `errors.VcenterGuestError` its run raised
        (NotFound, ProcessTimeout, ...): one VM's failure never stops the others. `on_result(vm,
        outcome)` is called as each VM finishes (for progress bars); it must not raise. Output is
        captured as by `run` (at most `max_output_bytes` per stream and VM; `capture=False` for the
        exit codes only), each VM's run directory removed however its run ends. Every keyword of
        `run` applies but `stdout` and `stderr`; `stdin` is bytes (each VM gets them).

        Example::

            results = await vc.processes.run_many(vms, creds, "/usr/bin/uptime", timeout=30)
            failed = {vm: r for vm, r in zip(vms, results) if isinstance(r, Exception)}
        """
        targets = _vm_list(vms)
        if type(concurrency) is not int or concurrency < 1:
            raise errors.UsageError(f"concurrency must be a positive int, got {concurrency!r}")
        if on_result is not None and not callable(on_result):
            raise errors.UsageError("on_result must be a function of (vm, outcome)")
        creds = check_credentials(credentials)
        checked = RunOptions.checked("run_many", options, refused=("stdout", "stderr"))
        if checked.stdin is not None and not isinstance(checked.stdin, bytes):
            raise errors.UsageError("run_many takes stdin= as bytes (each VM gets them), not a file object")
        plan_of = self.run_planner(checked, program=_program(program, args, options, checked.capture))
        self._client.fit_pool(concurrency)
        outcomes: builtins.list[RunOutcome | None] = [None] * len(targets)
        pending = iter(range(len(targets)))
        drive = self._client.drive

        async def worker() -> None:
            # Workers share one iterator: each VM is taken exactly once, in input order.
            for index in pending:
                vm = targets[index]
                outcome: RunOutcome
                try:
                    outcome = await drive(plan_of(vm, creds))
                except errors.VcenterGuestError as exc:
                    outcome = exc
                outcomes[index] = outcome
                if on_result is not None:
                    on_result(vm, outcome)

        import anyio  # noqa: PLC0415

        async with anyio.create_task_group() as group:
            for _ in range(min(concurrency, len(targets))):
                group.start_soon(worker)
        return cast("builtins.list[RunOutcome]", outcomes)  # every slot was filled by a worker
