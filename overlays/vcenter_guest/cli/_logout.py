"""`vcenter-guest logout`: end the API session kept for a server and user, and forget it."""

from __future__ import annotations

import click

from ._common import Connection, connection_options
from ._outcome import run_async
from ._sessions import SessionStore, UnsafeCache

__all__ = ["logout"]


@click.command()
@connection_options
def logout(conn: Connection) -> None:
    """End the API session this machine keeps for --server and --user (see --session-cache), on the
    server too, and delete it from the cache. Needs no password.

        vcenter-guest logout --server vc.example.com --user administrator@vsphere.local
    """
    if conn.mock:
        raise click.UsageError("the embedded mock vCenter keeps no session between invocations: nothing to end")
    server = conn.require_server()
    if not conn.user:
        raise click.UsageError("pass --user or set VCENTER_USER (whose kept session to end)")
    user = conn.user
    store: SessionStore | None
    try:
        store = SessionStore()
        kept = store.load(server, user)
    except UnsafeCache as exc:
        conn.warn(f"not using the session cache: {exc}")
        store, kept = None, None

    async def work() -> bool:
        if kept is None:
            return False
        async with conn.client_for(session_id=kept) as vc:
            alive = await vc.check_session()
            if alive:
                await vc.logout()
            return alive

    ended = run_async(conn, work)
    try:
        forgotten = store is not None and store.delete(server, user)
    except UnsafeCache as exc:
        conn.warn(str(exc))
        forgotten = False
    if conn.as_json:
        conn.print_json({"server": server, "user": user, "ended": ended, "forgotten": forgotten})
    elif ended:
        click.echo(f"logged out of {server} as {user}")
    elif forgotten:
        click.echo(f"the kept session of {user} at {server} had already expired; forgot it")
    else:
        click.echo(f"no kept session of {user} at {server}")
