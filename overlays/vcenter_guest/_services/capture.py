"""`run` with capture: the program's stdout and stderr come back with its exit code.

The processes API cannot return output, so, as every tool that gives it does, the program's output
goes to files in the guest that are then downloaded. In as few exchanges as the API allows.

On a guest whose layout the client knows (the caller said `guest_os="linux"`, the Identity service
named a POSIX family, or an earlier run on this VM as this guest user learnt its temporary
directory; see `GuestLayout` and `layouts.GuestLayouts`), the command line makes the run
directory itself (on Windows `mkdir "D" || exit 125 & ...` in cmd's line, see below):

    1. Processes.create             `/bin/mkdir -m 700 -- D || exit 125; PROGRAM ARGS >D/stdout
                                    2>D/stderr; ...`, D = TEMP/vcenter-guest-run-NONCE-
       Processes.get ...            the polls of `run`
    2. Transfers.create + 3. GET    D/stdout; it ends with a line the command appended after the
                                    program: a marker nobody can guess, the exit code, and whether
                                    stderr is empty
    (+ 2                            D/stderr, only when it is not empty)
    4. Directories.delete           the run directory, recursively

The API user's privilege to fetch the output (Transfers.create) is then first used after the
program ran: an API user without it gets errors.Unauthorized naming what capture needs and the
directory left (deleting it needs the same privilege), and the client's later runs have the server
make their directory, which is refused before anything runs.

Otherwise (a Windows guest's first run as a guest user, a guest whose OS is not known, a run that
uploads into its directory first: `stdin=`, `run_script`) the directory comes first, from the server:

    1. Directories.createTemporary  a private run directory (mode 700, a name nobody can predict),
                                    proven the new one asked for (vcenter_guest.ownership)
    (+ 2                            an upload into it: stdin, or the script)
    2. Processes.create ...         as above without the mkdir; then 3 + 4 (+ 2), and 5. the delete

Why the directory made by the command line is the client's own, so that writing into it and deleting
it stay within the hardening rules (nothing written or deleted that is not proven the client's):

* its path is chosen by the client, not answered by a server: the guest's temporary directory
  (`/tmp` when the caller names a POSIX guest, else the parent of a directory an earlier
  createTemporary made and `ownership.prove_directory` proved), and a name carrying a fresh random
  nonce (`ownership.claim_prefix`), checked by `prove_directory` like any answer;
* `mkdir` is exclusive: it makes a new directory (mode 700, whatever the umask) or fails, whatever
  is there (a directory, a file, a symbolic link, which it never follows). When it fails, the line
  stops before anything else (`exit 125`): nothing runs, nothing is written;
* the client learns which from the line's exit code, which the server reports and no guest user can
  forge: 125 is "mkdir failed" (errors.ProcessError; nothing is read or deleted), because the line
  exits with 124 instead when the program's own code is 125 (the marker line, or D/rc, then gives
  the program's true code). Any other code proves the directory the line's own;
* on Windows the line's code is cmd's, and a batch file's `exit 125` ends cmd with 125 too: there
  a 125 is settled as below. A Windows guest's temporary directory is the user's own (only the
  user, SYSTEM and administrators may make anything in it), so nobody else can take the name;
* when no exit code is known (a timeout, Ctrl-C, a process the server forgot), the client first
  asks what D is (Files.get, which describes a symbolic link and never follows it) and reads from
  or deletes D only if it is a directory. Nobody can have made D before the line did but someone
  who read the line (it is in the guest's process table) and won the race to the name in the
  instant between the line's start and its mkdir: then what is deleted is that user's own
  directory, named with this run's nonce, and never what a link points to.

The exit code is also written to D/rc, so that a process the server forgot (it keeps an exit code
about 5 minutes) still gives its exit code when stdout was too long to reach the marker line.

`stdin=` is uploaded to D/stdin (streamed: the upload reads a pipe in constant memory) and the
program reads it through `<D/stdin`.

On a Windows guest (the run directory is a `C:\\...` path) Windows starts programs with no shell, so
the program runs through `C:\\Windows\\System32\\cmd.exe /d /q /s /c "LINE"` (no AutoRun, echo off, the
outer quotes stripped), where LINE is

    PROGRAM ARGS >"D\\stdout" 2>"D\\stderr" & call set VCENTER_GUEST_RC=%^ERRORLEVEL%& >>"D\\stdout"
    call echo MARKER %^VCENTER_GUEST_RC%& >"D\\rc" call echo %^VCENTER_GUEST_RC%

cmd expands `%NAME%` when it reads the line, before the program ran: `%^ERRORLEVEL%` survives that
(a variable named `^ERRORLEVEL` is not defined, and on a command line an undefined one stays as
written), the caret goes when the line is split, and `call` expands the rest once more, after the
program ran. `call` clears ERRORLEVEL, hence the variable; each redirection stands before its
command, so no digit of the exit code can become a handle (`echo 3>>file`). The marker line ends
stdout (`MARKER CODE\\r\\n`, the code as cmd shows it: 32 bits, maybe negative) and the exit code is
read from it (cmd's own exit code is then that of the last `call`), else from D\\rc, else cmd's.
cmd has no cheap test of an empty file, so stderr is always fetched: 6 exchanges besides the polls when
the line makes the run directory, 7 when the server does.
The text views decode with what the output looks like unless `encoding=` is given: UTF-16 (a BOM,
or NULs every other byte, as PowerShell and `cmd /u` write), else the OEM code page (cp437).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

import attrs

from vcenter_guest import errors
from vcenter_guest._engine import Engine, Plan
from vcenter_guest._engine.waiting import ProcessCalls, run_program
from vcenter_guest._values import CreateSpec, Credentials, ProcessResult
from vcenter_guest.operations import operations
from vcenter_guest.ownership import claim_prefix, prove_directory

from .checks import windows_path
from .commandline import MKDIR_FAILED, cmd_line, posix_line, windows_encoding
from .runoptions import RunOptions

if TYPE_CHECKING:
    from .files import FilesService

__all__ = [
    "GuestLayout",
    "Output",
    "run_captured",
]

_HOLD = 64
"""Bytes of stdout held back while streaming, for the marker line (`\\n<marker> <rc> <0|1>\\n`, or on
Windows `<marker> <rc>\\r\\n`: at most 54 bytes)."""
_RUN_PREFIX = "vcenter-guest-run-"


@functools.cache
def _tail(windows: bool) -> re.Pattern[bytes]:
    """What follows the marker at the end of stdout: the exit code (and on POSIX whether stderr has bytes).
    Compiled on the first run, once (`import vcenter_guest` compiles no pattern)."""
    return re.compile(rb"(-?\d{1,10}) *\r?\n\Z" if windows else rb"(\d{1,3}) ([01])\n\Z")


@attrs.frozen
class GuestLayout:
    """What a captured run needs to know of a guest to make its run directory itself: whether it is
    Windows, and its temporary directory for the guest user (a proven parent, or `/tmp`)."""

    windows: bool
    temp: str


class Output:
    """Where one stream goes: memory (at most `limit` bytes kept), or a binary file object (all of it)."""

    def __init__(self, target: IO[bytes] | None, limit: int) -> None:
        self.target = target
        self.limit = limit
        self.kept = bytearray()
        self.truncated = False
        self._held = bytearray()

    # stdout: the marker line is the end of the file; hold back what could be part of it
    def take_stdout(self, piece: bytes) -> None:
        if self.target is None:
            self.kept += piece
            return
        self._held += piece
        if len(self._held) > _HOLD:
            cut = len(self._held) - _HOLD
            self.target.write(bytes(self._held[:cut]))
            del self._held[:cut]

    def end_stdout(self, marker: str, complete: bool, *, windows: bool = False) -> tuple[int, bool] | None:
        """Strips the marker line (when the file was read to its end): (exit code, whether stderr has
        bytes), or None without one. The Windows line (`MARKER CODE`, CRLF, right after the program's
        last byte) has the code as cmd shows it (32 bits, maybe negative) and says nothing of stderr
        (True: fetch it)."""
        data = self.kept if self.target is None else self._held
        # The line's last occurrence of the marker, then its fixed tail: no pattern compiled per run.
        start = (marker.encode() + b" ") if windows else (b"\n" + marker.encode() + b" ")
        at = data.rfind(start) if complete else -1
        found = _tail(windows).match(data, at + len(start)) if at >= 0 else None
        line = None
        if found is not None:
            line = int(found.group(1)), windows or found.group(2) == b"1"
            del data[at:]
        if self.target is not None:
            self.target.write(bytes(self._held))
            self._held.clear()
        elif len(self.kept) > self.limit:
            del self.kept[self.limit :]
            self.truncated = True
        if not complete:
            self.truncated = True
        return line

    def take(self, piece: bytes) -> None:
        if self.target is None:
            self.kept += piece
        else:
            self.target.write(piece)

    def value(self) -> bytes | None:
        return bytes(self.kept) if self.target is None else None


@attrs.frozen
class CaptureRun:
    """One captured run's context: how to call the guest, where it runs, and its options."""

    engine: Engine
    processes: ProcessCalls
    files: FilesService
    vm: str
    credentials: Credentials
    options: RunOptions


