"""`vcenter-guest upload`, `download`, `ls`, `rm`, `mkdir` and `script`: files and scripts in a VM's guest."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, TYPE_CHECKING, Any

import click

from vcenter_guest import errors

from ._common import VM_HELP, Connection, connection_options, resolve_vms
from ._outcome import check_terminate_flag, run_async
from ._run import environment, exit_code_of, program_options, result_json

if TYPE_CHECKING:
    from vcenter_guest import FileSummary, ProcessResult

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


vm_option = click.option("--vm", required=True, metavar="VM", help=VM_HELP)


@click.command()
@vm_option
@click.option("--overwrite", is_flag=True, help="Replace a file that exists at GUEST_PATH.")
@click.option("--mode", metavar="OCTAL", help="POSIX permissions of the new file, e.g. 640 (default: the guest's).")
@connection_options
@click.argument("local", type=click.Path(dir_okay=False, allow_dash=True, path_type=str))
@click.argument("guest_path")
def upload(*, conn: Connection, vm: str, overwrite: bool, mode: str | None, local: str, guest_path: str) -> None:
    """Copy LOCAL (a file, or - for stdin) to GUEST_PATH in the VM's guest. A LOCAL that cannot be
    read exits 2 (a bad command line), before anything is sent.

    \b
        vcenter-guest upload --vm vm-42 app.tar.gz /tmp/app.tar.gz
        tar czf - src | vcenter-guest upload --vm vm-42 - /tmp/src.tgz
    """
    if local == "-":
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
    progress = _progress(conn, size, f"upload {guest_path}")

    conn.vm = vm

    async def work() -> int:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            written: int = await vc.files.upload(
                target,
                conn.credentials(),
                source,
                guest_path,
                overwrite=overwrite,
                permissions=mode,
                progress=None if progress is None else functools.partial(progress.advance, progress.task_ids[0]),
            )
            return written

    if progress is not None:
        with progress:
            written = run_async(conn, work)
    else:
        written = run_async(conn, work)
    if conn.as_json:
        conn.emit(conn.record(vm, path=guest_path, bytes=written))


def _guest_name(guest_path: str) -> str:
    windows = (len(guest_path) > 1 and guest_path[1] == ":") or "\\" in guest_path
    return (PureWindowsPath(guest_path) if windows else PurePosixPath(guest_path)).name


@click.command()
@vm_option
@connection_options
@click.argument("guest_path")
@click.argument("local", required=False, type=click.Path(allow_dash=True, path_type=str))
def download(conn: Connection, vm: str, guest_path: str, local: str | None) -> None:
    """Copy GUEST_PATH from the VM's guest to LOCAL (default: its name, here; - for stdout). A local
    file is written whole or not at all.

    \b
        vcenter-guest download --vm vm-42 /var/log/app.log
        vcenter-guest download --vm vm-42 /etc/os-release - | head
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
        destination = str(Path(name) / _guest_name(guest_path)) if Path(name).is_dir() else name

    conn.vm = vm

    async def work() -> int:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            creds = conn.credentials()
            progress = None
            if sys.stderr.isatty() and not conn.as_json:
                size = (await vc.files.stat(target, creds, guest_path)).size
                progress = _progress(conn, size, f"download {guest_path}")
            if progress is None:
                result: Any = await vc.files.download(target, creds, guest_path, destination)
                return int(result)
            with progress:
                advance = functools.partial(progress.advance, progress.task_ids[0])
                return int(await vc.files.download(target, creds, guest_path, destination, progress=advance))

    moved = run_async(conn, work)
    if conn.as_json:
        conn.emit(conn.record(vm, path=guest_path, bytes=moved, local=local or destination))


