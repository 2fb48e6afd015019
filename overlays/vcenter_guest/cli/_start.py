"""`vcenter-guest start`: start a program in one or many VMs and print its pid, without waiting (govc's
guest.start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._common import Connection, connection_options
from ._many import Done, on_vms, vm_options
from ._run import environment, place_options, program_arguments

if TYPE_CHECKING:
    from vcenter_guest import AsyncClient, Credentials

__all__ = ["start"]


@click.command(context_settings={"allow_interspersed_args": False})
@vm_options
@place_options(short=True)
@click.option(
    "--raw",
    is_flag=True,
    help="Pass ARGS to the guest verbatim, joined by spaces (as govc does; shell syntax, Windows guests). "
    "Default: each ARG is quoted for the guest, as `run` quotes it.",
)
@connection_options
@program_arguments
def start(
    *,
    conn: Connection,
    vms: tuple[str, ...],
    prefix: bool | None,
    cwd: str | None,
    env_pairs: tuple[str, ...],
    raw: bool,
    program: str,
    args: tuple[str, ...],
) -> None:
    """Start PROGRAM (an absolute path in the guest) with ARGS and print its pid, without waiting for it
    and without its output (as govc's guest.start). Follow it with `ps --pid`, `wait` or `kill`; its
    exit code stays known about 5 minutes after it ends.

    \b
        vcenter-guest start --vm vm-42 /opt/app/job 30
        vcenter-guest start --vm vm-42 --vm vm-50 --json -- /bin/sleep 60
    """
    env = environment(env_pairs)
    arguments = " ".join(args) if raw else None

    async def work(vc: AsyncClient, creds: Credentials, target: str) -> Done:
        quoted = () if raw else args
        pid: int = await vc.processes.start(
            target, creds, program, *quoted, arguments=arguments, working_directory=cwd, environment_variables=env
        )
        return Done({"pid": pid}, str(pid))

    on_vms(conn, vms, work, prefix=prefix)
