"""A mock vCenter serving the guest processes API: for developing and testing without a vCenter.

    >>> from vcenter_guest.mock import serve, DEMO_API_USER, DEMO_API_PASSWORD
    >>> with serve() as url:  # doctest: +SKIP
    ...     session = httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).json()

`create_app` builds the ASGI app (also usable in process through `httpx.ASGITransport`),
`serve` runs it on a free loopback port, `load_inventory` reads an inventory file, and
`Simulator` holds the state and rules (subclass it to build a deliberately broken server).
"""

from vcenter_guest._extras import needs

with needs("mock", "vcenter_guest.mock"):
    from ._app import create_app
    from ._budget import BUDGET_EXIT_CODE, NODE_OVERHEAD, Budget
    from ._demo import (
        DEMO_API_PASSWORD,
        DEMO_API_USER,
        DEMO_GUEST_PASSWORD,
        DEMO_GUEST_USER,
        DEMO_INVENTORY,
        DEMO_VM,
    )
    from ._errors import MockError
    from ._handlers import UnhandledOperation
    from ._inventory import EXECUTE, MODIFY, QUERY, Inventory, InventoryError, load_inventory
    from ._server import ConnectionTimeouts, base_url, bind, listen_as_esxi_host, serve, uvicorn_config
    from ._simulator import Simulator
    from ._state import KILLED_EXIT_CODE, TERMINATED_EXIT_CODE, Process, Session, VmState

__all__ = [
    "BUDGET_EXIT_CODE",
    "DEMO_API_PASSWORD",
    "DEMO_API_USER",
    "DEMO_GUEST_PASSWORD",
    "DEMO_GUEST_USER",
    "DEMO_INVENTORY",
    "DEMO_VM",
    "EXECUTE",
    "KILLED_EXIT_CODE",
    "MODIFY",
    "NODE_OVERHEAD",
    "QUERY",
    "TERMINATED_EXIT_CODE",
    "Budget",
    "ConnectionTimeouts",
    "Inventory",
    "InventoryError",
    "MockError",
    "Process",
    "Session",
    "Simulator",
    "UnhandledOperation",
    "VmState",
    "base_url",
    "bind",
    "create_app",
    "listen_as_esxi_host",
    "load_inventory",
    "serve",
    "uvicorn_config",
]