def run_captured(
    run: CaptureRun,
    spec: CreateSpec | Callable[[str], Plan[CreateSpec]],
    layout: GuestLayout | None,
    learn: Callable[[GuestLayout], None],
    *,
    refused: Callable[[], None] = lambda: None,
    unmade: Callable[[], None] = lambda: None,
) -> Plan[ProcessResult]:
    """Runs `spec` with its output captured (see the module); the run directory is removed on every
    path where it is proven the run's own.

    `spec` may be a function of the run directory giving the plan that prepares it (`run_script`
    uploads the script there) and returns the spec to run. `layout`: the guest's, if known (the
    command line then makes the run directory, when nothing must be uploaded first); `learn` is
    given the layout a createTemporary answer shows. When the server answers the line's create with
    NOT_FOUND (a guest without `/bin/mkdir`, as NixOS is), nothing ran and nothing was made: `unmade`
    is told, and the run goes on with the server's directory."""
    files, vm, credentials = run.files, run.vm, run.credentials
    made = layout is not None and isinstance(spec, CreateSpec) and run.options.stdin is None
    if made:
        assert layout is not None
        claimed = claim_prefix(_RUN_PREFIX)
        sep = "\\" if layout.windows else "/"
        directory = prove_directory(f"{layout.temp.rstrip(sep)}{sep}{claimed}", prefix=claimed, parent=layout.temp)
    else:
        directory = yield from _temporary_directory(files, vm, credentials)
        learn(GuestLayout(windows_path(directory), _parent(directory)))
    state = _Made(None if made else True)
    closed = False
    try:
        return (yield from _run_in(run, spec, directory, state))
    except errors.VapiError as exc:
        if made and state.made is None and exc.operation == "processes.create":
            state.made = False  # the server refused to start the line: nothing ran, nothing was made
            if not isinstance(exc, errors.NotFound):
                raise
        elif isinstance(exc, errors.Unauthorized) and made and state.made and not windows_path(directory):
            # The line made the directory, the program ran, and its output may not be fetched: the
            # API user lacks what the server's directory would have needed first (`_refused_capture`).
            refused()
            raise _refused_capture(exc, ran=directory) from exc
        else:
            raise
    except GeneratorExit:
        closed = True  # the driver gave the plan up: it can send nothing more
        raise
    finally:
        if not closed:
            if state.made is None:
                state.made = yield from _is_directory(files, vm, credentials, directory)
            if state.made:
                yield from files.remove_quietly(vm, credentials, directory)
    # Only a NOT_FOUND refusal of the line that was to make the directory gets here (see above).
    unmade()
    return (yield from run_captured(run, spec, None, learn, refused=refused))


