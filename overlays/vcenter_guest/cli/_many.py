"""One VM or many: the `--vm` option of every command, and how a command's work is done in each VM
and shown, with `run`'s conventions.

A command either takes many VMs (`vm_options()`: `--vm` repeated, and `--prefix/--no-prefix`) or
refuses a second one (`one_vm_option(why)`: exit 2, saying why); no VM is ever dropped silently.

`on_vms(conn, vms, work)` does `work(vc, credentials, vm_id)` in each VM on one connection:

- one VM: as if there were no others: its text on stdout, its JSON object with --json; an error is
  one line and exit 125 (2 for bad input), as every command's;
- many VMs: each VM's text in VM order (each line prefixed by its VM on a terminal, or with
  --prefix), then a summary table on stderr; --json prints a list with one object per VM (an
  `error` object for a VM that failed), --json-lines one line per VM as each finishes;
- the exit code: the VM's own (one VM); with many, 0 if every VM's work succeeded, 1 if some ended
  otherwise (a `Done` with a non-zero code), 125 if some VM could not do it (2 if each of those was
  refused as bad input).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import attrs
import click

from vcenter_guest import errors

from ._common import VM_HELP, Connection, resolve_vms
from ._outcome import EXIT_FAILED, describe, error_json, run_async

if TYPE_CHECKING:
    from vcenter_guest import AsyncClient, Credentials

__all__ = ["CONCURRENCY", "ONE_VM", "Done", "gather", "on_vms", "one_vm_option", "vm_options"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

CONCURRENCY = 50
"""How many VMs a command works in at once (`run`'s default --concurrency)."""
ONE_VM = "takes one --vm"
"""The words of every refusal of a second --vm (tests look for them)."""


@attrs.frozen
class Done:
    """One VM's result: its JSON fields (after the server and the VM), the text it prints on stdout,
    and its exit code (0: it did what was asked)."""

    fields: dict[str, Any] = attrs.field(factory=dict)
    text: str = ""
    code: int = 0


Work = Callable[["AsyncClient", "Credentials", str], Awaitable[Done]]
Outcome = Done | errors.VcenterGuestError


def vm_options(command: F) -> F:
    """`--vm` (repeatable: the command gets `vms`, a tuple) and `--prefix/--no-prefix` (`prefix`)."""
    command = click.option(
        "--prefix/--no-prefix",
        default=None,
        help="With many VMs: start each printed line with its VM (default: on a terminal).",
    )(command)
    decorated: F = click.option(
        "--vm", "vms", multiple=True, required=True, metavar="VM", help=VM_HELP + " Repeat for many."
    )(command)
    return decorated


def one_vm_option(why: str) -> Callable[[F], F]:
    """`--vm` for a command that works in one VM (the command gets `vm`, a str): a second, different
    VM is refused with exit 2, saying `why`."""

    def single(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> str | None:
        given = list(dict.fromkeys(value))
        if len(given) > 1:
            name = ctx.info_name or "this command"
            raise click.UsageError(f"{name} {ONE_VM} ({', '.join(given)} given): {why}", ctx)
        return given[0] if given else None

    return click.option("--vm", "vm", multiple=True, required=True, metavar="VM", help=VM_HELP, callback=single)


def on_vms(
    conn: Connection,
    vms: tuple[str, ...],
    work: Work,
    *,
    prefix: bool | None = None,
    credentials: bool = True,
    concurrency: int = CONCURRENCY,
) -> NoReturn:
    """Does `work` in each VM of `vms` (the same VM named twice, once), shows the results as the
    module says and exits with their code. `credentials=False`: `work` gets None for them (VM
    operations that need no guest user)."""
    targets = list(dict.fromkeys(vms))
    if len(targets) == 1:
        conn.vm = targets[0]
        done = run_async(conn, lambda: _one(conn, targets[0], work, credentials))
        if conn.as_json:
            conn.emit(conn.record(targets[0], **done.fields))
        elif done.text:
            click.echo(done.text, nl=not done.text.endswith("\n"))
        conn.finish()
        sys.exit(done.code)
    outcomes = run_async(
        conn,
        lambda: gather(
            conn,
            targets,
            work,
            record=functools.partial(_record, conn),
            credentials=credentials,
            concurrency=concurrency,
        ),
    )
    if conn.as_json:
        if not conn.json_lines:  # --json-lines printed each as it finished
            for vm, outcome in zip(targets, outcomes, strict=True):
                conn.emit(_record(conn, vm, outcome))
        conn.finish()
    else:
        _show(targets, outcomes, sys.stdout.isatty() if prefix is None else prefix)
        _summary(conn, targets, outcomes)
    sys.exit(_status(outcomes))


async def _one(conn: Connection, vm: str, work: Work, credentials: bool) -> Done:
    async with conn.connect() as vc:
        creds: Any = conn.credentials() if credentials else None
        (target,) = await resolve_vms(vc, [vm])
        return await work(vc, creds, target)


async def gather(
    conn: Connection,
    vms: list[str],
    work: Callable[[AsyncClient, Any, str], Awaitable[R]],
    *,
    record: Callable[[str, R | errors.VcenterGuestError], dict[str, Any]],
    credentials: bool = True,
    concurrency: int = CONCURRENCY,
) -> list[R | errors.VcenterGuestError]:
    """`work(vc, credentials, vm_id)` in each VM of `vms` (names looked up first), `concurrency` at
    once, on one connection: each VM's result or the error it raised, in VM order. With
    --json-lines, `record(vm, outcome)` is printed as each VM finishes."""
    import anyio  # noqa: PLC0415

    outcomes: dict[int, R | errors.VcenterGuestError] = {}
    limiter = anyio.CapacityLimiter(concurrency)
    async with conn.connect() as vc:
        creds: Any = conn.credentials() if credentials else None
        targets = await resolve_vms(vc, vms)

        async def one(index: int, target: str) -> None:
            async with limiter:
                try:
                    outcome: R | errors.VcenterGuestError = await work(vc, creds, target)
                except errors.VcenterGuestError as exc:
                    outcome = exc
            outcomes[index] = outcome
            if conn.json_lines:
                conn.emit(record(vms[index], outcome))

        async with anyio.create_task_group() as group:
            for index, target in enumerate(targets):
                group.start_soon(one, index, target)
    return [outcomes[index] for index in range(len(vms))]


def _record(conn: Connection, vm: str, outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, errors.VcenterGuestError):
        return conn.record(vm, error=error_json(outcome))
    return conn.record(vm, **outcome.fields)


def _show(vms: list[str], outcomes: list[Outcome], prefixed: bool) -> None:
    """Each VM's text on stdout, in VM order (its lines prefixed by the VM when `prefixed`)."""
    for vm, outcome in zip(vms, outcomes, strict=True):
        if isinstance(outcome, errors.VcenterGuestError) or not outcome.text:
            continue
        lines = outcome.text.splitlines()
        click.echo("\n".join(f"{vm}: {line}" if prefixed else line for line in lines))


def _summary(conn: Connection, vms: list[str], outcomes: list[Outcome]) -> None:
    """A table of the VMs and how each ended, and a line counting them, on stderr."""
    from rich.table import Table  # noqa: PLC0415 - rich loads only when a table is printed

    table = Table(title=f"{len(vms)} VMs", title_justify="left")
    for column in ("VM", "exit code", "error"):
        table.add_column(column, overflow="fold")
    failed = ended = 0
    for vm, outcome in zip(vms, outcomes, strict=True):
        if isinstance(outcome, errors.VcenterGuestError):
            failed += 1
            table.add_row(vm, "", describe(outcome), style="red")
        else:
            ended += outcome.code != 0
            table.add_row(vm, str(outcome.code), "", style=None if outcome.code == 0 else "yellow")
    conn.stderr.print(table)
    text = f"{len(vms) - failed - ended} succeeded, {ended} ended otherwise, {failed} could not do it"
    conn.stderr.print(text, markup=False, highlight=False)


def _status(outcomes: list[Outcome]) -> int:
    failed = [o for o in outcomes if isinstance(o, errors.VcenterGuestError)]
    if failed:
        return 2 if all(isinstance(o, errors.UsageError) for o in failed) else EXIT_FAILED
    return 1 if any(isinstance(o, Done) and o.code != 0 for o in outcomes) else 0
