"""`run` with capture: the program's stdout and stderr come back with its exit code.

The processes API cannot return output, so, as every tool that gives it does, the program's output
goes to files in the guest that are then downloaded. In as few exchanges as the API allows:

    1. Directories.createTemporary  a private run directory (mode 700, a name nobody can predict)
    2. Processes.create             `path args >D/stdout 2>D/stderr; ...` (through the guest's /bin/bash)
       Processes.get ...            the polls of `run`
    3. Transfers.create + 4. GET    D/stdout; it ends with a line the command appended after the
                                    program: a marker nobody can guess, the exit code, and whether
                                    stderr is empty
    (5. + 6.                        D/stderr, only when it is not empty)
    5. Directories.delete           the run directory, recursively, however the run ended

The exit code is also written to D/rc, so that a process the server forgot (it keeps an exit code
about 5 minutes) still gives its exit code when stdout was too long to reach the marker line.

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
cmd has no cheap test of an empty file, so stderr is always fetched: 7 exchanges besides the polls.
The text views decode with what the output looks like unless `encoding=` is given: UTF-16 (a BOM,
or NULs every other byte, as PowerShell and `cmd /u` write), else the OEM code page (cp437).
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

import attrs

from vcenter_guest import errors
from vcenter_guest._engine import Engine, Plan
from vcenter_guest._engine.waiting import run_program
from vcenter_guest._values import CreateSpec, Credentials, ProcessResult
from vcenter_guest.operations import operations

from .checks import check_binary_stream, windows_path

if TYPE_CHECKING:
    from .files import FilesService
    from .processes import ProcessesService

__all__ = [
    "CMD_EXE",
    "DEFAULT_MAX_OUTPUT_BYTES",
    "Output",
    "check_encoding",
    "check_limit",
    "cmd_line",
    "output_target",
    "posix_line",
    "run_captured",
    "windows_encoding",
]

CMD_EXE = "C:\\Windows\\System32\\cmd.exe"
"""The program a captured run on a Windows guest starts (its cmd.exe runs the program, see the module)."""

DEFAULT_MAX_OUTPUT_BYTES = 4 << 20
"""Bytes of each stream `run` keeps in memory by default; past them the stream is cut (and flagged)."""
_HOLD = 64
"""Bytes of stdout held back while streaming, for the marker line (`\\n<marker> <rc> <0|1>\\n`, or on
Windows `<marker> <rc>\\r\\n`: at most 54 bytes)."""
_RUN_PREFIX = "vcenter-guest-run-"


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
        if windows:
            pattern = re.escape(marker.encode()) + rb" (-?\d{1,10}) *\r?\n\Z"
        else:
            pattern = rb"\n" + re.escape(marker.encode()) + rb" (\d{1,3}) ([01])\n\Z"
        found = re.search(pattern, data) if complete else None
        line = None
        if found is not None:
            line = int(found.group(1)), windows or found.group(2) == b"1"
            del data[found.start() :]
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


def _command_suffix(directory: str, marker: str) -> str:
    """What follows the program's arguments: the redirections, then the marker line and the exit code."""
    out, err, rc = (shlex.quote(f"{directory}/{name}") for name in ("stdout", "stderr", "rc"))
    return (
        f" >{out} 2>{err}; rc=$?; echo $rc >{rc}; [ -s {err} ] && e=1 || e=0; "
        f'printf \'\\n%s %d %d\\n\' {marker} "$rc" "$e" >>{out}; exit $rc'
    )


