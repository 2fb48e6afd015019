"""A mock vCenter serving the guest processes API: for developing and testing without a vCenter.

    >>> from vcenter_guest.mock import serve, DEMO_API_USER, DEMO_API_PASSWORD
    >>> with serve() as url:  # doctest: +SKIP
    ...     session = httpx.post(url + "/api/session", auth=(DEMO_API_USER, DEMO_API_PASSWORD)).json()

`create_app` builds the ASGI app (also usable in process through `httpx.ASGITransport`),
`serve` runs it on a free loopback port, `load_inventory` reads an inventory file, and
`Simulator` holds the state and rules (subclass it to build a deliberately broken server).

The floor plan, bottom to top (a module imports only from the floors below it; `|` separates
modules of one floor, which import nothing of each other; type-only imports count too; an
import-linter `layers` contract states it for `nox -s lint`):

1. `_errors | _budget | _records | _document`: the vAPI error, the budgets, the inventory's records
   (the guest's `Program` among them), what the mock takes from the API document
2. `_nodes`, then `_paths`, then `_permissions`, then `_filesystem`: a guest's file system
3. `_shell`, then `_argv`, then `_cmd`: the guest's programs (bash, argv, cmd.exe)
4. `_inventory | _processes | _attributes`: reading an inventory, how the guest runs a program,
   file attributes as the API sends them
5. `_demo | _state`: the demo inventory; the simulator's shared state and run-time records
6. `_handlers | _sessions | _faults`: the registry of parts and handlers and the `Api` protocol
   handlers are typed against; the core rules every call meets (sessions, injected faults)
7. `_vms`: VMs, guest logins and file systems, the core part every guest operation uses
8. `services`: one module per service of the API, its part of the simulator and its handlers
9. `_simulator`, then `_jsonrpc`, then `_app`, then `_server`: the parts put together, vAPI JSON-RPC on
   `POST /api` (the official SDK's default protocol, answered by the same handlers), the HTTP layer, uvicorn
"""

from vcenter_guest.extras import needs

with needs("mock", "vcenter_guest.mock"):
    from . import _demo
    from ._app import create_app
    from ._budget import BUDGET_EXIT_CODE, NODE_OVERHEAD, Budget
    from ._demo import *  # noqa: F403 - the demo inventory and its fixtures (_demo.__all__)
    from ._errors import MockError
    from ._handlers import UnhandledOperation
    from ._inventory import Inventory, InventoryError, load_inventory
    from ._records import EXECUTE, MODIFY, QUERY
    from ._server import ConnectionTimeouts, base_url, bind, listen_as_esxi_host, serve, uvicorn_config
    from ._simulator import Simulator
    from ._state import KILLED_EXIT_CODE, TERMINATED_EXIT_CODE, Process, Session, VmState

__all__ = [
    "BUDGET_EXIT_CODE",
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
__all__ += _demo.__all__
__all__.sort()