@click.command(name="ls")
@vm_option
@click.option("--pattern", metavar="REGEX", help="Only the names this (Perl-like) regular expression matches.")
@connection_options
@click.argument("guest_path")
def ls(conn: Connection, vm: str, pattern: str | None, guest_path: str) -> None:
    """List the directory GUEST_PATH in the VM's guest (every page), or describe the file.

    vcenter-guest ls --vm vm-42 /var/log
    """

    conn.vm = vm

    async def work() -> list[FileSummary]:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            found: list[FileSummary] = await vc.files.list(target, conn.credentials(), guest_path, pattern=pattern)
            return found

    entries = run_async(conn, work)
    if conn.as_json:
        shown = [{"name": e.filename, "type": e.type, "size": e.size} for e in entries]
        conn.emit(conn.record(vm, path=guest_path, entries=shown))
        return
    width = max((len(str(e.size)) for e in entries), default=1)
    for entry in entries:
        kind = {"DIRECTORY": "d", "SYMLINK": "l"}.get(entry.type, "-")
        click.echo(f"{kind} {entry.size:>{width}} {entry.filename}{'/' if entry.is_directory else ''}")


@click.command()
@vm_option
@click.option("-r", "--recursive", is_flag=True, help="Remove a directory and everything in it.")
@connection_options
@click.argument("guest_path")
def rm(conn: Connection, vm: str, recursive: bool, guest_path: str) -> None:
    """Delete the file GUEST_PATH in the VM's guest (with -r: a directory tree, or a file).

    vcenter-guest rm --vm vm-42 -r /tmp/build
    """

    conn.vm = vm

    async def work() -> None:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            creds = conn.credentials()
            if recursive and (await vc.files.stat(target, creds, guest_path)).is_directory:
                await vc.files.rmdir(target, creds, guest_path, recursive=True)
                return
            try:
                await vc.files.delete(target, creds, guest_path)
            except errors.InvalidArgument as exc:
                if not recursive and getattr(exc.data, "reason", None) == "NOT_A_FILE":
                    raise errors.UsageError(f"{guest_path} is a directory: pass -r to remove it") from None
                raise

    run_async(conn, work)
    if conn.as_json:
        conn.emit(conn.record(vm, path=guest_path, removed=True))


@click.command()
@vm_option
@click.option("-p", "--parents", is_flag=True, help="Make missing parent directories too.")
@connection_options
@click.argument("guest_path")
def mkdir(conn: Connection, vm: str, parents: bool, guest_path: str) -> None:
    """Make the directory GUEST_PATH in the VM's guest.

    vcenter-guest mkdir --vm vm-42 -p /opt/app/conf
    """

    conn.vm = vm

    async def work() -> None:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            await vc.files.mkdir(target, conn.credentials(), guest_path, parents=parents)

    run_async(conn, work)
    if conn.as_json:
        conn.emit(conn.record(vm, path=guest_path, made=True))


@click.command(context_settings={"allow_interspersed_args": False})
@vm_option
@click.option(
    "--interpreter",
    metavar="PATH",
    help="Run the script with this guest program (default: its #! line, else /bin/bash).",
)
@program_options
@connection_options
@click.argument("file", type=click.File("rb"))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def script(
    *,
    conn: Connection,
    vm: str,
    interpreter: str | None,
    timeout: float | None,
    terminate_on_timeout: bool,
    cwd: str | None,
    env_pairs: tuple[str, ...],
    wait_ready: float | None,
    file: IO[bytes],
    args: tuple[str, ...],
) -> None:
    """Run the local script FILE (- for stdin) in the VM's guest with ARGS, as Invoke-VMScript does:
    its stdout on stdout, its stderr on stderr, its exit code as vcenter-guest's.

    \b
        vcenter-guest script --vm vm-42 deploy.sh --release 1.2
        echo 'uname -a' | vcenter-guest script --vm web-1 -
    """
    check_terminate_flag(timeout, terminate_on_timeout)
    body = file.read()  # a script: held in memory once (the upload streams it from there)
    options: dict[str, Any] = {
        "interpreter": interpreter,
        "timeout": timeout,
        "terminate_on_timeout": terminate_on_timeout,
        "working_directory": cwd,
        "environment_variables": environment(env_pairs),
        "wait_ready": wait_ready,
    }
    if not conn.as_json:
        options["stdout"], options["stderr"] = sys.stdout.buffer, sys.stderr.buffer

    conn.vm = vm

    async def work() -> ProcessResult:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            result: ProcessResult = await vc.processes.run_script(target, conn.credentials(), body, *args, **options)
            return result

    result = run_async(conn, work)
    if conn.as_json:
        conn.emit(result_json(conn, vm, result))
    sys.exit(exit_code_of(result))