@attrs.define
class _Made:
    """Whether the run directory is proven the run's own: True, False, or None (not known yet)."""

    made: bool | None


def _parent(directory: str) -> str:
    sep = "\\" if windows_path(directory) else "/"
    return directory.rsplit(sep, 1)[0] or "/"


def _temporary_directory(files: FilesService, vm: str, credentials: Credentials) -> Plan[str]:
    """Directories.createTemporary, proven (see files.mkdtemp_plan); a refusal says what capture needs."""
    try:
        return (yield from files.mkdtemp_plan(vm, credentials, _RUN_PREFIX, "", None))
    except errors.Unauthorized as exc:
        raise _refused_capture(exc) from exc


def _is_directory(files: FilesService, vm: str, credentials: Credentials, directory: str) -> Plan[bool]:
    """Whether `directory` is a directory (Files.get describes a symbolic link, never follows it)."""
    try:
        info = yield from files.stat_plan(vm, credentials, directory)
    except errors.VcenterGuestError:
        return False
    return info.is_directory


def _run_in(
    run: CaptureRun, spec: CreateSpec | Callable[[str], Plan[CreateSpec]], directory: str, state: _Made
) -> Plan[ProcessResult]:
    """Prepares and runs the program in `directory`, then fetches its output: the result."""
    files, vm, credentials, options = run.files, run.vm, run.credentials, run.options
    windows = windows_path(directory)
    sep = "\\" if windows else "/"
    if options.stdin is not None:
        yield from files.upload_plan(vm, credentials, options.stdin, f"{directory}{sep}stdin", mode=None)
    if callable(spec):
        spec = yield from spec(directory)
    marker = f"vcenter-guest-{secrets.token_hex(12)}"
    stdin = options.stdin is not None
    if windows:
        captured = cmd_line(spec, directory, marker, stdin=stdin, made=state.made is None)
    else:
        captured = posix_line(spec, directory, marker, stdin=stdin, made=state.made is None)
    vanished: errors.ProcessVanished | None = None
    result: ProcessResult | None = None
    until = files.output_until(options.timeout)  # the output is fetched by then (timeout plus a grace)
    try:
        result = yield from run_program(
            run.engine,
            run.processes,
            vm,
            credentials,
            captured,
            timeout=options.timeout,
            terminate_on_timeout=options.terminate_on_timeout,
            check=False,
            name=spec.path,
        )
    except errors.ProcessVanished as exc:
        vanished = exc
    if state.made is None:
        yield from _prove_made(run, directory, state, result, vanished)
    outputs = (Output(options.stdout, options.max_output_bytes), Output(options.stderr, options.max_output_bytes))
    result = yield from _collected(
        files, vm, credentials, directory, marker=marker, outputs=outputs, result=result, vanished=vanished, until=until
    )
    return _finished(result, spec, outputs, options, windows=windows)


