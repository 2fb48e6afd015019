"""`vcenter-guest ps` and `vcenter-guest kill`: list and terminate processes in a VM."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from ._common import VM_HELP, Connection, connection_options, resolve_vms, run_async

if TYPE_CHECKING:
    from vcenter_guest import ProcessSummary

__all__ = ["kill", "ps"]


@click.command()
@click.option("--vm", required=True, metavar="VM", help=VM_HELP)
@connection_options
def ps(conn: Connection, vm: str) -> None:
    """List the processes in a VM's guest (and those started by run that ended in the last 5 minutes).

    vcenter-guest ps --vm vm-42
    """

    async def work() -> list[ProcessSummary]:
        async with conn.client() as vc:
            (target,) = await resolve_vms(vc, [vm])
            return await vc.processes.list(target, conn.credentials())

    processes = run_async(conn, work)
    if conn.as_json:
        conn.print_json(
            [
                {"pid": p.pid, "name": p.name, "owner": p.owner, "started": p.started.isoformat(), "command": p.command}
                for p in processes
            ]
        )
        return
    from rich.console import Console  # noqa: PLC0415 - rich loads only when a table is printed
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"{vm}: {len(processes)} processes", title_justify="left")
    for column in ("pid", "name", "owner", "started", "command"):
        table.add_column(column, overflow="fold")
    for p in sorted(processes, key=lambda p: p.pid):
        table.add_row(str(p.pid), p.name, p.owner, p.started.isoformat(timespec="seconds"), p.command)
    Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(table)


@click.command()
@click.option("--vm", required=True, metavar="VM", help=VM_HELP)
@connection_options
@click.argument("pid", type=click.IntRange(min=0))
def kill(conn: Connection, vm: str, pid: int) -> None:
    """Terminate process PID in a VM's guest (SIGTERM, then SIGKILL, on Linux).

    vcenter-guest kill --vm vm-42 1234
    """

    async def work() -> None:
        async with conn.client() as vc:
            (target,) = await resolve_vms(vc, [vm])
            await vc.processes.delete(target, conn.credentials(), pid)

    run_async(conn, work)
    if conn.as_json:
        conn.print_json({"vm": vm, "pid": pid, "terminated": True})
    else:
        click.echo(f"{vm}: asked process {pid} to terminate")
