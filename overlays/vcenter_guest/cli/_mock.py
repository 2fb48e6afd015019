"""`vcenter-guest mock`: serve a mock vCenter until interrupted."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console
    from starlette.applications import Starlette

    from vcenter_guest.mock import Inventory

__all__ = ["MockUnavailable", "embedded_app", "mock"]

FC = TypeVar("FC", bound="Callable[..., Any]")


class MockUnavailable(click.ClickException):
    """The mock cannot serve this version of the API document (an operation no mock module handles):
    one line naming it, exit 2, as for any other reason a command cannot start."""

    exit_code = 2


def embedded_app(inventory: Any = None) -> Starlette:
    """`create_app(inventory)` for the command line: an operation the mock does not simulate
    (`UnhandledOperation`, which names it) is one line and exit 2, not a traceback."""
    from vcenter_guest.mock import UnhandledOperation, create_app  # noqa: PLC0415 - starlette, only when served

    try:
        return create_app(inventory)
    except UnhandledOperation as exc:
        raise MockUnavailable(str(exc)) from None


def _log_to_stderr(name: str, level: str) -> None:
    """The mock's own log lines (sessions, processes, injected faults) beside uvicorn's, at `level`.

    uvicorn configures only its own loggers; without a handler, `vcenter_guest.mock` printed nothing at
    info or debug. Its records carry no secret (tests/mock/test_log_redaction.py).
    """
    import logging  # noqa: PLC0415

    logger = logging.getLogger(name)
    if not any(getattr(h, "_vcenter_guest_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        handler._vcenter_guest_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def _listen(host: str, ports: list[int]) -> list[socket.socket]:
    """A bound socket per port, or a one-line error naming the port that could not be bound."""
    from vcenter_guest.mock import bind  # noqa: PLC0415

    sockets: list[socket.socket] = []
    for port in ports:
        try:
            sockets.append(bind(host, port))
        except OSError as exc:
            for sock in sockets:
                sock.close()
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sockets


def _seconds_option(flag: str, default: float, text: str) -> Callable[[FC], FC]:
    """One of the server's connection timeouts: a positive number of seconds, its default shown."""
    return click.option(flag, type=click.FloatRange(0, min_open=True), default=default, show_default=True, help=text)


@click.command()
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML inventory file (users, VMs, programs, faults). Default: the built-in demo inventory.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0 picks a free port.")
@click.option(
    "--esxi-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Also listen on this port (0: a free one) as the ESXi host: transfer URLs name it instead of `*`, "
    "and only it serves /guestFile.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="Log level of the server (access log at info).",
)
@_seconds_option(
    "--header-timeout", 10.0, "Seconds a client has to send a request's headers; slower connections are closed."
)
@_seconds_option("--body-timeout", 30.0, "Seconds a client has to send a request's body after its headers.")
@_seconds_option("--idle-timeout", 5.0, "Seconds an idle keep-alive connection stays open.")
def mock(  # noqa: PLR0917 - click passes one argument per option
    inventory: Path | None,
    host: str,
    port: int,
    esxi_port: int | None,
    log_level: str,
    header_timeout: float,
    body_timeout: float,
    idle_timeout: float,
) -> None:
    """Serve a mock vCenter (sessions and guest processes API) until interrupted.

    Without --inventory it serves the built-in demo inventory: log in as
    administrator@vsphere.local and use the guest user root on any VM; both passwords are in
    the README's "Mock vCenter server" section (secrets are never printed).

    \b
        vcenter-guest mock --port 0
        vcenter-guest mock --port 8080 --esxi-port 8443
        vcenter-guest mock --inventory lab.yaml --port 8080
    """
    import uvicorn  # noqa: PLC0415 - keep `vcenter-guest --help` fast
    from rich.console import Console  # noqa: PLC0415

    from vcenter_guest.mock import (  # noqa: PLC0415
        ConnectionTimeouts,
        InventoryError,
        base_url,
        listen_as_esxi_host,
        uvicorn_config,
    )

    try:
        app = embedded_app(inventory)
    except InventoryError as exc:
        raise click.ClickException(str(exc)) from None
    inv = app.state.simulator.inventory
    sockets = _listen(host, [port] if esxi_port is None else [port, esxi_port])

    # A pipe gets 80 columns from rich, which truncates every cell of the table.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    _print_inventory(console, inv, inventory)
    if esxi_port is not None:
        host_url = listen_as_esxi_host(app, sockets[1])
        console.print(f"ESXi host stand-in (transfer URLs, /guestFile) on {host_url}", soft_wrap=True)
        if inv.transfer_base_url:
            console.print(f"(the inventory's transfer_base_url {inv.transfer_base_url} takes precedence)")
    console.print(f"Mock vCenter listening on {base_url(sockets[0])}  (Ctrl-C to stop)", soft_wrap=True)
    timeouts = ConnectionTimeouts(headers=header_timeout, body=body_timeout, idle=idle_timeout)
    config = uvicorn_config(app, log_level, timeouts=timeouts)
    _log_to_stderr("vcenter_guest.mock", log_level)
    try:
        uvicorn.Server(config).run(sockets=sockets)
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; stopping is the normal way out
    finally:
        for sock in sockets:
            sock.close()
    console.print("Mock vCenter stopped.")


def _print_inventory(console: Console, inv: Inventory, source: Path | None) -> None:
    """The served VMs as a table, the API users and their privileges, and where the passwords are."""
    from rich.table import Table  # noqa: PLC0415

    from vcenter_guest.mock import DEMO_API_USER, DEMO_GUEST_USER  # noqa: PLC0415

    table = Table(title="Virtual machines", title_justify="left")
    for column in ("id", "name", "power", "tools", "guest OS", "busy", "guest users", "programs"):
        table.add_column(column)
    for vm in inv.vms.values():
        table.add_row(
            vm.id,
            vm.name,
            vm.power_state,
            vm.tools,
            vm.guest_os_family,
            "yes" if vm.busy else "no",
            ", ".join(u.name for u in vm.guest_users),
            str(len(vm.programs)),
        )
    console.print(table)
    users = ", ".join(
        f"{u.name} ({', '.join(sorted(p.rsplit('.', 1)[-1] for p in u.privileges)) or 'none'})"
        for u in inv.users.values()
    )
    console.print(f"API users: {users}")
    if source is None:
        console.print(
            f"Demo inventory: log in as {DEMO_API_USER}, run programs as guest user {DEMO_GUEST_USER} "
            "(e.g. in vm-42); the demo passwords are in the README, section 'Mock vCenter server'."
        )
    else:
        console.print(f"Inventory: {source} (passwords as in that file; they are not printed)")