def _prove_made(
    run: CaptureRun,
    directory: str,
    state: _Made,
    result: ProcessResult | None,
    vanished: errors.ProcessVanished | None,
) -> Plan[None]:
    """Settles whether the line made `directory` (see the module): by its exit code, else by what it is
    (on Windows a batch file's `exit 125` ends cmd with 125 too: there, 125 is settled by what D is)."""
    if result is not None and not (windows_path(directory) and result.exit_code == MKDIR_FAILED):
        state.made = result.exit_code != MKDIR_FAILED
    else:
        state.made = yield from _is_directory(run.files, run.vm, run.credentials, directory)
    if state.made:
        return
    if vanished is not None:
        raise vanished
    assert result is not None
    raise errors.ProcessError(
        f"{run.vm}: the run directory {directory} could not be made (something is there already, or the "
        "guest's temporary directory refused it): nothing ran, and nothing was read or deleted",
        vm=run.vm,
        pid=result.pid,
    )


def _finished(
    result: ProcessResult,
    spec: CreateSpec,
    outputs: tuple[Output, Output],
    options: RunOptions,
    *,
    windows: bool,
) -> ProcessResult:
    """The result with its output attached (and ProcessFailed for check=True and a non-zero code)."""
    stdout, stderr = outputs
    encoding = options.encoding
    if windows and encoding is None:
        encoding = windows_encoding(stdout.value(), stderr.value())
    result = attrs.evolve(
        result,
        stdout=stdout.value(),
        stderr=stderr.value(),  # b"" when it was empty and not fetched; None when it went to a file object
        stdout_truncated=stdout.truncated,
        stderr_truncated=stderr.truncated,
        encoding=encoding,
    )
    if options.check and result.exit_code != 0:
        raise errors.ProcessFailed(
            f"{result.vm}: {spec.path} (pid {result.pid}) exited with {result.exit_code}", result=result
        )
    return result


# The operations a captured run needs besides processes.create and processes.get.
_CAPTURE_OPERATIONS = ("directories.create_temporary", "transfers.create", "directories.delete")


