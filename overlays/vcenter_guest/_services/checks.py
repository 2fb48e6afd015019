"""Checking what users pass to service methods, once, with messages that say what to do.

Every check raises `errors.UsageError` (also a ValueError) before anything is sent.
"""

from __future__ import annotations

import io
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from vcenter_guest._values.credentials import Credentials
from vcenter_guest._values.specs import CreateSpec
from vcenter_guest.errors import UsageError

__all__ = [
    "check_binary_stream",
    "check_credentials",
    "check_pid",
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


def program_spec(
    program: object,
    args: Sequence[object],
    arguments: str | None = None,
    working_directory: str | None = None,
    environment_variables: Mapping[str, str] | None = None,
    *,
    through_cmd: bool = False,
) -> CreateSpec:
    """The CreateSpec for `run(vm, creds, program, *args, ...)`.

    Each of `args` reaches the program as one argument, unchanged (quotes, spaces and the rest):

    * a POSIX program (Linux and Solaris guests run programs through a shell): quoted for a POSIX
      shell with `shlex`;
    * a Windows program (its path is `C:\\...`, `c:/...` or `\\\\server\\...`): quoted with `mslex` for
      the rules of CommandLineToArgvW, which the program applies to its command line; with
      `through_cmd` (capture: the line goes through `cmd.exe /c`, see `capture`), quoted for cmd's
      rules too (`%`, `^`, `&`, `|`, `<`, `>` and quotes), and then an argument cannot hold a line
      break (cmd ends its line at the first one).

    For shell syntax (redirection, pipes), pass `arguments=` as one string instead: it is sent as is.

    >>> program_spec("/bin/echo", ["hello world", "it's"]).arguments
    '\\'hello world\\' \\'it\\'"\\'"\\'s\\''
    >>> program_spec("C:\\Tools\\argv.exe", ['a "b"', "50%"]).arguments
    '"a \\\\"b\\\\"" 50%'
    >>> program_spec("C:\\Tools\\argv.exe", ['a "b"', "50%"], through_cmd=True).arguments
    '"a "\\\\^"b\\\\^" 50^%'
    """
    if isinstance(program, CreateSpec):
        if args or arguments is not None or working_directory is not None or environment_variables is not None:
            raise UsageError("with a CreateSpec, put arguments, directory and environment in the spec itself")
        return program
    if not isinstance(program, str) or not program:
        raise UsageError("program must be an absolute path (a non-empty string) or a CreateSpec")
    if args and arguments is not None:
        raise UsageError("pass the arguments either as separate args or as arguments=, not both")
    for arg in args:
        if not isinstance(arg, str):
            raise UsageError(f"each argument must be a string, got {type(arg).__name__}")
        if "\0" in arg:
            raise UsageError("an argument cannot hold a NUL character: no program can receive one")
    text: Any = arguments
    if (
        through_cmd
        and isinstance(arguments, str)
        and windows_path(program)
        and ("\n" in arguments or "\r" in arguments)
    ):
        raise UsageError(
            "on a Windows guest with capture, arguments= cannot hold a line break (cmd.exe ends its command "
            "line there, and the output would not be captured); pass capture=False"
        )
    if args and windows_path(program):
        import mslex  # noqa: PLC0415 - only Windows programs need it

        if through_cmd and any("\n" in arg or "\r" in arg for arg in args):  # type: ignore[operator] # all str
            raise UsageError(
                "on a Windows guest with capture, an argument cannot hold a line break (cmd.exe ends its "
                "command line there); pass capture=False, or arguments= as one string"
            )
        text = mslex.join(list(args), for_cmd=through_cmd)  # type: ignore[arg-type] # checked: all str
    elif args:
        text = shlex.join(args)  # type: ignore[arg-type] # checked: all str
    return CreateSpec(
        program,
        arguments=text,
        working_directory=working_directory,
        environment_variables=environment_variables,
    )


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
