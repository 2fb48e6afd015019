"""Checking what users pass to service methods, once, with messages that say what to do.

Every check raises `errors.UsageError` (also a ValueError) before anything is sent.
"""

from __future__ import annotations

import io
import math
import re
import shlex
from collections.abc import Mapping, Sequence

from vcenter_guest._values.credentials import Credentials
from vcenter_guest._values.specs import CreateSpec
from vcenter_guest.errors import UsageError

POSIX_SHELL = "/bin/sh"
"""The shell a program without a path runs through on a POSIX guest."""
WINDOWS_SHELL = "C:\\Windows\\System32\\cmd.exe"
"""cmd.exe, which runs a program without a path (and a captured run) on a Windows guest."""

__all__ = [
    "POSIX_SHELL",
    "WINDOWS_SHELL",
    "bare_name",
    "check_binary_stream",
    "check_credentials",
    "check_encoding",
    "check_limit",
    "check_pid",
    "check_power_timeout",
    "check_run_timeout",
    "check_spec",
    "check_terminate",
    "check_vm",
    "program_spec",
    "windows_path",
]


def windows_path(path: str) -> bool:
    """Whether `path` is a Windows path (`C:\\...`, `c:/...`, `\\\\server\\...`): how a program, or the
    run directory the guest made, tells a Windows guest.

    >>> windows_path("C:\\Windows\\System32\\cmd.exe"), windows_path("c:/x"), windows_path("/bin/sh")
    (True, True, False)
    """
    return re.match(r"[A-Za-z]:[\\/]", path) is not None or path.startswith("\\\\")


def check_vm(vm: object) -> str:
    """A VM identifier such as "vm-42"."""
    if not isinstance(vm, str) or not vm:
        raise UsageError(f"vm must be a VM identifier such as 'vm-42', got {vm!r}")
    return vm


def check_pid(pid: object) -> int:
    """A process id: a non-negative int."""
    if type(pid) is not int or not 0 <= pid < 2**63:
        raise UsageError(f"pid must be a non-negative int64, got {pid!r}")
    return pid


def check_credentials(credentials: object) -> Credentials:
    """Guest credentials built with Credentials.password() or Credentials.saml()."""
    if not isinstance(credentials, Credentials):
        raise UsageError(
            "credentials must be vcenter_guest.Credentials, e.g. Credentials.password('root', password), "
            f"not {type(credentials).__name__}"
        )
    return credentials


def check_spec(spec: object) -> CreateSpec:
    """A CreateSpec, or a program path as shorthand for CreateSpec(path)."""
    if isinstance(spec, CreateSpec):
        return spec
    if isinstance(spec, str):
        return CreateSpec(spec)
    raise UsageError(f"spec must be a vcenter_guest.CreateSpec or a program path, not {type(spec).__name__}")


def check_run_timeout(timeout: object, name: str = "timeout") -> float | None:
    """Seconds `run` waits for the program, or for the guest (`wait_ready`); None: forever."""
    if timeout is None:
        return None
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and math.isfinite(timeout) and timeout > 0:
        return float(timeout)
    raise UsageError(f"{name} must be a positive number of seconds or None, got {timeout!r}")


def check_power_timeout(timeout: object) -> float | None:
    """Seconds a power change waits for the state it asked for (0: not at all; None: forever)."""
    if timeout == 0 and not isinstance(timeout, bool):
        return 0.0
    return check_run_timeout(timeout)


def check_flag(value: object, name: str) -> bool:
    """A keyword that must be True or False (not a truthy stand-in)."""
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, got {value!r}")
    return value


def check_terminate(value: object, timeout: float | None, waiter: str) -> bool:
    """`terminate_on_timeout`: True or False, and True only with a timeout (`waiter` is run or wait)."""
    terminate = check_flag(value, "terminate_on_timeout")
    if terminate and timeout is None:
        raise UsageError(f"terminate_on_timeout=True needs a timeout= (without one, {waiter} waits forever)")
    return terminate


def bare_name(program: str) -> bool:
    """Whether `program` is a name without a path (`uname`, `ipconfig.exe`): `run` starts it through
    the guest's shell (`/bin/sh -c`, or cmd.exe on Windows), as govc's guest.run does.

    >>> bare_name("uname"), bare_name("/bin/uname"), bare_name("C:/x.exe"), bare_name("bin/x")
    (True, False, False, False)
    """
    return "/" not in program and "\\" not in program and not windows_path(program)


