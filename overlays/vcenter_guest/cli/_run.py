"""`vcenter-guest run`: start a program in one or many VMs, wait, report exit codes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from vcenter_guest import errors

from ._common import EXIT_FAILED, Connection, connection_options, describe, error_json, run_async

if TYPE_CHECKING:
    from vcenter_guest import ProcessResult, RunOutcome

__all__ = ["exit_code_of", "run"]


def exit_code_of(result: ProcessResult) -> int:
    """The program's exit code as a process exit status (0-255; anything else, e.g. Windows NTSTATUS, is 255)."""
    return result.exit_code if 0 <= result.exit_code <= 255 else 255


def _seconds(result: ProcessResult) -> float | None:
    return None if result.duration is None else result.duration.total_seconds()


def result_json(vm: str, outcome: RunOutcome) -> dict[str, Any]:
    """One VM's outcome as JSON."""
    if isinstance(outcome, errors.VcenterGuestError):
        return {"vm": vm, "error": error_json(outcome)}
    return {
        "vm": vm,
        "pid": outcome.pid,
        "exit_code": outcome.exit_code,
        "started": outcome.started.isoformat(),
        "finished": None if outcome.finished is None else outcome.finished.isoformat(),
        "duration_seconds": _seconds(outcome),
    }


def _environment(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--env")
        env[name] = value
    return env


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--vm", "vms", multiple=True, required=True, metavar="VM", help="VM id, e.g. vm-42 (repeat for many).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Give up waiting after this long (exit 124). Default: wait as long as it runs.",
)
@click.option("--terminate-on-timeout", is_flag=True, help="Terminate the program when --timeout passes.")
@click.option("--cwd", metavar="DIR", help="Working directory in the guest (default: the user's home).")
@click.option(
    "--env",
    "env_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Environment variable (repeat); together they are the program's whole environment.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Pass ARGS to the guest verbatim, joined by spaces (shell syntax, Windows guests). "
    "Default: each ARG is quoted for the guest's POSIX shell.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    metavar="N",
    default=50,
    show_default=True,
    help="With many VMs: how many run at once.",
)
@connection_options
@click.argument("program")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    timeout: float | None,
    terminate_on_timeout: bool,
    cwd: str | None,
    env_pairs: tuple[str, ...],
    raw: bool,
    concurrency: int,
    program: str,
    args: tuple[str, ...],
) -> None:
    """Start PROGRAM (an absolute path in the guest) with ARGS, wait for it, print pid, exit code and duration.

    With one VM, vcenter-guest exits with the program's exit code. With many, it shows progress
    and a summary table, and exits 0 if every program exited 0, 1 if some exited otherwise, 125
    if some VM could not run it.

        vcenter-guest run --vm vm-42 -- /bin/ls -l /tmp
    """
    env = _environment(env_pairs)
    options: dict[str, Any] = {
        "working_directory": cwd,
        "environment_variables": env,
        "timeout": timeout,
        "terminate_on_timeout": terminate_on_timeout,
    }
    if raw:
        options["arguments"] = " ".join(args)
        args = ()
    targets = list(dict.fromkeys(vms))  # the same VM twice would run it twice by accident
    if len(targets) == 1:
        result = run_async(conn, lambda: _run_one(conn, targets[0], program, args, options))
        _print_one(conn, targets[0], result)
        sys.exit(exit_code_of(result))
    outcomes = run_async(
        conn, lambda: _run_many(conn, targets, program, args, options=options, concurrency=concurrency)
    )
    sys.exit(_print_many(conn, targets, outcomes))


async def _run_one(
    conn: Connection, vm: str, program: str, args: tuple[str, ...], options: dict[str, Any]
) -> ProcessResult:
    async with conn.client() as vc:
        credentials = conn.credentials()
        try:
            return await vc.processes.run(vm, credentials, program, *args, **options)
        except errors.VcenterGuestError as exc:
            if conn.as_json:
                conn.print_json(result_json(vm, exc))
            raise


def _print_one(conn: Connection, vm: str, result: ProcessResult) -> None:
    if conn.as_json:
        conn.print_json(result_json(vm, result))
        return
    seconds = _seconds(result)
    duration = "unknown" if seconds is None else f"{seconds:.3f} s"
    click.echo(f"{vm}: pid {result.pid}, exit code {result.exit_code}, duration {duration}")


async def _run_many(
    conn: Connection,
    vms: list[str],
    program: str,
    args: tuple[str, ...],
    *,
    options: dict[str, Any],
    concurrency: int,
) -> list[RunOutcome]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    async with conn.client() as vc:
        credentials = conn.credentials()
        columns = (TextColumn("running {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=conn.stderr, transient=True) as progress:
            task = progress.add_task(program, total=len(vms))
            return await vc.processes.run_many(
                vms,
                credentials,
                program,
                *args,
                concurrency=concurrency,
                on_result=lambda _vm, _outcome: progress.advance(task),
                **options,
            )


def _print_many(conn: Connection, vms: list[str], outcomes: list[RunOutcome]) -> int:
    failed = [o for o in outcomes if isinstance(o, errors.VcenterGuestError)]
    nonzero = [o for o in outcomes if not isinstance(o, errors.VcenterGuestError) and o.exit_code != 0]
    if conn.as_json:
        conn.print_json([result_json(vm, outcome) for vm, outcome in zip(vms, outcomes, strict=True)])
    else:
        from rich.console import Console  # noqa: PLC0415 - rich loads only when a table is printed
        from rich.table import Table  # noqa: PLC0415

        table = Table(title=f"{len(vms)} VMs", title_justify="left")
        for column in ("VM", "pid", "exit code", "duration", "error"):
            table.add_column(column, overflow="fold")
        for vm, outcome in zip(vms, outcomes, strict=True):
            if isinstance(outcome, errors.VcenterGuestError):
                table.add_row(vm, str(getattr(outcome, "pid", "") or ""), "", "", describe(outcome), style="red")
            else:
                seconds = _seconds(outcome)
                table.add_row(
                    vm,
                    str(outcome.pid),
                    str(outcome.exit_code),
                    "" if seconds is None else f"{seconds:.3f} s",
                    "",
                    style=None if outcome.exit_code == 0 else "yellow",
                )
        Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(table)
        click.echo(
            f"{len(vms) - len(failed) - len(nonzero)} exited 0, {len(nonzero)} exited non-zero, "
            f"{len(failed)} could not run it"
        )
    if failed:
        return EXIT_FAILED
    return 1 if nonzero else 0
