"""`vcenter-guest upload`, `download`, `ls`, `rm`, `mkdir` and `script`: files and scripts in a VM's guest."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, TYPE_CHECKING, Any

import click

from vcenter_guest import errors

from ._common import Connection, connection_options, resolve_vms
from ._many import Done, gather, on_vms, one_vm_option, vm_options
from ._outcome import run_async
from ._run import (
    Many,
    environment,
    exit_code_of,
    many_output_options,
    program_options,
    refuse_option_clashes,
    result_json,
    run_on_many,
)

if TYPE_CHECKING:
    from vcenter_guest import AsyncClient, Credentials, FileSummary, ProcessResult

__all__ = ["download", "ls", "mkdir", "rm", "script", "upload"]

PROGRESS_FROM = 8 << 20
"""Bytes from which a transfer shows a progress bar (on a terminal)."""


def _progress(conn: Connection, size: int, label: str) -> Any:
    """A rich progress bar on stderr for a large transfer on a terminal, else None."""
    if size < PROGRESS_FROM or not sys.stderr.isatty() or conn.as_json:
        return None
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn  # noqa: PLC0415

    progress = Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(), console=conn.stderr)
    progress.add_task(label, total=size)
    return progress


@click.command()
@vm_options
@click.option("--overwrite", is_flag=True, help="Replace a file that exists at GUEST_PATH.")
@click.option("--mode", metavar="OCTAL", help="POSIX permissions of the new file, e.g. 640 (default: the guest's).")
@connection_options
@click.argument("local", type=click.Path(dir_okay=False, allow_dash=True, path_type=str))
@click.argument("guest_path")
def upload(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    prefix: bool | None,
    overwrite: bool,
    mode: str | None,
    local: str,
    guest_path: str,
) -> None:
    """Copy LOCAL (a file, or - for stdin) to GUEST_PATH in the VM's guest (in each VM, with many). A
    LOCAL that cannot be read exits 2 (a bad command line), before anything is sent.

    \b
        vcenter-guest upload --vm vm-42 app.tar.gz /tmp/app.tar.gz
        tar czf - src | vcenter-guest upload --vm vm-42 - /tmp/src.tgz
    """
    many = len(set(vms)) > 1
    if local == "-":
        if many:
            raise click.UsageError("stdin (-) can be read once: with many --vm, give LOCAL a file")
        source: Any = sys.stdin.buffer
        size = 0
    else:
        source = local
        try:
            size = os.stat(local).st_size
        except OSError as exc:  # as `script` says of its FILE: bad input on the command line, exit 2
            raise click.BadParameter(f"cannot read {local}: {exc.strerror or exc}", param_hint="LOCAL") from None
        if not os.access(local, os.R_OK):
            raise click.BadParameter(f"cannot read {local}: Permission denied", param_hint="LOCAL")
    progress = None if many else _progress(conn, size, f"upload {guest_path}")

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        written: int = await vc.files.upload(
            target,
            creds,
            source,
            guest_path,
            overwrite=overwrite,
            permissions=mode,
            progress=None if progress is None else functools.partial(progress.advance, progress.task_ids[0]),
        )
        return Done({"path": guest_path, "bytes": written})

    with progress if progress is not None else contextlib.nullcontext():
        on_vms(conn, vms, work, prefix=prefix)


def _guest_name(guest_path: str) -> str:
    windows = (len(guest_path) > 1 and guest_path[1] == ":") or "\\" in guest_path
    return (PureWindowsPath(guest_path) if windows else PurePosixPath(guest_path)).name


@click.command()
@one_vm_option("LOCAL is one file: download from each VM in a command of its own")
@click.option("-f", "--force", is_flag=True, help="Replace a local file that exists (as govc's -f).")
@connection_options
@click.argument("guest_path")
@click.argument("local", required=False, type=click.Path(allow_dash=True, path_type=str))
def download(conn: Connection, vm: str, force: bool, guest_path: str, local: str | None) -> None:
    """Copy GUEST_PATH from the VM's guest to LOCAL (default: its name, here; - for stdout). A local
    file that exists is replaced only with --force (exit 2 otherwise), and then whole or not at all;
    a new file that cannot be written whole is removed.

    \b
        vcenter-guest download --vm vm-42 /var/log/app.log
        vcenter-guest download --vm vm-42 --force /etc/os-release os-release
        vcenter-guest download --vm vm-42 /etc/os-release - | head -n 2
    """
    destination: Any
    if local == "-":
        if conn.as_json:
            raise click.UsageError("--json and - both want stdout: give LOCAL a file name, or drop --json")
        destination = sys.stdout.buffer
    else:
        name = local if local is not None else _guest_name(guest_path)
        if not name:
            raise click.UsageError(f"{guest_path!r} names no file: give LOCAL")
        path = str(Path(name) / _guest_name(guest_path)) if Path(name).is_dir() else name
        destination = path if force else _new_file(path)

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        progress = None
        if sys.stderr.isatty() and not conn.as_json:
            size = (await vc.files.stat(target, creds, guest_path)).size
            progress = _progress(conn, size, f"download {guest_path}")
        if progress is None:
            moved = int(await vc.files.download(target, creds, guest_path, destination))
        else:
            with progress:
                advance = functools.partial(progress.advance, progress.task_ids[0])
                moved = int(await vc.files.download(target, creds, guest_path, destination, progress=advance))
        return Done({"path": guest_path, "bytes": moved, "local": local or getattr(destination, "name", destination)})

    with destination if isinstance(destination, _NewFile) else contextlib.nullcontext():
        on_vms(conn, (vm,), work)


class _NewFile(io.FileIO):
    """A local file this command made (it was not there): removed again unless the download completed."""

    def __init__(self, path: str) -> None:
        super().__init__(path, "xb")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.close()
        if isinstance(value, SystemExit) and value.code in (0, None):
            return
        with contextlib.suppress(OSError):
            os.unlink(self.name)


def _new_file(path: str) -> _NewFile:
    """`path`, made now (never replacing a file or following a link there): exit 2 if it exists."""
    try:
        return _NewFile(path)
    except FileExistsError:
        raise click.UsageError(f"{path} exists: pass --force to replace it") from None
    except OSError as exc:
        raise click.BadParameter(f"cannot write {path}: {exc.strerror or exc}", param_hint="LOCAL") from None


_KINDS = {"DIRECTORY": "d", "SYMLINK": "l"}


@click.command(name="ls")
@vm_options
@click.option("--pattern", metavar="REGEX", help="Only the names this (Perl-like) regular expression matches.")
@connection_options
@click.argument("guest_path")
def ls(conn: Connection, vms: tuple[str, ...], prefix: bool | None, pattern: str | None, guest_path: str) -> None:
    """List the directory GUEST_PATH in the VM's guest (every page), or describe the file.

    vcenter-guest ls --vm vm-42 /var/log
    """

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        entries: list[FileSummary] = await vc.files.list(target, creds, guest_path, pattern=pattern)
        shown = [{"name": e.filename, "type": e.type, "size": e.size} for e in entries]
        width = max((len(str(e.size)) for e in entries), default=1)
        lines = [
            f"{_KINDS.get(e.type, '-')} {e.size:>{width}} {e.filename}{'/' if e.is_directory else ''}" for e in entries
        ]
        return Done({"path": guest_path, "entries": shown}, "\n".join(lines))

    on_vms(conn, vms, work, prefix=prefix)


@click.command()
@vm_options
@click.option("-r", "--recursive", is_flag=True, help="Remove a directory and everything in it.")
@connection_options
@click.argument("guest_path")
def rm(conn: Connection, vms: tuple[str, ...], prefix: bool | None, recursive: bool, guest_path: str) -> None:
    """Delete the file GUEST_PATH in the VM's guest (with -r: a directory tree, or a file).

    \b
        vcenter-guest rm --vm vm-42 /var/log/app.log
        vcenter-guest rm --vm vm-42 -r /home/svc
    """

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        if recursive and (await vc.files.stat(target, creds, guest_path)).is_directory:
            await vc.files.rmdir(target, creds, guest_path, recursive=True)
            return Done({"path": guest_path, "removed": True})
        try:
            await vc.files.delete(target, creds, guest_path)
        except errors.InvalidArgument as exc:
            if not recursive and getattr(exc.data, "reason", None) == "NOT_A_FILE":
                raise errors.UsageError(f"{guest_path} is a directory: pass -r to remove it") from None
            raise
        return Done({"path": guest_path, "removed": True})

    on_vms(conn, vms, work, prefix=prefix)


@click.command()
@vm_options
@click.option("-p", "--parents", is_flag=True, help="Make missing parent directories too.")
@connection_options
@click.argument("guest_path")
def mkdir(conn: Connection, vms: tuple[str, ...], prefix: bool | None, parents: bool, guest_path: str) -> None:
    """Make the directory GUEST_PATH in the VM's guest.

    vcenter-guest mkdir --vm vm-42 -p /opt/app/conf
    """

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        await vc.files.mkdir(target, creds, guest_path, parents=parents)
        return Done({"path": guest_path, "made": True})

    on_vms(conn, vms, work, prefix=prefix)


@click.command(context_settings={"allow_interspersed_args": False})
@vm_options
@click.option(
    "--interpreter",
    metavar="PATH",
    help="Run the script with this guest program (default: its #! line, else /bin/bash).",
)
@program_options
@many_output_options
@connection_options
@click.argument("file", type=click.File("rb"))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def script(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    prefix: bool | None,
    interpreter: str | None,
    timeout: float | None,
    terminate_on_timeout: bool,
    cwd: str | None,
    env_pairs: tuple[str, ...],
    wait_ready: float | None,
    max_output: int | None,
    output_dir: Path | None,
    concurrency: int,
    file: IO[bytes],
    args: tuple[str, ...],
) -> None:
    """Run the local script FILE (- for stdin) in the VM's guest with ARGS, as Invoke-VMScript does:
    its stdout on stdout, its stderr on stderr, its exit code as vcenter-guest's.

    With many VMs (as Invoke-VMScript takes), as `run`: each VM's output (lines prefixed by the VM on
    a terminal; or into --output-dir), then a summary table on stderr; exit 0 if every script exited
    0, 1 if some exited otherwise, 125 if some VM could not run it.

    \b
        vcenter-guest script --vm vm-42 deploy.sh --release 1.2
        echo 'cat /etc/os-release' | vcenter-guest script --vm demo-linux -
    """
    targets = list(dict.fromkeys(vms))
    refuse_option_clashes(timeout, terminate_on_timeout, False, max_output, output_dir, one_vm=len(targets) == 1)
    body = file.read()  # a script: held in memory once (the upload streams it from there)
    options: dict[str, Any] = {
        "interpreter": interpreter,
        "timeout": timeout,
        "terminate_on_timeout": terminate_on_timeout,
        "working_directory": cwd,
        "environment_variables": environment(env_pairs),
        "wait_ready": wait_ready,
    }
    if len(targets) == 1 and not conn.as_json:
        options["stdout"], options["stderr"] = sys.stdout.buffer, sys.stderr.buffer
    elif max_output is not None:
        options["max_output_bytes"] = max_output

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> ProcessResult:
        result: ProcessResult = await vc.processes.run_script(target, creds, body, *args, **options)
        return result

    if len(targets) == 1:
        conn.vm = targets[0]
        result = run_async(conn, lambda: _script_one(conn, targets[0], work))
        if conn.as_json:
            conn.emit(result_json(conn, targets[0], result))
        sys.exit(exit_code_of(result))
    many = Many(output_dir=output_dir, captured=True, prefix=prefix, concurrency=concurrency)
    outcomes = functools.partial(
        gather, conn, targets, work, record=functools.partial(result_json, conn), concurrency=concurrency
    )
    sys.exit(run_on_many(conn, targets, outcomes, many=many))


async def _script_one(
    conn: Connection, vm: str, work: Callable[[AsyncClient, Credentials, str], Awaitable[ProcessResult]]
) -> ProcessResult:
    async with conn.connect() as vc:
        (target,) = await resolve_vms(vc, [vm])
        return await work(vc, conn.credentials(), target)