def program_spec(
    program: object,
    args: Sequence[object],
    arguments: str | None = None,
    working_directory: str | None = None,
    environment_variables: Mapping[str, str] | None = None,
    *,
    through_cmd: bool = False,
    windows: bool | None = None,
) -> CreateSpec:
    """The CreateSpec for `run(vm, creds, program, *args, ...)`.

    Each of `args` reaches the program as one argument, unchanged (quotes, spaces and the rest):

    * a POSIX program (Linux and Solaris guests run programs through a shell): quoted for a POSIX
      shell with `shlex`;
    * a Windows program (its path is `C:\\...`, `c:/...` or `\\\\server\\...`): quoted with `mslex` for
      the rules of CommandLineToArgvW, which the program applies to its command line; with
      `through_cmd` (capture: the line goes through `cmd.exe /c`, see `capture`), quoted for cmd's
      rules too (`%`, `^`, `&`, `|`, `<`, `>` and quotes), and then an argument cannot hold a line
      break (cmd ends its line at the first one);
    * a name without a path (`bare_name`): run as govc does, through `/bin/sh -c LINE` (LINE: the
      name and the args, each quoted by shlex) on a POSIX guest, or by cmd.exe on a Windows guest
      (`windows`, None: not known, taken as POSIX), which finds it on its PATH.

    For shell syntax (redirection, pipes), pass `arguments=` as one string instead: it is sent as is.

    >>> program_spec("/bin/echo", ["hello world", "it's"]).arguments
    '\\'hello world\\' \\'it\\'"\\'"\\'s\\''
    >>> program_spec("C:\\Tools\\argv.exe", ['a "b"', "50%"]).arguments
    '"a \\\\"b\\\\"" 50%'
    >>> program_spec("C:\\Tools\\argv.exe", ['a "b"', "50%"], through_cmd=True).arguments
    '"a "\\\\^"b\\\\^" 50^%'
    >>> bare = program_spec("uname", ["-a"])
    >>> bare.path, bare.arguments
    ('/bin/sh', "-c 'uname -a'")
    """
    if isinstance(program, CreateSpec):
        if args or arguments is not None or working_directory is not None or environment_variables is not None:
            raise UsageError("with a CreateSpec, put arguments, directory and environment in the spec itself")
        return program
    if not isinstance(program, str) or not program:
        raise UsageError("program must be a path or a name (a non-empty string) or a CreateSpec")
    words = _checked_args(args, arguments)
    on_windows = windows_path(program) or (windows is True and bare_name(program))
    if on_windows:
        text = _windows_arguments(words, arguments, through_cmd=through_cmd)
    else:
        text = shlex.join(words) if words else arguments
    path = program
    if bare_name(program):
        path, text = _through_shell(program, text, windows=on_windows, through_cmd=through_cmd)
    return CreateSpec(
        path,
        arguments=text,
        working_directory=working_directory,
        environment_variables=environment_variables,
    )


def _checked_args(args: Sequence[object], arguments: object) -> list[str]:
    if args and arguments is not None:
        raise UsageError("pass the arguments either as separate args or as arguments=, not both")
    for arg in args:
        if not isinstance(arg, str):
            raise UsageError(f"each argument must be a string, got {type(arg).__name__}")
        if "\0" in arg:
            raise UsageError("an argument cannot hold a NUL character: no program can receive one")
    return list(args)  # type: ignore[arg-type] # checked: all str


def _windows_arguments(words: list[str], arguments: str | None, *, through_cmd: bool) -> str | None:
    """A Windows program's argument text: `words` quoted by mslex (for cmd too, `through_cmd`), or
    `arguments` as given; a line break cannot go through cmd."""
    if through_cmd and isinstance(arguments, str) and ("\n" in arguments or "\r" in arguments):
        raise UsageError(
            "on a Windows guest with capture, arguments= cannot hold a line break (cmd.exe ends its command "
            "line there, and the output would not be captured); pass capture=False"
        )
    if not words:
        return arguments
    import mslex  # noqa: PLC0415 - only Windows programs need it

    if through_cmd and any("\n" in arg or "\r" in arg for arg in words):
        raise UsageError(
            "on a Windows guest with capture, an argument cannot hold a line break (cmd.exe ends its "
            "command line there); pass capture=False, or arguments= as one string"
        )
    return str(mslex.join(words, for_cmd=through_cmd))


def _through_shell(name: str, text: str | None, *, windows: bool, through_cmd: bool) -> tuple[str, str]:
    """(path, arguments) that start the program `name` (no path) with argument text `text` through the
    guest's shell: `/bin/sh -c LINE`, or on Windows cmd.exe (already the program under capture)."""
    if windows:
        import mslex  # noqa: PLC0415 - only Windows programs need it

        line = f"{mslex.quote(name, for_cmd=True)}{f' {text}' if text else ''}"
        if through_cmd:  # the captured line runs through cmd.exe already: cmd finds the name
            return name, text or ""
        if "\n" in line or "\r" in line:
            raise UsageError("on a Windows guest, a program without a path cannot take a line break (cmd.exe)")
        return WINDOWS_SHELL, f'/d /s /c "{line}"'
    line = f"{shlex.quote(name)}{f' {text}' if text else ''}"
    return POSIX_SHELL, f"-c {shlex.quote(line)}"


def check_binary_stream(value: object, name: str, mode: str) -> None:
    """Refuses a text file object where bytes must go (`mode`: 'rb' or 'wb'), before anything is sent.

    >>> check_binary_stream(io.BytesIO(), "stdout", "wb")
    >>> check_binary_stream(io.StringIO(), "stdout", "wb")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vcenter_guest.errors.UsageError: stdout must be a binary file object (opened with 'wb'), not a text one ...
    """
    if isinstance(value, io.TextIOBase):
        std = "sys.stdin" if "r" in mode else "sys.stdout"
        raise UsageError(
            f"{name} must be a binary file object (opened with {mode!r}), not a text one "
            f"({type(value).__name__}); for {std}, pass {std}.buffer"
        )


def check_limit(value: object) -> int:
    """`max_output_bytes`: a positive int."""
    if type(value) is not int or value < 1:
        raise UsageError(f"max_output_bytes must be a positive int (bytes kept per stream), got {value!r}")
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
    raise UsageError(f"encoding must be the name of a codec such as 'utf-8' or 'cp1252', got {value!r}")