def posix_line(spec: CreateSpec, directory: str, marker: str) -> CreateSpec:
    """`spec` with its output in the POSIX run directory `directory` (see the module).

    Arguments that are a list of words (what `run(*args)` sends) are followed by the redirections.
    Verbatim `arguments=` are shell text: they may hold shell syntax (`a; b`, `&&`, a `#` comment,
    a line break), so the redirections cannot simply follow them (they would catch the last
    command only, or stand on a line of their own), and they may not parse at all. The line is
    then given to a shell of its own, as its `$1`: `/bin/sh -c '/bin/sh -c "$1" >D/stdout
    2>D/stderr; ...' sh 'PATH ARGUMENTS'`. Whatever its commands print is captured; a syntax error
    is that inner shell's message on stderr and its exit code (2), as running the line would give.

    >>> posix_line(CreateSpec("/bin/echo", arguments="'a b' c"), "/tmp/d", "M").arguments.startswith("'a b' c >")
    True
    >>> nested = posix_line(CreateSpec("/bin/echo", arguments="a; /bin/echo b"), "/tmp/d", "M")
    >>> nested.path, shlex.split(nested.arguments)[-2:]
    ('/bin/sh', ['sh', '/bin/echo a; /bin/echo b'])
    """
    arguments = spec.arguments or ""
    suffix = _command_suffix(directory, marker)
    try:
        words = shlex.split(arguments)
    except ValueError:
        words = None
    if words is not None and shlex.join(words) == arguments.strip(" "):
        return attrs.evolve(spec, arguments=arguments + suffix)
    line = f"{shlex.quote(spec.path)} {arguments}"
    outer = '/bin/sh -c "$1"' + suffix
    return attrs.evolve(spec, path="/bin/sh", arguments=f"-c {shlex.quote(outer)} sh {shlex.quote(line)}")


def cmd_line(spec: CreateSpec, directory: str, marker: str) -> CreateSpec:
    """`spec` run through cmd.exe with its output in the Windows run directory `directory` (see the
    module); `spec.arguments` is put in cmd's line as it is (program_spec quotes args for it)."""
    import mslex  # noqa: PLC0415 - only Windows guests need it

    out, err, rc = (mslex.quote(f"{directory}\\{name}", for_cmd=True) for name in ("stdout", "stderr", "rc"))
    program = mslex.quote(spec.path, for_cmd=True)
    arguments = f" {spec.arguments}" if spec.arguments else ""
    line = (
        f"{program}{arguments} >{out} 2>{err} & call set VCENTER_GUEST_RC=%^ERRORLEVEL%& "
        f">>{out} call echo {marker} %^VCENTER_GUEST_RC%& >{rc} call echo %^VCENTER_GUEST_RC%"
    )
    return attrs.evolve(spec, path=CMD_EXE, arguments=f'/d /q /s /c "{line}"')


def windows_encoding(*streams: bytes | None) -> str:
    """The codec of a Windows program's output: UTF-16 when the first stream with bytes has a BOM or
    NULs every other byte (ASCII text in UTF-16), else the OEM code page of en-US Windows (cp437).

    >>> windows_encoding("hé".encode("utf-16")), windows_encoding(b"", "hi".encode("utf-16-le"))
    ('utf-16', 'utf-16-le')
    >>> windows_encoding(b"caf\\x82")
    'cp437'
    """
    data = next((s for s in streams if s), b"")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd >= pairs * 0.4 and even <= pairs * 0.1:
            return "utf-16-le"
        if even >= pairs * 0.4 and odd <= pairs * 0.1:
            return "utf-16-be"
    return "cp437"


def run_captured(
    engine: Engine,
    processes: ProcessesService,
    files: FilesService,
    *,
    vm: str,
    credentials: Credentials,
    spec: CreateSpec | Callable[[str], Plan[CreateSpec]],
    timeout: float | None,
    terminate_on_timeout: bool,
    check: bool,
    stdout: Output,
    stderr: Output,
    encoding: str | None,
) -> Plan[ProcessResult]:
    """Runs `spec` with its output captured (see the module); the run directory is removed on every path.

    `spec` may be a function of the run directory giving the plan that prepares it (`run_script`
    uploads the script there) and returns the spec to run."""
    try:
        directory: str = yield from files.mkdtemp_plan(vm, credentials, _RUN_PREFIX, "", None)
    except errors.Unauthorized as exc:
        raise _refused_capture(exc) from exc
    closed = False
    try:
        windows = windows_path(directory)
        if callable(spec):
            spec = yield from spec(directory)
        marker = f"vcenter-guest-{secrets.token_hex(12)}"
        captured = (cmd_line if windows else posix_line)(spec, directory, marker)
        vanished: errors.ProcessVanished | None = None
        result: ProcessResult | None = None
        until = files.output_until(timeout)  # the output is fetched by then (timeout plus a grace)
        try:
            result = yield from run_program(
                engine,
                processes,
                vm,
                credentials,
                captured,
                timeout=timeout,
                terminate_on_timeout=terminate_on_timeout,
                check=False,
            )
        except errors.ProcessVanished as exc:
            vanished = exc
        result = yield from _collected(
            files,
            vm,
            credentials,
            directory,
            marker=marker,
            stdout=stdout,
            stderr=stderr,
            result=result,
            vanished=vanished,
            until=until,
        )
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
        if check and result.exit_code != 0:
            raise errors.ProcessFailed(
                f"{vm}: {spec.path} (pid {result.pid}) exited with {result.exit_code}", result=result
            )
        return result
    except GeneratorExit:
        closed = True  # the driver gave the plan up: it can send nothing more
        raise
    finally:
        if not closed:
            yield from files.remove_quietly(vm, credentials, directory)


