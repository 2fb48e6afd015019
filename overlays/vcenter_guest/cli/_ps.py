"""`vcenter-guest ps`, `kill` and `wait`: follow up processes in a VM's guest.

`ps` lists the processes (those started by run or create stay listed about 5 minutes after they
ended, with their exit code and end time; a captured run as the command its user gave): a table on
a terminal, one tab-separated line per process otherwise (as govc's guest.ps); `kill` says whether
it terminated the process, found it already finished, or found no such process (exit 1); `wait`
waits for a process to end and exits with its exit code, as `run` does.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

import click

from vcenter_guest import errors, user_command

from ._common import Connection, connection_options, resolve_vms
from ._many import one_vm_option
from ._outcome import check_terminate_flag, run_async
from ._run import exit_code_of

if TYPE_CHECKING:
    from vcenter_guest import AsyncClient, Credentials, ProcessInfo, ProcessResult, ProcessSummary

__all__ = ["kill", "ps", "wait"]

EXIT_NOT_FOUND = 1
_PID = click.IntRange(min=0, max=2**63 - 1)  # int64, as the API's pids are: anything else is refused before sending
_STATUS_AT_ONCE = 8


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


async def _infos(vc: AsyncClient, vm: str, creds: Credentials, pids: list[int]) -> dict[int, ProcessInfo]:
    """`get` of each pid, a few at a time; pids the server no longer knows are left out."""
    import anyio  # noqa: PLC0415

    found: dict[int, ProcessInfo] = {}
    limiter = anyio.CapacityLimiter(_STATUS_AT_ONCE)

    async def one(pid: int) -> None:
        async with limiter:
            with contextlib.suppress(errors.NotFound):
                found[pid] = await vc.processes.get(vm, creds, pid)

    async with anyio.create_task_group() as group:
        for pid in pids:
            group.start_soon(one, pid)
    return found


@click.command()
@one_vm_option("its --pid and the pids it lists are one VM's: list each VM in a command of its own")
@click.option("--pid", "pids", multiple=True, type=_PID, metavar="PID", help="Only this process (repeat for more).")
@click.option(
    "--no-status",
    is_flag=True,
    help="One call: no end times and exit codes (ps asks each listed process for them, 8 at a time).",
)
@connection_options
def ps(conn: Connection, vm: str, pids: tuple[int, ...], no_status: bool) -> None:
    """List the processes in a VM's guest, with the exit code and end time of those that finished
    (processes started by run or create stay listed about 5 minutes after they end).

    \b
        vcenter-guest ps --vm vm-42
        vcenter-guest ps --vm vm-42 --pid 612
    """
    conn.vm = vm

    async def work() -> list[dict[str, Any]]:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            creds = conn.credentials()
            if pids:
                infos = await _infos(vc, target, creds, list(dict.fromkeys(pids)))
                missing = [pid for pid in pids if pid not in infos]
                if missing:
                    conn.stderr.print(f"{vm}: no process {', '.join(map(str, missing))}", markup=False)
                listed: list[ProcessInfo | ProcessSummary] = list(infos.values())
            else:
                summaries = await vc.processes.list(target, creds)
                infos = {} if no_status else await _infos(vc, target, creds, [p.pid for p in summaries])
                listed = [infos.get(p.pid) or p for p in summaries]
            return [_row(p, no_status) for p in sorted(listed, key=lambda p: p.pid)]

    rows = run_async(conn, work)
    if conn.as_json:
        conn.emit(conn.record(vm, processes=rows))
        return
    if sys.stdout.isatty():
        _print_table(vm, rows)
    else:
        _print_lines(rows)
    if pids and len(rows) < len(set(pids)):
        sys.exit(EXIT_NOT_FOUND)


@click.command()
@one_vm_option("PID is one VM's process")
@connection_options
@click.argument("pid", type=_PID)
def kill(conn: Connection, vm: str, pid: int) -> None:
    """Terminate process PID in a VM's guest (SIGTERM, then SIGKILL, on Linux).

    Says whether it was terminated, had already finished (with its exit code), or does not exist
    (exit 1).

        vcenter-guest kill --vm vm-42 612
    """
    conn.vm = vm

    async def work() -> tuple[str, int | None]:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            creds = conn.credentials()
            try:
                before = await vc.processes.get(target, creds, pid)
            except errors.NotFound:
                return "not-found", None
            if before.exit_code is not None:
                return "already-finished", before.exit_code
            try:
                await vc.processes.delete(target, creds, pid)
            except errors.NotFound:
                return "not-found", None  # it ended and was forgotten in between
            after = (await _infos(vc, target, creds, [pid])).get(pid)
            return "terminated", None if after is None else after.exit_code

    outcome, code = run_async(conn, work)
    if conn.as_json:
        conn.emit(conn.record(vm, pid=pid, outcome=outcome, exit_code=code))
    elif outcome == "terminated":
        click.echo(f"{vm}: terminated process {pid}" + ("" if code is None else f" (exit code {code})"))
    elif outcome == "already-finished":
        click.echo(f"{vm}: process {pid} had already finished (exit code {code})")
    else:
        conn.stderr.print(f"{vm}: no process {pid} (never started, or ended over 5 minutes ago)", markup=False)
    if outcome == "not-found":
        conn.finish()
        sys.exit(EXIT_NOT_FOUND)


@click.command()
@one_vm_option("PID is one VM's process")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Give up after this long (exit 124). Default: wait as long as it runs.",
)
@click.option("--terminate-on-timeout", is_flag=True, help="Terminate the process when --timeout passes.")
@connection_options
@click.argument("pid", type=_PID)
def wait(conn: Connection, vm: str, pid: int, timeout: float | None, terminate_on_timeout: bool) -> None:
    """Wait for process PID in a VM's guest to end (e.g. after `run --timeout` exited 124) and exit with
    its exit code.

        vcenter-guest wait --vm vm-42 612 --timeout 5   # exits 124: still running after 5 s
    """
    check_terminate_flag(timeout, terminate_on_timeout)
    conn.vm = vm

    async def work() -> ProcessResult | None:
        async with conn.connect() as vc:
            (target,) = await resolve_vms(vc, [vm])
            try:
                return await vc.processes.wait(
                    target, conn.credentials(), pid, timeout=timeout, terminate_on_timeout=terminate_on_timeout
                )
            except errors.ProcessVanished as exc:
                if exc.started is not None:
                    raise  # it was seen running, then forgotten: the error says so
                return None

    result = run_async(conn, work)
    if result is None:
        if conn.as_json:
            conn.emit(conn.record(vm, pid=pid, error={"type": "NotFound", "message": f"no process {pid}"}))
            conn.finish()
        conn.stderr.print(f"{vm}: no process {pid} (never started, or ended over 5 minutes ago)", markup=False)
        sys.exit(EXIT_NOT_FOUND)
    if conn.as_json:
        conn.emit(
            conn.record(
                vm, pid=pid, exit_code=result.exit_code, started=_iso(result.started), finished=_iso(result.finished)
            )
        )
        conn.finish()
    else:
        click.echo(f"{vm}: process {pid} exited with {result.exit_code}")
    sys.exit(exit_code_of(result))


def _row(p: ProcessInfo | ProcessSummary, no_status: bool) -> dict[str, Any]:
    """One process as `ps` prints it (its JSON object, a table row)."""
    finished, code = getattr(p, "finished", None), getattr(p, "exit_code", None)
    return {
        "pid": p.pid,
        "name": p.name,
        "owner": p.owner,
        "command": p.command,
        "user_command": user_command(p.command),
        "started": _iso(p.started),
        "state": "unknown" if no_status else ("running" if code is None else "finished"),
        "finished": _iso(finished),
        "exit_code": code,
    }


_COLUMNS = ("pid", "name", "owner", "started", "state", "exit code", "finished", "command")


def _cells(r: dict[str, Any]) -> tuple[str, ...]:
    """A row's cells, in `_COLUMNS` order: a captured run's command is the one the user gave."""
    code = r["exit_code"]
    times = ((r["started"] or "")[:19], (r["finished"] or "")[:19])
    return (
        str(r["pid"]),
        r["name"],
        r["owner"],
        times[0],
        r["state"],
        "" if code is None else str(code),
        times[1],
        r["user_command"],
    )


def _print_lines(rows: list[dict[str, Any]]) -> None:
    """One line per process, its cells separated by tabs (as govc's guest.ps into a pipe); a tab or a
    line break inside a cell is written as `\\t` or `\\n`, so that each process stays one line."""
    escape = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
    for r in rows:
        click.echo("\t".join(cell.translate(escape) for cell in _cells(r)))


def _print_table(vm: str, rows: list[dict[str, Any]]) -> None:
    """The processes of `vm` as a table, with a title counting them."""
    from rich.console import Console  # noqa: PLC0415 - rich loads only when a table is printed
    from rich.table import Table  # noqa: PLC0415

    finished = sum(1 for r in rows if r["state"] == "finished")
    count = f"{len(rows)} process{'es' if len(rows) != 1 else ''}"
    title = f"{vm}: {count}" + (f", {finished} finished" if finished else "")
    table = Table(title=title, title_justify="left")
    for column in _COLUMNS:
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(*_cells(r))
    Console(highlight=False).print(table)