def _collected(
    files: FilesService,
    vm: str,
    credentials: Credentials,
    directory: str,
    *,
    marker: str,
    outputs: tuple[Output, Output],
    result: ProcessResult | None,
    vanished: errors.ProcessVanished | None,
    until: float | None,
) -> Plan[ProcessResult]:
    """A captured run's output fetched from its run `directory` (stdout, the exit code it holds when the
    server forgot the process, and stderr when it has bytes): the result, its output not yet attached."""
    stdout, stderr = outputs
    windows = windows_path(directory)
    sep = "\\" if windows else "/"
    moved = yield from files.fetch(
        vm,
        credentials,
        f"{directory}{sep}stdout",
        stdout.take_stdout,
        None if stdout.target else stdout.limit + _HOLD,
        until,
    )
    found = stdout.end_stdout(marker, complete=not moved.truncated, windows=windows)
    server_code_is_the_programs = not windows and (result is None or result.exit_code != MKDIR_FAILED - 1)
    result = yield from _with_exit_code(
        files,
        vm,
        credentials,
        result=result,
        vanished=vanished,
        found=found,
        rc=f"{directory}{sep}rc",
        trusted=server_code_is_the_programs,
        until=until,
    )
    if found is None or found[1]:  # stderr has bytes (or, on Windows, may), or no marker line
        moved = yield from files.fetch(
            vm, credentials, f"{directory}{sep}stderr", stderr.take, None if stderr.target else stderr.limit, until
        )
        stderr.truncated = moved.truncated
    return result


def _refused_capture(exc: errors.Unauthorized, ran: str | None = None) -> errors.Unauthorized:
    """The run directory (`ran` None), or the output of a program that ran (`ran`: the directory its
    output stays in, when its removal is refused too), was refused: say what capture needs that
    processes.create does not (the privileges, from the document), and how to run without it."""
    table = operations()
    extra = {p for op in _CAPTURE_OPERATIONS for p in table[op].privileges} - set(table["processes.create"].privileges)
    needs = (
        f"the API user's privilege {' and '.join(sorted(extra))} besides those of processes.create, and a "
        "guest user who may make a directory in the guest's temporary directory"
    )
    alone = "capture=False (the command line's --no-capture) runs the program for its exit code alone."
    if ran is None:
        message = f"{exc} Capturing output needs a run directory in the guest: {needs}. Nothing was started; {alone}"
    else:
        message = (
            f"{exc} The program ran, but its output could not be fetched (it stays in {ran} unless the "
            f"API user may delete it): capturing output needs {needs}. {alone}"
        )
    return type(exc)(
        message,
        status_code=exc.status_code,
        messages=exc.messages,
        data=exc.data,
        operation=exc.operation,
        vm=exc.vm,
        pid=exc.pid,
        error_type=exc.error_type,
    )


def _with_exit_code(
    files: FilesService,
    vm: str,
    credentials: Credentials,
    *,
    result: ProcessResult | None,
    vanished: errors.ProcessVanished | None,
    found: tuple[int, bool] | None,
    rc: str,
    trusted: bool,
    until: float | None = None,
) -> Plan[ProcessResult]:
    """The result with the program's exit code: the server's when it is the program's (`trusted`: on
    POSIX the line exits with it), else the marker line's, else what the line wrote to D/rc. On
    Windows the server's is cmd's, which is the program's only when the line never got past it
    (`exit` in a batch file); on POSIX the server's 124 may be the program's 125 (see the module)."""
    if vanished is None and result is not None and trusted:
        return result
    exit_code = found[0] if found is not None else (yield from _recorded_exit(files, vm, credentials, rc, until))
    if vanished is not None:
        if exit_code is None or vanished.started is None:
            raise vanished
        return ProcessResult(vanished.pid, exit_code, vanished.started, None, vm)
    assert result is not None
    return result if exit_code is None else attrs.evolve(result, exit_code=exit_code)


def _recorded_exit(
    files: FilesService, vm: str, credentials: Credentials, path: str, until: float | None = None
) -> Plan[int | None]:
    """The exit code the command line wrote to D/rc (cmd's may be negative, its line ends with CRLF),
    or None (it never got there)."""
    kept = bytearray()
    try:
        yield from files.fetch(vm, credentials, path, kept.extend, 16, until)
    except errors.NotFound:
        return None
    text = kept.decode("ascii", "replace").strip()
    return int(text) if re.fullmatch(r"-?\d{1,10}", text) else None
