"""The fuzz target for the embedded mock vCenter: its demo users, and the programs its inventory has."""

from __future__ import annotations

from typing import Any

from vcenter_guest.mock import DEMO_API_PASSWORD, DEMO_API_USER, DEMO_GUEST_PASSWORD, DEMO_GUEST_USER, DEMO_VM

from ._settings import FuzzTarget

__all__ = ["mock_target"]

# Programs of the demo inventory that behave like /bin/true: fuzzing them as well adds nothing.
_SAME_AS_TRUE = frozenset({"/usr/bin/echo", "/usr/bin/ls", "/usr/bin/sh", "/usr/bin/bash"})


def mock_target(
    app: Any = None, *, url: str | None = None, vms: tuple[str, ...] = (), sandbox: bool = True
) -> FuzzTarget:
    """A target for a mock vCenter app (in process), or for one served at `url` (then `app` is its app).

    A sandbox by default: the mock is disposable, so generated VM ids, pids and program paths explore
    its error paths too. The programs steered creates use are those of the first VM's inventory that
    start (one that fails to start is a documented 500, which `not_a_server_error` would report);
    programs that survive termination (unkillable ones) are declared as such.

        >>> from vcenter_guest.mock import create_app
        >>> mock_target(create_app()).vms
        ('vm-42',)
    """
    if app is None:
        raise ValueError("the mock's app is needed, to read its inventory")
    inventory = app.state.simulator.inventory
    chosen = vms or (DEMO_VM,)
    spec = inventory.vms[chosen[0]]
    # One program of each behaviour keeps the states the run reaches varied: ends at once, exits
    # non-zero, runs for its first argument's seconds (so delete meets it running), ignores SIGTERM.
    programs = tuple(
        path
        for path, program in spec.programs.items()
        if not program.fails_to_start and path not in _SAME_AS_TRUE and program.allowed_users is None
    )
    stubborn = tuple(path for path, program in spec.programs.items() if program.unkillable)
    return FuzzTarget(
        url=url,
        app=None if url is not None else app,
        user=DEMO_API_USER,
        password=DEMO_API_PASSWORD,
        vms=chosen,
        programs=programs,
        guest_user=DEMO_GUEST_USER,
        guest_password=DEMO_GUEST_PASSWORD,
        ignores_termination=stubborn,
        sandbox=sandbox,
        any_program=sandbox,
    )