# The operations a captured run needs besides processes.create and processes.get.
_CAPTURE_OPERATIONS = ("directories.create_temporary", "transfers.create", "directories.delete")


def _collected(
    files: FilesService,
    vm: str,
    credentials: Credentials,
    directory: str,
    *,
    marker: str,
    stdout: Output,
    stderr: Output,
    result: ProcessResult | None,
    vanished: errors.ProcessVanished | None,
    until: float | None,
) -> Plan[ProcessResult]:
    """A captured run's output fetched from its run `directory` (stdout, the exit code it holds when the
    server forgot the process, and stderr when it has bytes): the result, its output not yet attached."""
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
    result = yield from _with_exit_code(
        files,
        vm,
        credentials,
        result=result,
        vanished=vanished,
        found=found,
        rc=f"{directory}{sep}rc",
        windows=windows,
        until=until,
    )
    assert result is not None
    if found is None or found[1]:  # stderr has bytes (or, on Windows, may), or no marker line
        moved = yield from files.fetch(
            vm, credentials, f"{directory}{sep}stderr", stderr.take, None if stderr.target else stderr.limit, until
        )
        stderr.truncated = moved.truncated
    return result


def _refused_capture(exc: errors.Unauthorized) -> errors.Unauthorized:
    """The run directory was refused before anything ran: say what capture needs that processes.create
    does not (the privileges, from the document), and how to run without it."""
    table = operations()
    extra = {p for op in _CAPTURE_OPERATIONS for p in table[op].privileges} - set(table["processes.create"].privileges)
    message = (
        f"{exc} Capturing output needs a run directory in the guest: the API user's privilege "
        f"{' and '.join(sorted(extra))} besides those of processes.create, and a guest user who may make "
        "a directory in the guest's temporary directory. Nothing was started; capture=False (the "
        "command line's --no-capture) runs the program for its exit code alone."
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
    windows: bool,
    until: float | None = None,
) -> Plan[ProcessResult]:
    """The result with the program's exit code: the server's (POSIX: the line exits with it), else
    the marker line's, else what the line wrote to D/rc. On Windows the server's is cmd's, which is
    the program's only when the line never got past it (`exit` in a batch file)."""
    if vanished is None and result is not None and not windows:
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


def output_target(value: object, name: str) -> IO[bytes] | None:
    """`run(stdout=...)`: None (keep in memory) or a binary file object to stream into."""
    if value is None:
        return None
    if not callable(getattr(value, "write", None)):
        raise errors.UsageError(f"{name} must be a binary file object (with write) or None, not {type(value).__name__}")
    check_binary_stream(value, name, "wb")
    return value  # type: ignore[return-value] # anything with write(bytes)


def check_limit(value: object) -> int:
    """`max_output_bytes`: a positive int."""
    if type(value) is not int or value < 1:
        raise errors.UsageError(f"max_output_bytes must be a positive int (bytes kept per stream), got {value!r}")
    return value


def check_encoding(value: object) -> str | None:
    """`encoding`: None or a codec Python knows."""
    if value is None:
        return None
    import codecs  # noqa: PLC0415

    if isinstance(value, str):
        try:
            return codecs.lookup(value).name
        except LookupError:
            pass
    raise errors.UsageError(f"encoding must be the name of a codec such as 'utf-8' or 'cp1252', got {value!r}")
