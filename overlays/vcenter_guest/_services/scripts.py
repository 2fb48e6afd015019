"""A script `run_script` uploads: whether it names its interpreter (`#!`), and how a Windows guest runs it."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from vcenter_guest import errors
from vcenter_guest._values import CreateSpec, Credentials

from .checks import windows_path

if TYPE_CHECKING:
    from vcenter_guest._engine import Plan

    from .files import FilesService

__all__ = ["POWERSHELL", "script_preparer"]


def script_preparer(  # noqa: PLR0917 - run_script's checked arguments
    files: FilesService,
    vm: str,
    credentials: Credentials,
    base: CreateSpec,
    script: object,
    args: tuple[str, ...],
    interpreter: object,
) -> Callable[[str], Plan[CreateSpec]]:
    """`run_script`'s script, checked now: a function of the run directory giving the plan that uploads
    the script there and returns the spec that runs it (see `Processes.run_script`)."""
    if interpreter is not None and (not isinstance(interpreter, str) or not interpreter or "\0" in interpreter):
        raise errors.UsageError(
            f"interpreter must be a path in the guest such as '/usr/bin/python3' (no NUL), got {interpreter!r}"
        )
    body = script.encode("utf-8") if isinstance(script, str) else script
    if not isinstance(body, bytes | bytearray | os.PathLike):
        raise errors.UsageError(f"script must be its text, its bytes or a local path, not {type(script).__name__}")
    source: str | bytes | bytearray | os.PathLike[str] = script  # type: ignore[assignment] # checked above
    shebang = _has_shebang(body)

    def prepare(directory: str) -> Plan[CreateSpec]:
        if windows_path(directory):
            spec, path, data = _windows_script(base, directory, source, interpreter, args)
            yield from files.upload_plan(vm, credentials, data, path, mode=None)  # the directory is private
            return spec
        path = f"{directory}/script"
        yield from files.upload_plan(vm, credentials, body, path, mode="700")
        if interpreter is None and shebang:
            program, rest = path, list(args)
        else:
            program, rest = interpreter or "/bin/bash", [path, *args]
        return attrs.evolve(base, path=program, arguments=shlex.join(rest) if rest else None)

    return prepare


def _has_shebang(body: bytes | bytearray | os.PathLike[str]) -> bool:
    if not isinstance(body, os.PathLike):
        return bytes(body[:2]) == b"#!"
    try:
        with open(body, "rb") as local:
            return local.read(2) == b"#!"
    except OSError as exc:
        raise errors.UsageError(f"cannot read the script {os.fspath(body)!r}: {exc.strerror or exc}") from None


POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
"""Windows PowerShell, where every Windows since 7 / 2008 R2 has it."""


def _windows_script(
    base: CreateSpec,
    directory: str,
    script: str | bytes | bytearray | os.PathLike[str],
    interpreter: str | None,
    args: tuple[str, ...],
) -> tuple[CreateSpec, str, bytes | bytearray | os.PathLike[str]]:
    """(the spec to run, the guest path to upload to, what to upload) of a script in a Windows run
    directory: a .cmd script cmd.exe runs, a .ps1 one PowerShell runs, or one for `interpreter`.
    Text is written as its interpreter reads it; bytes and local files go as they are."""
    import mslex  # noqa: PLC0415 - only Windows guests need it

    if any("\n" in arg or "\r" in arg for arg in args):
        raise errors.UsageError(
            "on a Windows guest, a script's argument cannot hold a line break (cmd.exe ends its line)"
        )
    name = (interpreter or "").replace("/", "\\").rsplit("\\", 1)[-1].lower()
    data: bytes | bytearray | os.PathLike[str] = script.encode("utf-8") if isinstance(script, str) else script
    if interpreter is None:
        path = f"{directory}\\script.cmd"
        program, rest = path, list(args)
        if isinstance(script, str):
            try:  # cmd reads a batch file in the OEM code page, line by line (CRLF)
                data = script.replace("\r\n", "\n").replace("\n", "\r\n").encode("cp437")
            except UnicodeEncodeError:
                raise errors.UsageError(
                    "a cmd script's text must be in the OEM code page cp437 (cmd reads batch files in it); "
                    "pass its bytes, or interpreter='powershell'"
                ) from None
    elif name in {"powershell", "powershell.exe", "pwsh", "pwsh.exe"}:
        path = f"{directory}\\script.ps1"
        program = interpreter if windows_path(interpreter) else POWERSHELL
        rest = ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", path, *args]
        if isinstance(script, str):
            data = ("\ufeff" + script).encode("utf-8")  # Windows PowerShell reads UTF-8 by its BOM
    else:
        path = f"{directory}\\script"
        program, rest = interpreter, [path, *args]
    arguments = mslex.join(rest, for_cmd=True) if rest else None  # the line goes through cmd.exe (capture)
    return attrs.evolve(base, path=program, arguments=arguments), path, data
