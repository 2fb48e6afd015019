"""`vcenter-guest getenv`, `df`, `info` and `power`: a VM's guest environment, file systems, identity
and power, as govc's guest.getenv, guest.df, vm.info and vm.power give them.

Each takes `--vm` many times, with `run`'s conventions: the VMs are asked at once; plain
tab-separated lines into a pipe (the VM first when there are several), a table on a terminal;
`--json` (a list, one object per VM) and `--json-lines`; exit 0 when every VM answered, 125 when
some could not (each says why on stderr), 2 for a bad command line.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import click

from vcenter_guest import errors

from ._common import VM_HELP, Connection, connection_options, resolve_vms
from ._outcome import EXIT_FAILED, describe, error_json, run_async

if TYPE_CHECKING:
    from vcenter_guest import AsyncClient

__all__ = ["df", "getenv", "info", "power"]

EXIT_UNSET = 1
"""getenv: some variable named is not set in some VM (as printenv says)."""
_AT_ONCE = 50
_VMS = click.option("--vm", "vms", multiple=True, required=True, metavar="VM", help=VM_HELP + " Repeat for many.")

Work = Callable[["AsyncClient", str], Awaitable[dict[str, Any]]]


def _each(conn: Connection, vms: tuple[str, ...], work: Work) -> list[dict[str, Any] | errors.VcenterGuestError]:
    """`work` on every VM at once (at most 50 at a time), in the order given: its result or its error."""
    targets = list(dict.fromkeys(vms))
    conn.vm = targets[0] if len(targets) == 1 else None

    async def main() -> list[dict[str, Any] | errors.VcenterGuestError]:
        import anyio  # noqa: PLC0415

        async with conn.connect() as vc:
            ids = await resolve_vms(vc, targets)
            found: list[dict[str, Any] | errors.VcenterGuestError] = [{} for _ in ids]
            limiter = anyio.CapacityLimiter(_AT_ONCE)

            async def one(index: int) -> None:
                async with limiter:
                    try:
                        found[index] = await work(vc, ids[index])
                    except errors.UsageError:
                        raise
                    except errors.VcenterGuestError as exc:
                        found[index] = exc

            async with anyio.create_task_group() as group:
                for index in range(len(ids)):
                    group.start_soon(one, index)
            return found

    return run_async(conn, main)


def _finish(
    conn: Connection,
    vms: tuple[str, ...],
    results: list[dict[str, Any] | errors.VcenterGuestError],
    lines: Callable[[dict[str, Any]], list[list[str]]],
    table: Callable[[list[tuple[str, dict[str, Any]]]], Any],
) -> int:
    """Prints every VM's result (JSON, tab-separated lines into a pipe, a table on a terminal) and its
    error on stderr; the exit status: 125 if some VM failed, else 0."""
    targets = list(dict.fromkeys(vms))
    ok = [(vm, r) for vm, r in zip(targets, results, strict=True) if not isinstance(r, errors.VcenterGuestError)]
    if conn.as_json:
        for vm, result in zip(targets, results, strict=True):
            if isinstance(result, errors.VcenterGuestError):
                conn.emit(conn.record(vm, error=error_json(result)))
            else:
                conn.emit(conn.record(vm, **result))
    elif _on_terminal():
        if ok:
            from rich.console import Console  # noqa: PLC0415 - rich loads only when a table is printed

            Console(highlight=False).print(table(ok))
    else:
        for vm, result in ok:
            for fields in lines(result):
                click.echo("\t".join([vm, *fields] if len(targets) > 1 else fields))
    failures = [(vm, r) for vm, r in zip(targets, results, strict=True) if isinstance(r, errors.VcenterGuestError)]
    if not conn.as_json:
        for vm, exc in failures:
            conn.stderr.print(f"{vm}: error: {describe(exc)}", markup=False, highlight=False)
    return EXIT_FAILED if failures else 0


def _on_terminal() -> bool:
    """Whether stdout is a terminal (a table for people) rather than a pipe (lines for programs)."""
    return sys.stdout.isatty()


def _table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> Any:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


# -- getenv ---------------------------------------------------------------------------------------


@click.command()
@_VMS
@connection_options
@click.argument("names", nargs=-1)
def getenv(conn: Connection, vms: tuple[str, ...], names: tuple[str, ...]) -> None:
    """Print the guest's environment variables NAMES (all of them without NAMES) as NAME=value lines,
    the environment of the guest's system user (as govc guest.getenv). Exit 1 when a variable named
    is not set.

    \b
        vcenter-guest getenv --vm vm-42
        vcenter-guest getenv --vm vm-42 --vm vm-43 PATH
    """
    if any(not name or "=" in name for name in names):
        raise click.BadParameter("a variable name is not empty and has no '='", param_hint="NAMES")

    async def work(vc: AsyncClient, vm: str) -> dict[str, Any]:
        return {"environment": await vc.guest.environment(vm, conn.credentials(), list(names))}

    results = _each(conn, vms, work)

    def lines(result: dict[str, Any]) -> list[list[str]]:
        return [[f"{name}={value}"] for name, value in result["environment"].items()]

    def table(ok: list[tuple[str, dict[str, Any]]]) -> Any:
        rows = [[vm, name, value] for vm, r in ok for name, value in r["environment"].items()]
        return _table("environment", ("VM", "name", "value"), rows)

    status = _finish(conn, vms, results, lines, table)
    unset = [
        (vm, name)
        for vm, r in zip(dict.fromkeys(vms), results, strict=True)
        if not isinstance(r, errors.VcenterGuestError)
        for name in names
        if name.casefold() not in {key.casefold() for key in r["environment"]}  # Windows: names ignore case
    ]
    for vm, name in unset:
        conn.stderr.print(f"{vm}: {name} is not set", markup=False, highlight=False)
    sys.exit(status or (EXIT_UNSET if unset else 0))


# -- df -------------------------------------------------------------------------------------------


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if value < 1024 or unit == "P":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


@click.command()
@_VMS
@connection_options
def df(conn: Connection, vms: tuple[str, ...]) -> None:
    """Print the guest's local file systems: size, used, available, use% and type, as its VMware
    Tools last reported them (govc guest.df). Into a pipe: tab-separated, sizes in bytes.

    \b
        vcenter-guest df --vm vm-42
        vcenter-guest df --vm vm-42 --vm vm-43 --json
    """

    async def work(vc: AsyncClient, vm: str) -> dict[str, Any]:
        found = await vc.guest.filesystems(vm)
        return {
            "filesystems": [
                {
                    "mount": f.mount,
                    "type": f.filesystem,
                    "capacity": f.capacity,
                    "used": f.used,
                    "free_space": f.free_space,
                    "disks": list(f.disks),
                }
                for f in found
            ]
        }

    def percent(f: dict[str, Any]) -> str:
        return f"{100 * f['used'] // f['capacity']}%" if f["capacity"] else "-"

    def lines(result: dict[str, Any]) -> list[list[str]]:
        return [
            [f["mount"], f["type"] or "", str(f["capacity"]), str(f["used"]), str(f["free_space"]), percent(f)]
            for f in result["filesystems"]
        ]

    def table(ok: list[tuple[str, dict[str, Any]]]) -> Any:
        rows = [
            [
                vm,
                f["mount"],
                f["type"] or "",
                _size(f["capacity"]),
                _size(f["used"]),
                _size(f["free_space"]),
                percent(f),
            ]
            for vm, r in ok
            for f in r["filesystems"]
        ]
        return _table("file systems", ("VM", "mounted on", "type", "size", "used", "avail", "use%"), rows)

    sys.exit(_finish(conn, vms, _each(conn, vms, work), lines, table))


# -- info -----------------------------------------------------------------------------------------

_INFO_COLUMNS = ("power", "tools", "family", "guest OS", "host name", "IP addresses")


@click.command()
@_VMS
@connection_options
def info(conn: Connection, vms: tuple[str, ...]) -> None:
    """Print what a VM is and runs: its power state, its VMware Tools' state and version, and, while
    the Tools run, the guest OS, host name and IP addresses (govc vm.info). Into a pipe, one line per
    VM: power, tools, family, guest OS, host name, IPs (comma-separated), tab-separated.

    \b
        vcenter-guest info --vm vm-42
        vcenter-guest info --vm vm-42 --vm vm-43 --vm vm-44
    """

    async def work(vc: AsyncClient, vm: str) -> dict[str, Any]:
        power_info, tools = await vc.vms.power(vm), await vc.vms.tools(vm)
        found: dict[str, Any] = {
            "power_state": power_info.state,
            "tools_run_state": tools.run_state,
            "tools_version": tools.version,
        }
        if tools.running and power_info.powered_on:
            try:
                identity = await vc.guest.identity(vm)
                interfaces = await vc.guest.interfaces(vm)
            except errors.ServiceUnavailable:
                return found  # the Tools stopped, or have not reported yet: what the VM itself says
            addresses = [a.ip_address for nic in interfaces for a in nic.ip_addresses]
            found.update(
                guest_family=identity.family,
                guest_os=identity.full_name,
                host_name=identity.host_name,
                ip_addresses=addresses or ([identity.ip_address] if identity.ip_address else []),
            )
        return found

    def row(r: dict[str, Any]) -> list[str]:
        tools = r["tools_run_state"] + (f" {r['tools_version']}" if r.get("tools_version") else "")
        guest = [r.get("guest_family", ""), r.get("guest_os", ""), r.get("host_name", "")]
        return [r["power_state"], tools, *guest, ",".join(r.get("ip_addresses", []))]

    def table(ok: list[tuple[str, dict[str, Any]]]) -> Any:
        return _table("VMs", ("VM", *_INFO_COLUMNS), [[vm, *row(r)] for vm, r in ok])

    results = _each(conn, vms, work)
    sys.exit(_finish(conn, vms, results, lambda r: [row(r)], table))


# -- power ----------------------------------------------------------------------------------------

_ACTIONS = ("on", "off", "shutdown", "reboot", "suspend", "reset")
_SECONDS = click.FloatRange(min=0, min_open=True)


async def _power(vc: AsyncClient, vm: str, action: str, timeout: float | None, wait_ready: float | None) -> str:
    """Carries out `action`; "" when done, or a note ("already powered on") when nothing had to be done."""
    try:
        if action == "on":
            await vc.vms.start(vm, timeout=timeout, wait_ready=wait_ready)
        elif action == "off":
            await vc.vms.stop(vm, timeout=timeout)
        elif action == "suspend":
            await vc.vms.suspend(vm, timeout=timeout)
        elif action == "reset":
            await vc.vms.reset(vm, wait_ready=wait_ready)
        elif action == "shutdown":
            await vc.guest.shutdown(vm, timeout=timeout)
        else:
            await vc.guest.reboot(vm, wait_ready=wait_ready)
    except errors.AlreadyInDesiredState:
        if action in {"reset", "reboot"}:
            raise
        return "already " + {"on": "powered on", "suspend": "suspended"}.get(action, "powered off")
    return ""


@click.command()
@_VMS
@click.option(
    "--wait-ready",
    type=_SECONDS,
    metavar="SECONDS",
    help="After on, reset or reboot: wait up to SECONDS until the guest takes guest operations (its Tools run).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    default=300.0,
    show_default=True,
    help="How long on, off, suspend and shutdown wait for the VM to reach the state (0: do not wait).",
)
@connection_options
@click.argument("action", type=click.Choice(_ACTIONS))
def power(conn: Connection, vms: tuple[str, ...], wait_ready: float | None, timeout: float, action: str) -> None:
    """Power VMs on, off (at once), suspend or reset them, or shut down or reboot their guests
    through the VMware Tools (govc vm.power). on, off, suspend and shutdown wait until the VM reports
    the state (--timeout); a VM already in it is left as it is (exit 0).

    \b
        vcenter-guest power on --vm vm-44 --wait-ready 60
        vcenter-guest power shutdown --vm vm-42 --vm vm-50
        vcenter-guest power reboot --vm vm-43 --wait-ready 60
    """
    if wait_ready is not None and action not in {"on", "reset", "reboot"}:
        raise click.UsageError(f"--wait-ready follows on, reset and reboot, not {action}")

    async def work(vc: AsyncClient, vm: str) -> dict[str, Any]:
        note = await _power(vc, vm, action, timeout or 0, wait_ready)
        state = (await vc.vms.power(vm)).state
        return {"action": action, "power_state": state, **({"note": note} if note else {})}

    def lines(r: dict[str, Any]) -> list[list[str]]:
        return [[r["power_state"], r.get("note", "")] if r.get("note") else [r["power_state"]]]

    def table(ok: list[tuple[str, dict[str, Any]]]) -> Any:
        return _table(
            f"power {action}",
            ("VM", "power state", "note"),
            [[vm, r["power_state"], r.get("note", "")] for vm, r in ok],
        )

    sys.exit(_finish(conn, vms, _each(conn, vms, work), lines, table))
